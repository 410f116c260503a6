"""Import tasks into a project: a registry of formats (one module each) and the one
import service that checks every row against the config and refuses a bad file whole."""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, BinaryIO

from sqlmodel import Session, select

from labelkit import audit
from labelkit.auth.permissions import Capability, require
from labelkit.config import parse_config
from labelkit.errors import InvalidInput
from labelkit.importers import (
    archive,
    delimited,
    journal,
    json_tasks,
    media,
    text_lines,
    url_list,
)
from labelkit.importers import imported_annotations as imported
from labelkit.importers.base import Format, ReadContext, Row
from labelkit.importers.writer import TaskWriter
from labelkit.labeling import counts
from labelkit.models import Task, User
from labelkit.projects.crud import get_project
from labelkit.settings import get_settings
from labelkit.storage import local

FORMATS: dict[str, Format] = {f.name: f for m in (json_tasks, delimited, text_lines, media, archive, url_list) for f in m.FORMATS}
MAX_ISSUES = 10

Progress = Callable[[float, str], None]


def extensions() -> list[str]:
    """File extensions the import page accepts (without dots)."""
    return sorted({ext.lstrip(".") for f in FORMATS.values() for ext in f.extensions})


def format_for(filename: str, name: str | None = None) -> Format:
    if name:
        if name not in FORMATS:
            raise InvalidInput(f"Unknown import format {name!r}; known: {', '.join(FORMATS)}.")
        return FORMATS[name]
    suffix = PurePath(filename).suffix.lower()
    for fmt in FORMATS.values():
        if suffix in fmt.extensions:
            return fmt
    raise InvalidInput(f"{filename}: cannot import {suffix or 'files without an extension'}; accepted: {', '.join(extensions())}.")


@dataclass
class ImportReport:
    created: int = 0
    files: int = 0
    predictions: int = 0
    annotations: int = 0
    unmatched: int = 0  # annotations whose annotator has no account here
    duplicates: int = 0  # tasks skipped because the project (or the import) already had their data

    def summary(self) -> str:
        text = f"Imported {self.created} task{'s' * (self.created != 1)} from {self.files} file{'s' * (self.files != 1)}"
        extras = [f"{n} {word}{'s' * (n != 1)}" for n, word in ((self.annotations, "annotation"), (self.predictions, "prediction")) if n]
        if extras:
            text += ", with " + " and ".join(extras)
        text += "."
        if self.duplicates:
            text += f" {self.duplicates} duplicate{'s' * (self.duplicates != 1)} of tasks already there {'were' if self.duplicates != 1 else 'was'} skipped."
        if self.unmatched:
            text += (f" {self.unmatched} annotation{'s' * (self.unmatched != 1)} by people without an account here "
                     "were kept as imported.")
        return text


