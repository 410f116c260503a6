"""The `labelkit` command: a thin layer over the same services the pages use.

The command line is the operator's: commands act as an admin account (the first one,
or --as EMAIL)."""

from __future__ import annotations

import json
import os
import sys
from contextlib import ExitStack
from functools import wraps
from pathlib import Path
from typing import BinaryIO

import click
from sqlmodel import Session, select

from labelkit.errors import LabelkitError


def _fail_cleanly(fn):
    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except LabelkitError as e:
            raise click.ClickException(str(e)) from None

    return wrapper


def _operator(session: Session, email: str | None):
    from labelkit.auth.accounts import find_user
    from labelkit.models import Role, User

    if email:
        user = find_user(session, email)
        if user is None:
            raise click.ClickException(f"There is no account for {email}.")
        return user
    admin = session.exec(select(User).where(User.role == Role.ADMIN, User.is_active.is_(True)).order_by(User.id)).first()
    if admin is None:
        raise click.ClickException("There is no admin yet: run `labelkit user create EMAIL --admin` first.")
    return admin


def _ready() -> None:
    from labelkit.db import migrate

    migrate()


as_option = click.option("--as", "as_email", metavar="EMAIL", help="Act as this account (default: the first admin).")


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

    from labelkit.server import prepare

    prepare()
    click.echo(f"labelkit is running on http://{'localhost' if host in ('127.0.0.1', '0.0.0.0') else host}:{port}")
    uvicorn.run("labelkit.server:app", host=host, port=port, log_level="warning", access_log=False, proxy_headers=True)


@main.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply Alembic migrations."""
    _ready()
    click.echo("The database is up to date.")


@main.group()
def user() -> None:
    """Accounts."""


@user.command("create")
@click.argument("email")
@click.option("--admin", is_flag=True, help="Make the account an admin.")
@click.option("--name", default="", help="The person's name.")
@_fail_cleanly
def user_create(email: str, admin: bool, name: str) -> None:
    """Create an account (password from LABELKIT_PASSWORD or a prompt)."""
    from labelkit.auth.accounts import create_user
    from labelkit.db import session_scope
    from labelkit.models import Role

    password = os.environ.get("LABELKIT_PASSWORD") or click.prompt("Password", hide_input=True, confirmation_prompt=True)
    _ready()
    with session_scope() as session:
        created = create_user(session, email, name=name, password=password, role=Role.ADMIN if admin else Role.ANNOTATOR)
        click.echo(f"Created {'admin ' if admin else ''}{created.email} (id {created.id}).")


@user.command("token")
@click.argument("email")
@_fail_cleanly
def user_token(email: str) -> None:
    """Print a new personal access token for the REST API."""
    from labelkit.auth.accounts import find_user
    from labelkit.auth.sessions import create_api_token
    from labelkit.db import session_scope

    _ready()
    with session_scope() as session:
        account = find_user(session, email)
        if account is None:
            raise click.ClickException(f"There is no account for {email}.")
        click.echo(create_api_token(session, account, "created with labelkit user token"))


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
@_fail_cleanly
def invite_create(role: str, project_ref: str | None, email: str | None, expires_days: float | None, max_uses: int, as_email: str | None) -> None:
    """Create an invite link and print it."""
    from labelkit.auth.invites import create_invite, invite_path
    from labelkit.db import session_scope
    from labelkit.projects import find_project
    from labelkit.settings import get_settings

    _ready()
    with session_scope() as session:
        actor = _operator(session, as_email)
        project_id = find_project(session, project_ref).id if project_ref else None
        created, token = create_invite(
            session, actor, role, project_id=project_id, email=email, expires_days=expires_days, max_uses=max_uses
        )
        base = (get_settings().base_url or "http://localhost:8501").rstrip("/")
        click.echo(f"{base}{invite_path(token)}")
        click.echo(f"Expires {created.expires_at:%Y-%m-%d %H:%M} UTC, {max_uses} use(s).", err=True)


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
@_fail_cleanly
def project_create(title: str, config_file: Path, overlap: int, description: str, instructions: str, as_email: str | None) -> None:
    """Create a project; prints its id."""
    from labelkit.db import session_scope
    from labelkit.projects import ProjectFields, create_project

    try:
        config = config_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise click.ClickException(f"Cannot read {config_file}: {e}") from None
    _ready()
    with session_scope() as session:
        actor = _operator(session, as_email)
        created = create_project(
            session, actor,
            ProjectFields(title=title, label_config=config, overlap=overlap, description=description, instructions=instructions),
        )
        click.echo(created.id)


@project.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@as_option
@_fail_cleanly
def project_list(as_json: bool, as_email: str | None) -> None:
    """List projects with their progress."""
    from labelkit.db import session_scope
    from labelkit.projects import list_projects

    _ready()
    with session_scope(write=False) as session:
        rows = list_projects(session, _operator(session, as_email))
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("No projects yet.")
    for row in rows:
        click.echo(f"{row['id']:>5}  {row['title']}  ({row['done']}/{row['tasks']} done)")


def _expand(sources: tuple[str, ...]) -> tuple[list[Path], list[str], list[str]]:
    """(local files, http(s) URLs, s3:// prefixes) named on the command line."""
    from labelkit import importers

    files: list[Path] = []
    urls: list[str] = []
    buckets: list[str] = []
    for source in sources:
        if source.startswith(("http://", "https://")):
            urls.append(source)
            continue
        if source.startswith("s3://"):
            buckets.append(source)
            continue
        if "://" in source:
            raise click.ClickException(f"{source}: import from files, folders, http(s):// URLs or s3://bucket/prefix.")
        path = Path(source)
        if path.is_dir():
            accepted = {f".{ext}" for ext in importers.extensions()}
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in accepted))
        elif path.is_file():
            files.append(path)
        else:
            raise click.ClickException(f"{source}: no such file or folder.")
    if not (files or urls or buckets):
        raise click.ClickException("No files to import.")
    return files, urls, buckets


