"""Sync a source storage: make tasks of the objects in its bucket, once, on demand.

Every object under the source's prefix that matches its file pattern becomes tasks.
Media objects (by extension: images, audio, video, PDF) become one task each, their
`s3://bucket/key` under the config's key for that kind of media, shown to annotators
through presigned links (labelkit.cloud.links); .json/.jsonl/.ndjson objects are
imported as task files (Label Studio's format or flat objects). The keys synced are
remembered (storage_objects), so the next sync adds only new objects. A sync is one
transaction: any error (a bucket without permission, wrong keys, an unreachable
endpoint, a bad task file) refuses it whole and nothing is kept."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from sqlalchemy import insert
from sqlmodel import Session, col, select

from labelkit import audit
from labelkit.auth.permissions import Capability
from labelkit.cloud import SOURCE, get_storage, matches, settings_of
from labelkit.config import parse_config
from labelkit.db import write_lock
from labelkit.errors import InvalidInput
from labelkit.importers import import_sources
from labelkit.importers import media as media_import
from labelkit.importers.writer import TaskWriter
from labelkit.labeling import counts
from labelkit.models import StorageObject, User, utcnow
from labelkit.projects.crud import get_project
from labelkit.storage import s3

TASK_FILES = {".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl"}
MEDIA_KINDS = {ext: f.name for f in media_import.FORMATS for ext in f.extensions}


@dataclass
class SyncReport:
    objects: int = 0  # new objects that made tasks
    tasks: int = 0
    known: int = 0  # objects synced before, left alone
    ignored: list[str] = field(default_factory=list)  # matching keys of no kind this project takes

    def summary(self) -> str:
        text = f"{self.tasks} task(s) from {self.objects} new object(s); {self.known} synced before."
        if self.ignored:
            text += f" {len(self.ignored)} object(s) ignored (not media this project shows nor task files), e.g. {self.ignored[0]!r}."
        return text


class _Raw(io.RawIOBase):
    """A botocore body as a stream the importers read."""

    def __init__(self, body) -> None:
        self.body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.body.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def sync(session: Session, actor: User, storage_id: int) -> SyncReport:
    """Make tasks of the source's new matching objects, all or nothing (see the module doc)."""
    write_lock(session)
    storage = get_storage(session, actor, storage_id, SOURCE)
    session.refresh(storage, with_for_update=True)  # one sync of a storage at a time
    project = get_project(session, actor, storage.project_id, Capability.STORAGE_MANAGE)
    config = parse_config(project.label_config)
    media_keys = {kind: found[0].key for kind, tags in media_import.OBJECTS.items() if (found := config.objects_of(*tags))}
    settings = settings_of(storage)
    report = SyncReport()
    writer = TaskWriter(session, project.id, project.overlap)
    remembered: list[dict] = []
    now = utcnow()
    for page in s3.list_pages(settings):
        keys = [k for k, _ in page if matches(storage, k)]
        if not keys:
            continue
        known = set(
            session.exec(
                select(StorageObject.key).where(StorageObject.storage_id == storage.id, col(StorageObject.key).in_(keys))
            ).all()
        )
        report.known += len(known)
        for key, size in page:
            if key in known or not matches(storage, key):
                continue
            extension = PurePosixPath(key).suffix.lower()
            if extension in TASK_FILES:
                made = _import_task_file(session, actor, project.id, settings, key, size, TASK_FILES[extension])
            elif (kind := MEDIA_KINDS.get(extension)) and (data_key := media_keys.get(kind)):
                others = [k for k in config.data_keys if k != data_key]
                if others:
                    raise InvalidInput(
                        f"{key}: this project's tasks need {', '.join('$' + k for k in others)} besides the {kind}; "
                        "put such tasks in JSON files in the bucket instead."
                    )
                data = {data_key: f"s3://{storage.bucket}/{key}"}
                writer.add(json.dumps(data, ensure_ascii=False), data, [])
                made = 1
            else:
                if len(report.ignored) < 1000:
                    report.ignored.append(key)
                continue
            report.objects += 1
            report.tasks += made
            remembered.append({"storage_id": storage.id, "key": key, "tasks": made, "synced_at": now})
        if remembered:  # a page at a time, so a big bucket's keys are never all in memory
            session.execute(insert(StorageObject), remembered)
            remembered = []
    writer.flush()
    counts._tasks_added(session, project.id, writer.created)
    storage.last_sync_at = now
    storage.last_error = ""
    session.add(storage)
    session.flush()
    audit.record(session, actor, "storage.sync", f"storage:{storage.id}", project.id, objects=report.objects,
                 tasks=report.tasks, known=report.known)
    return report


def _import_task_file(session: Session, actor: User, project_id: int, settings: s3.S3Settings, key: str,
                      size: int, format_name: str) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    stream = io.BufferedReader(_Raw(s3.open_object(settings, key)), 1024 * 1024)
    try:
        return import_sources(session, actor, project_id, [(key, stream, size)], format_name=format_name).created
    except (BotoCoreError, ClientError) as e:  # the body broke off while being read
        raise s3.S3Error(f"Cannot read {key!r} from {settings.where}: {s3.explain(e)}") from None