class _Counting:
    """Counts the bytes read through a stream, for the progress bar."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self.read_bytes = 0

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self.read_bytes += len(data)
        return data

    def readline(self, size: int = -1) -> bytes:
        data = self._stream.readline(size)
        self.read_bytes += len(data)
        return data

    def read1(self, size: int = -1) -> bytes:
        return self.read(size)

    def readable(self) -> bool:
        return True

    @property
    def closed(self) -> bool:
        return self._stream.closed

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def import_sources(
    session: Session,
    actor: User,
    project_id: int,
    sources: Iterable[tuple[str, BinaryIO, int | None]],
    *,
    format_name: str | None = None,
    progress: Progress | None = None,
    skip_duplicates: bool = False,
    in_place: bool = False,
) -> ImportReport:
    """Import (name, stream, size) sources in one transaction: every row is checked
    against the config; any problem refuses the whole import and nothing is kept.
    skip_duplicates: a task whose data the project already has (or an earlier row of
    this import had) is skipped and counted. in_place: the sources are files in the
    server folder (see server_folder; admins only): media is referenced where it is."""
    project = get_project(session, actor, project_id, Capability.TASK_IMPORT)
    if in_place:
        require(session, actor, Capability.SERVER_FILES)
    config = parse_config(project.label_config)
    keys = config.data_keys
    sources = list(sources)
    limit = get_settings().max_upload_mb * 1024 * 1024
    for name, _, size in sources:
        if size is not None and size > limit:
            raise InvalidInput(f"{name}: larger than the {get_settings().max_upload_mb} MB upload limit")
    total_bytes = sum(size or 0 for _, _, size in sources) or None
    text_objects = config.objects_of("Text", "HyperText")
    media_keys = {kind: found[0].key for kind, tags in media.OBJECTS.items() if (found := config.objects_of(*tags))}
    report = ImportReport()
    writer = TaskWriter(session, project.id, project.overlap)
    annotators = imported.Annotators(session)
    seen = _existing_data(session, project.id) if skip_duplicates else None
    issues: list[str] = []
    saved_media: list[str] = []
    if media_keys and not in_place:  # media written before the commit: none is left if it never commits
        journal.Journal(session, project.id, saved_media)
    done_bytes = rows_read = 0
    shown = 0.0
    try:
        for name, stream, size in sources:
            fmt = format_for(name, format_name)
            ctx = ReadContext(
                filename=name,
                project_id=project.id,
                text_key=(text_objects[0].key if text_objects else None) or (keys[0] if keys else None),
                media_keys=media_keys,
                saved_media=saved_media,
                in_place=in_place,
            )
            counting = _Counting(stream)
            try:
                for row in fmt.read(counting, ctx):
                    rows_read += 1
                    task = _task_from(row, keys, name, issues, project.id)
                    if task is not None and not issues:
                        text, data, predictions, annotations = task
                        if seen is not None and not _first_time(seen, data):
                            report.duplicates += 1
                            continue
                        writer.add(text, data, predictions, [(a, annotators.user_id(a.email)) for a in annotations])
                    if len(issues) >= MAX_ISSUES:
                        break
                    if progress and total_bytes and rows_read % 1000 == 0 and time.monotonic() - shown > 0.25:
                        shown = time.monotonic()
                        progress(min(1.0, (done_bytes + counting.read_bytes) / total_bytes), f"{name}: {rows_read:,} tasks read")
            finally:
                if in_place:
                    stream.close()  # server-folder files are opened one at a time
            done_bytes += size or counting.read_bytes
            report.files += 1
            if len(issues) >= MAX_ISSUES:
                break
        if issues:
            raise InvalidInput("Nothing was imported", issues)
        if report.files and not (writer.created + writer.pending) and not report.duplicates:
            raise InvalidInput("Nothing was imported: the files hold no tasks")
        writer.flush()
    except BaseException:
        for path in saved_media:
            _remove_media(path)
        raise
    report.created, report.predictions = writer.created, writer.predictions
    report.annotations, report.unmatched = writer.annotations, writer.unmatched
    counts._tasks_added(session, project.id, report.created)
    counts._done_changed(session, project.id, writer.done)
    if progress:
        progress(1.0, f"{report.created} tasks imported")
    audit.record(session, actor, "task.import", f"project:{project.id}", project.id, created=report.created, files=report.files,
                 annotations=report.annotations, unmatched=report.unmatched, duplicates=report.duplicates, server_folder=in_place)
    return report


def _task_from(row: Row, keys: list[str], filename: str, issues: list[str],
               project_id: int) -> tuple[str, dict, list, list] | None:
    """(data as JSON text, data, predictions, annotations) for a row, or None after noting
    its problem (a file the project may not name among them: another project's upload)."""
    value = row.value
    if not isinstance(value, dict):
        where = row.place(filename)
        issues.append(f"{where}: a task must be an object with keys, not {type(value).__name__}")
        return None
    predictions: list = []
    annotations: list = []
    if isinstance(value.get("data"), dict):
        data = value["data"]
        predictions = value.get("predictions") or []
        if not isinstance(predictions, list) or not all(
            isinstance(p, dict) and isinstance(p.get("result", []), list) for p in predictions
        ):
            issues.append(f"{row.place(filename)}: predictions must be a list of objects with a result list")
            return None
        annotations = imported.read(value.get("annotations"))
        if isinstance(annotations, str):
            issues.append(f"{row.place(filename)}: {annotations}")
            return None
        data = dict(data)
    else:
        data = value
    for key in keys:
        found = data.get(key)
        if found is None or found == "":
            used = ", ".join(f"${k}" for k in keys)
            issues.append(f"{row.place(filename)}: missing key {key!r} (the config uses {used})")
            return None
    foreign = local.foreign_files(data, project_id)
    if foreign:
        issues.append(f"{row.place(filename)}: {foreign[0]} is not a file of this project (a task may name only its "
                      "project's uploads, the samples and the server folder)")
        return None
    # A flat JSON line is stored as it was written; anything else is serialized once.
    text = row.raw if row.raw is not None and data is value else json.dumps(data, ensure_ascii=False)
    if "\\u0000" in text:
        issues.append(f"{row.place(filename)}: the task contains a NUL character")
        return None
    return text, data, predictions, annotations


def _digest(data: dict) -> bytes:
    return hashlib.blake2b(json.dumps(data, sort_keys=True, ensure_ascii=False).encode(), digest_size=16).digest()


def _existing_data(session: Session, project_id: int) -> set[bytes]:
    """Digests of the data of the project's tasks (16 bytes each: a million tasks take a few
    tens of MB), read in batches."""
    rows = session.exec(
        select(Task.data).where(Task.project_id == project_id, Task.deleted_at.is_(None)).execution_options(yield_per=10_000)
    )
    return {_digest(data) for data in rows}


def _first_time(seen: set[bytes], data: dict) -> bool:
    digest = _digest(data)
    if digest in seen:
        return False
    seen.add(digest)
    return True


def _remove_media(path: str) -> None:
    with contextlib.suppress(Exception):  # best effort clean-up of a refused import
        local.resolve(path).unlink()
