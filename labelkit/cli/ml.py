"""`labelkit ml`: attach a model server to a project, pre-label with it, run the example server."""

from __future__ import annotations

import sys

import click

from labelkit.cli.common import as_option, fail_cleanly, operator, ready


@click.group("ml")
def ml_group() -> None:
    """Model servers (the Label Studio ML backend protocol)."""


@ml_group.command("connect")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("url")
@click.option("--title", default="", help="A name for the model server.")
@click.option("--user", "auth_user", default="", help="Basic-auth user name.")
@click.option("--password", "auth_password", envvar="LABELKIT_ML_PASSWORD", default="",
              help="Basic-auth password (better: the LABELKIT_ML_PASSWORD environment variable).")
@click.option("--header", "headers", multiple=True, metavar="'NAME: VALUE'", help="An extra header to send (repeatable).")
@click.option("--timeout", default=30.0, show_default=True, type=float, help="Seconds one call may take.")
@click.option("--interactive", is_flag=True, help="Ask it for a suggestion when a task opens without one.")
@click.option("--predict-every", default=0, show_default=True, type=int,
              help="Predict the open tasks again every N new annotations (0: never).")
@as_option
@fail_cleanly
def ml_connect(project_ref: str, url: str, title: str, auth_user: str, auth_password: str, headers: tuple[str, ...],
               timeout: float, interactive: bool, predict_every: int, as_email: str | None) -> None:
    """Attach a model server to PROJECT (id or title): it must answer /health and /setup."""
    from labelkit import ml
    from labelkit.db import session_scope
    from labelkit.projects.crud import find_project

    parsed = dict(ml.parse_header(h) for h in headers) or None
    ready()
    with session_scope() as session:
        actor = operator(session, as_email)
        project = find_project(session, actor, project_ref)
        backend = ml.connect(session, actor, project.id, ml.BackendFields(
            url=url, title=title, basic_auth_user=auth_user, basic_auth_password=auth_password, headers=parsed,
            timeout=timeout, interactive=interactive, predict_every=predict_every))
        click.echo(f"Connected {backend.title} to project {project.id} as model server {backend.id}"
                   f" (model version {backend.model_version or 'not reported'}).")


@ml_group.command("predict")
@click.argument("project_ref", metavar="PROJECT")
@click.option("--all", "all_tasks", is_flag=True, help="Every task, not only those without annotations or predictions.")
@click.option("--backend", "backend_id", type=int, help="Which model server (default: the project's first).")
@as_option
@fail_cleanly
def ml_predict(project_ref: str, all_tasks: bool, backend_id: int | None, as_email: str | None) -> None:
    """Pre-label PROJECT's tasks with its model server."""
    from labelkit import ml
    from labelkit.db import session_scope
    from labelkit.projects.crud import find_project

    def progress(done: int, total: int) -> None:
        if sys.stderr.isatty():
            click.echo(f"\r{done}/{total} tasks", nl=False, err=True)

    ready()
    with session_scope() as session:
        actor = operator(session, as_email)
        project = find_project(session, actor, project_ref)
        try:
            summary = ml.predict(session, actor, project.id, only_unlabeled=not all_tasks, progress=progress,
                                 backend_id=backend_id)
        finally:
            if sys.stderr.isatty():
                click.echo("", err=True)
    click.echo(f"Sent {summary.sent} task(s) to the model (version {summary.model_version or 'not reported'}); "
               f"stored {summary.stored} prediction(s).")


@ml_group.command("example-server")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=9090, show_default=True, type=int)
def ml_example_server(host: str, port: int) -> None:
    """Run a small text classifier that speaks the protocol (for trying things out)."""
    from labelkit.ml.example_server import serve

    click.echo(f"The example model server is at http://{host}:{port} (Ctrl+C stops it).")
    serve(host, port)