def _download(url: str) -> tuple[str, BinaryIO, int]:
    """A task file at a public URL, fetched whole (up to the upload limit)."""
    import io
    from urllib.parse import unquote, urlsplit

    from labelkit import net
    from labelkit.settings import get_settings

    content = net.fetch_bytes(url, get_settings().max_upload_mb * 1024 * 1024)
    name = unquote(urlsplit(url).path.rsplit("/", 1)[-1]) or "download"
    return name, io.BytesIO(content), len(content)


@main.command("import")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("sources", nargs=-1, required=True)
@click.option("--format", "format_name", help="Read every file as this format (default: by extension).")
@click.option("--skip-duplicates", is_flag=True, help="Skip tasks whose data the project already has.")
@click.option("--in-place", is_flag=True,
              help="Files under LABELKIT_LOCAL_FILES_ROOT: media stays where it is, not copied (admins only).")
@click.option("--s3-endpoint", metavar="URL", default="", help="For s3:// sources: an S3-compatible endpoint (default: AWS).")
@click.option("--s3-region", metavar="REGION", default="", help="For s3:// sources: the bucket's region.")
@as_option
@_fail_cleanly
def import_command(project_ref: str, sources: tuple[str, ...], format_name: str | None, skip_duplicates: bool,
                   in_place: bool, s3_endpoint: str, s3_region: str, as_email: str | None) -> None:
    """Import tasks from files, folders, task files at URLs, and S3 prefixes (synced as a source storage)."""
    from labelkit import importers
    from labelkit.db import session_scope
    from labelkit.importers import server_folder
    from labelkit.projects import find_project

    files, urls, buckets = _expand(sources)
    if in_place and (urls or buckets):
        raise click.ClickException("--in-place is for files and folders under LABELKIT_LOCAL_FILES_ROOT, not URLs.")
    _ready()
    if files or urls:
        with session_scope() as session, ExitStack() as stack:
            actor = _operator(session, as_email)
            target = find_project(session, project_ref)
            if in_place:
                names = [n for p in files for n in server_folder.list_files(str(p.resolve()))]
                streams = server_folder.opened(names)
            else:
                streams = [(p.name, stack.enter_context(p.open("rb")), p.stat().st_size) for p in files]
            streams += [_download(url) for url in urls]
            with click.progressbar(length=1000, label="Importing", file=sys.stderr) as bar:
                state = {"at": 0}

                def advance(fraction: float, _text: str) -> None:
                    step = int(fraction * 1000) - state["at"]
                    if step > 0:
                        bar.update(step)
                        state["at"] += step

                report = importers.import_sources(session, actor, target.id, streams, format_name=format_name, progress=advance,
                                                  skip_duplicates=skip_duplicates, in_place=in_place)
        click.echo(report.summary())
    for url in buckets:
        click.echo(_sync_bucket(project_ref, url, s3_endpoint, s3_region, as_email))


