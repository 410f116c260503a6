"""The `labelkit` command: a thin layer over the same services the pages use.

The command line is the operator's: commands act as an admin account (the first one,
or --as EMAIL). Data in and out (import, export) live in cli/data.py; what every command
shares in cli/common.py."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from labelkit.cli import data, ml
from labelkit.cli.common import as_option, fail_cleanly, operator, ready


@click.group()
@click.version_option(package_name="labelkit")
def main() -> None:
    """labelkit: a collaborative data-labeling portal."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8501, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Apply migrations, then run the portal."""
    import uvicorn

    from labelkit.ops.startup import prepare

    prepare()
    click.echo(f"labelkit is running on http://{'localhost' if host in ('127.0.0.1', '0.0.0.0') else host}:{port}")
    uvicorn.run("labelkit.server:app", host=host, port=port, log_level="warning", access_log=False, proxy_headers=True)


@main.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply Alembic migrations."""
    ready()
    click.echo("The database is up to date.")


@main.command("backup")
@click.argument("path", type=click.Path(path_type=Path))
@fail_cleanly
def backup_command(path: Path) -> None:
    """Copy the database, media and signing key into PATH (a new data dir), while the portal runs."""
    from labelkit.ops.backup import backup

    click.echo(backup(path).summary())
    click.echo(f"Restore: point LABELKIT_DATA_DIR at {path} (PostgreSQL: pg_restore its labelkit.pgdump first).")


@main.group()
def user() -> None:
    """Accounts."""


@user.command("create")
@click.argument("email")
@click.option("--admin", is_flag=True, help="Make the account an admin.")
@click.option("--name", default="", help="The person's name.")
@fail_cleanly
def user_create(email: str, admin: bool, name: str) -> None:
    """Create an account (password from LABELKIT_PASSWORD or a prompt)."""
    from labelkit.auth.accounts import create_user
    from labelkit.db import session_scope
    from labelkit.models import Role

    password = os.environ.get("LABELKIT_PASSWORD") or click.prompt("Password", hide_input=True, confirmation_prompt=True)
    ready()
    with session_scope() as session:
        created = create_user(session, email, name=name, password=password, role=Role.ADMIN if admin else Role.ANNOTATOR)
        click.echo(f"Created {'admin ' if admin else ''}{created.email} (id {created.id}).")


@user.command("token")
@click.argument("email")
@fail_cleanly
def user_token(email: str) -> None:
    """Print a new personal access token for the REST API."""
    from labelkit.auth.accounts import find_user
    from labelkit.auth.sessions import create_api_token
    from labelkit.db import session_scope

    ready()
    with session_scope() as session:
        account = find_user(session, email)
        if account is None:
            raise click.ClickException(f"There is no account for {email}.")
        click.echo(create_api_token(session, account, "created with labelkit user token"))


@user.command("reset-password")
@click.argument("email")
@as_option
@fail_cleanly
def user_reset_password(email: str, as_email: str | None) -> None:
    """Print a one-time password-reset link for the account (and mail it when LABELKIT_SMTP_HOST is set)."""
    from labelkit.auth import mail
    from labelkit.auth.accounts import find_user
    from labelkit.auth.reset import issue_reset_link, reset_path
    from labelkit.db import session_scope

    ready()
    with session_scope() as session:
        actor = operator(session, as_email)
        account = find_user(session, email)
        if account is None:
            raise click.ClickException(f"There is no account for {email}.")
        issued = issue_reset_link(session, actor, account.id)
    link = f"{_base_url()}{reset_path(issued.token)}"
    click.echo(link)
    click.echo(f"Works once, until {issued.expires_at:%Y-%m-%d %H:%M} UTC.", err=True)
    _mail_link(issued.email, lambda: mail.send_reset(issued.email, link, issued.expires_at))


def _base_url() -> str:
    from labelkit.settings import get_settings

    return (get_settings().base_url or "http://localhost:8501").rstrip("/")


def _mail_link(to: str | None, send) -> None:
    """After the commit: mail the printed link when mail is set up; a failure is said, and the link stands."""
    from labelkit.auth import mail

    if not to or not mail.mail_configured():
        return
    try:
        send()
    except mail.MailNotSent as e:
        click.echo(f"Not mailed: {e} Send the link above yourself.", err=True)
        sys.exit(1)
    click.echo(f"Mailed to {to}.", err=True)


@main.group()
def invite() -> None:
    """Invite links."""


@invite.command("create")
@click.option("--role", required=True, type=click.Choice(["admin", "manager", "reviewer", "annotator"]))
@click.option("--project", "project_ref", help="Project id or title the role is for.")
@click.option("--email", help="Only this address (or @domain) may use it.")
@click.option("--expires-days", type=float, help="Days until it expires (default LABELKIT_INVITE_DAYS).")
@click.option("--max-uses", type=int, default=1, show_default=True)
@as_option
@fail_cleanly
def invite_create(role: str, project_ref: str | None, email: str | None, expires_days: float | None, max_uses: int, as_email: str | None) -> None:
    """Create an invite link and print it (and mail it to an exact --email when LABELKIT_SMTP_HOST is set)."""
    from labelkit.auth import mail
    from labelkit.auth.invites import create_invite, describe_invite_row, invite_path
    from labelkit.db import session_scope
    from labelkit.projects.crud import find_project

    ready()
    with session_scope() as session:
        actor = operator(session, as_email)
        project_id = find_project(session, actor, project_ref).id if project_ref else None
        created, token = create_invite(
            session, actor, role, project_id=project_id, email=email, expires_days=expires_days, max_uses=max_uses
        )
        info = describe_invite_row(session, created)
    link = f"{_base_url()}{invite_path(token)}"
    click.echo(link)
    click.echo(f"Expires {info.expires_at:%Y-%m-%d %H:%M} UTC, {max_uses} use(s).", err=True)
    to = info.email if info.email and not info.email.startswith("@") else None
    _mail_link(to, lambda: mail.send_invite(to, link, str(info.role), info.project_title, info.expires_at))


@main.group()
def project() -> None:
    """Projects."""


@project.command("create")
@click.option("--title", required=True)
@click.option("--config", "config_file", required=True, type=click.Path(dir_okay=False, path_type=Path), help="A label config (XML).")
@click.option("--overlap", default=1, show_default=True, type=int, help="Annotations wanted per task.")
@click.option("--description", default="")
@click.option("--instructions", default="", help="Instructions shown to annotators.")
@as_option
@fail_cleanly
def project_create(title: str, config_file: Path, overlap: int, description: str, instructions: str, as_email: str | None) -> None:
    """Create a project; prints its id."""
    from labelkit.db import session_scope
    from labelkit.projects.crud import ProjectFields, create_project

    try:
        config = config_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise click.ClickException(f"Cannot read {config_file}: {e}") from None
    ready()
    with session_scope() as session:
        actor = operator(session, as_email)
        created = create_project(
            session, actor,
            ProjectFields(title=title, label_config=config, overlap=overlap, description=description, instructions=instructions),
        )
        click.echo(created.id)


@project.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@as_option
@fail_cleanly
def project_list(as_json: bool, as_email: str | None) -> None:
    """List projects with their progress."""
    from labelkit.db import session_scope
    from labelkit.projects.crud import list_projects

    ready()
    with session_scope(write=False) as session:
        rows = list_projects(session, operator(session, as_email))
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("No projects yet.")
    for row in rows:
        click.echo(f"{row['id']:>5}  {row['title']}  ({row['done']}/{row['tasks']} done)")


@main.command()
@click.option("--email", default="admin@example.com", show_default=True)
@click.option("--password", envvar="LABELKIT_PASSWORD", default="labelkit-demo", show_default=True)
@fail_cleanly
def demo(email: str, password: str) -> None:
    """A demo admin and two sample projects with data to label."""
    from labelkit.db import session_scope
    from labelkit.ops.demo import create_demo

    ready()
    with session_scope() as session:
        created = create_demo(session, email, password)
    for line in created:
        click.echo(line)
    click.echo(f"Sign in as {email} with the password {password!r} after `labelkit serve`.")


@main.group("config")
def config_group() -> None:
    """Label configs (Label Studio's XML)."""


@config_group.command("check")
@click.argument("config_file", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def config_check(config_file: Path, as_json: bool) -> None:
    """Validate a label config and say what it contains; exit 0 when every part can be labeled here."""
    from labelkit.config.describe import check_report

    try:
        xml = config_file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise click.ClickException(f"Cannot read {config_file}: it is not UTF-8 text.") from None
    except OSError as e:
        raise click.ClickException(f"Cannot read {config_file}: {e.strerror or e}") from None
    report = check_report(xml)
    if as_json:
        click.echo(json.dumps({"file": str(config_file), **report}, indent=2))
        if not report["supported"]:
            sys.exit(1)
        return
    if not report["valid"]:
        problems = "\n".join(f"  {p}" for p in report["problems"])
        raise click.ClickException(f"{config_file}: the label config has problems:\n{problems}")
    _echo_description(report)
    if report["unsupported"]:
        reasons = "\n".join(f"  {u}" for u in report["unsupported"])
        raise click.ClickException(f"{config_file} cannot be labeled here yet:\n{reasons}")
    click.echo(f"{config_file}: every part can be labeled here.")


def _echo_description(report: dict) -> None:
    click.echo("Objects:")
    for o in report["objects"]:
        shows = f"task data ${o['data_key']}" if o["data_key"] else f"the literal {o['value']!r}"
        click.echo(f"  {o['name']}: <{o['tag']}> shows {shows}{' (a list)' if o['many'] else ''}")
    click.echo("Controls:" if report["controls"] else "Controls: none")
    for c in [*report["controls"], *([report["relations"]] if report["relations"] else [])]:
        target = f" on {', '.join(c['to_name'])}" if c["to_name"] else ""
        extras = "".join(f", {flag}" for flag in ("required", "per_region") if c[flag]).replace("_", " ")
        options = f": {', '.join(_option_text(o) for o in c['options'])}" if c["options"] else ""
        name = f"{c['name']}: " if c["name"] else ""
        click.echo(f"  {name}<{c['tag']}> ({c['type']}{extras}){target}{options}")
    click.echo(f"Layout: {', '.join(f'<{t}>' for t in report['layout'])}")


def _option_text(option: dict) -> str:
    text = option["value"] + (f" (stored as {option['alias']})" if option.get("alias") else "")
    children = option.get("children")
    return f"{text} [{', '.join(_option_text(c) for c in children)}]" if children else text


main.add_command(data.import_command)
main.add_command(data.export_command)
main.add_command(ml.ml_group)
