"""`labelkit import` and `labelkit export`: data in and out, through the same services as
the Import and Export pages."""

from __future__ import annotations

import sys
from contextlib import ExitStack
from pathlib import Path
from typing import BinaryIO

import click

from labelkit.cli.common import as_option, fail_cleanly, operator, ready


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

    from labelkit.media import fetch
    from labelkit.settings import get_settings

    content = fetch.fetch_bytes(url, get_settings().max_upload_mb * 1024 * 1024)
    name = unquote(urlsplit(url).path.rsplit("/", 1)[-1]) or "download"
    return name, io.BytesIO(content), len(content)


@click.command("import")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("sources", nargs=-1, required=True)
@click.option("--format", "format_name", help="Read every file as this format (default: by extension).")
@click.option("--skip-duplicates", is_flag=True, help="Skip tasks whose data the project already has.")
@click.option("--in-place", is_flag=True,
              help="Files under LABELKIT_LOCAL_FILES_ROOT: media stays where it is, not copied (admins only).")
@click.option("--s3-endpoint", metavar="URL", default="", help="For s3:// sources: an S3-compatible endpoint (default: AWS).")
@click.option("--s3-region", metavar="REGION", default="", help="For s3:// sources: the bucket's region.")
@as_option
@fail_cleanly
def import_command(project_ref: str, sources: tuple[str, ...], format_name: str | None, skip_duplicates: bool,
                   in_place: bool, s3_endpoint: str, s3_region: str, as_email: str | None) -> None:
    """Import tasks from files, folders, task files at URLs, and S3 prefixes (synced as a source storage)."""
    from labelkit import importers
    from labelkit.db import session_scope
    from labelkit.importers import server_folder
    from labelkit.projects.crud import find_project

    files, urls, buckets = _expand(sources)
    if in_place and (urls or buckets):
        raise click.ClickException("--in-place is for files and folders under LABELKIT_LOCAL_FILES_ROOT, not URLs.")
    ready()
    if files or urls:
        with session_scope() as session, ExitStack() as stack:
            actor = operator(session, as_email)
            target = find_project(session, actor, project_ref)
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
    from labelkit.projects.crud import find_project

    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    if not bucket:
        raise click.ClickException(f"{url}: write an S3 source as s3://bucket/prefix.")
    with session_scope() as session:
        actor = operator(session, as_email)
        target = find_project(session, actor, project_ref)
        fields = cloud.StorageFields(cloud.SOURCE, bucket, prefix, region=region, endpoint_url=endpoint)
        storage_id = cloud.source_for(session, actor, target.id, fields).id
    with session_scope() as session:
        return f"{url}: {sync(session, operator(session, as_email), storage_id).summary()}"


@click.command("export")
@click.argument("project_ref", metavar="PROJECT")
@click.option("--format", "format_name", required=True, help="JSON, JSONL, CSV, TSV, COCO, YOLO... (see the Export page).")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--only", default="all", show_default=True, type=click.Choice(["all", "completed", "accepted"]))
@click.option("--annotator", metavar="EMAIL", help="Only this person's annotations (and the tasks they annotated).")
@click.option("--predictions/--no-predictions", default=True, show_default=True, help="Include the models' predictions.")
@click.option("--one-per-task", is_flag=True, help="One annotation per task: the reviewed one, else the majority's, else the latest.")
@click.option("--with-images", is_flag=True, help="Pack the images into the archive (YOLO, COCO, VOC); COCO becomes a ZIP.")
@as_option
@fail_cleanly
def export_command(project_ref: str, format_name: str, out_path: Path, only: str, annotator: str | None,
                   predictions: bool, one_per_task: bool, with_images: bool, as_email: str | None) -> None:
    """Export a project's tasks and labels."""
    from labelkit import exporters
    from labelkit.db import session_scope
    from labelkit.projects.crud import find_project

    exporters.exporter(format_name)  # refuse an unknown format before touching anything
    ready()
    partial = out_path.with_name(out_path.name + ".partial")
    try:
        with session_scope(write=False) as session, partial.open("wb") as out:
            actor = operator(session, as_email)
            target = find_project(session, actor, project_ref)
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