def _sync_bucket(project_ref: str, url: str, endpoint: str, region: str, as_email: str | None) -> str:
    """Sync s3://bucket/prefix into the project as a source storage (made on first use, with
    the environment's credentials), so a second run adds only new objects."""
    from labelkit import cloud
    from labelkit.cloud.sync import sync
    from labelkit.db import session_scope
    from labelkit.models import CloudStorage
    from labelkit.projects import find_project

    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    if not bucket:
        raise click.ClickException(f"{url}: write an S3 source as s3://bucket/prefix.")
    with session_scope() as session:
        actor = _operator(session, as_email)
        target = find_project(session, project_ref)
        storage = session.exec(select(CloudStorage).where(
            CloudStorage.project_id == target.id, CloudStorage.kind == cloud.SOURCE, CloudStorage.bucket == bucket,
            CloudStorage.prefix == prefix, CloudStorage.endpoint_url == endpoint.rstrip("/"),
        )).first()
        if storage is None:
            fields = cloud.StorageFields(cloud.SOURCE, bucket, prefix, region=region, endpoint_url=endpoint)
            storage = cloud.add_storage(session, actor, target.id, fields)
        storage_id = storage.id
    with session_scope() as session:
        return f"{url}: {sync(session, _operator(session, as_email), storage_id).summary()}"


@main.command("export")
@click.argument("project_ref", metavar="PROJECT")
@click.option("--format", "format_name", required=True, help="JSON, JSONL, CSV, TSV, COCO, YOLO... (see the Export page).")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--only", default="all", show_default=True, type=click.Choice(["all", "completed", "accepted"]))
@click.option("--annotator", metavar="EMAIL", help="Only this person's annotations (and the tasks they annotated).")
@click.option("--predictions/--no-predictions", default=True, show_default=True, help="Include the models' predictions.")
@click.option("--one-per-task", is_flag=True, help="One annotation per task: the reviewed one, else the majority's, else the latest.")
@click.option("--with-images", is_flag=True, help="Pack the images into the archive (YOLO, COCO, VOC); COCO becomes a ZIP.")
@as_option
@_fail_cleanly
def export_command(project_ref: str, format_name: str, out_path: Path, only: str, annotator: str | None,
                   predictions: bool, one_per_task: bool, with_images: bool, as_email: str | None) -> None:
    """Export a project's tasks and labels."""
    from labelkit import exporters
    from labelkit.db import session_scope
    from labelkit.projects import find_project

    exporters.exporter(format_name)  # refuse an unknown format before touching anything
    _ready()
    partial = out_path.with_name(out_path.name + ".partial")
    try:
        with session_scope(write=False) as session, partial.open("wb") as out:
            actor = _operator(session, as_email)
            target = find_project(session, project_ref)
            report = exporters.export_project(session, actor, target.id, format_name, out, only, annotator=annotator,
                                              predictions=predictions, one_per_task=one_per_task, with_images=with_images)
        partial.replace(out_path)
    finally:
        partial.unlink(missing_ok=True)
    images = f", with {report.images} image{'s' * (report.images != 1)}" if report.with_images else ""
    click.echo(f"Exported {report.tasks} tasks to {out_path}{images}.")
    if report.missing_images:
        click.echo(f"{report.missing_images} image{'s' * (report.missing_images != 1)} could not be read; "
                   "missing-images.txt in the archive lists them and why.", err=True)


@main.command()
@click.option("--email", default="admin@example.com", show_default=True)
@click.option("--password", envvar="LABELKIT_PASSWORD", default="labelkit-demo", show_default=True)
@_fail_cleanly
def demo(email: str, password: str) -> None:
    """A demo admin and two sample projects with data to label."""
    from labelkit.db import session_scope
    from labelkit.demo import create_demo

    _ready()
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


if __name__ == "__main__":
    main()
