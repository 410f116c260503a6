"""Cloud storage of a project: S3 buckets it takes tasks from and writes annotations to.

A *source* storage is synced on demand: every object under its prefix that matches its
file pattern becomes tasks, once. Media objects (by extension: images, audio, video,
PDF) become one task each, their `s3://bucket/key` under the config's key for that kind
of media, shown to annotators through presigned links; .json/.jsonl/.ndjson objects are
imported as task files (Label Studio's format or flat objects). The keys synced are
remembered (storage_objects), so the next sync adds only new objects. A sync is one
transaction: any error (a bucket without permission, wrong keys, an unreachable
endpoint, a bad task file) refuses it whole and nothing is kept.

A *target* storage receives annotations as Label Studio writes them: one JSON object per
annotation, key `<prefix>/<annotation id>`, body the annotation with its task. They are
written when submitted (after the submit commits; a failure never fails the submit, it
is logged and shown on the storage page) and on demand ("Export now").

Keys entered on the page are stored encrypted (Fernet) with a key derived from the
portal's signing key; without keys, boto3's usual chain (AWS_* environment variables,
profile, instance role) is used."""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import io
import json
import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from sqlalchemy import event, insert
from sqlmodel import Session, col, select

from labelkit import audit, counts
from labelkit.auth.permissions import Capability
from labelkit.config import parse_config
from labelkit.db import session_scope, write_lock
from labelkit.errors import InvalidInput, NotFound
from labelkit.importers import import_sources
from labelkit.importers import media as media_import
from labelkit.importers.writer import TaskWriter
from labelkit.models import (
    Annotation,
    AnnotationState,
    CloudStorage,
    StorageObject,
    Task,
    User,
    utcnow,
)
from labelkit.projects import get_project
from labelkit.settings import get_settings
from labelkit.storage import s3

log = logging.getLogger(__name__)

SOURCE, TARGET = "source", "target"
KINDS = (SOURCE, TARGET)
TASK_FILES = {".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl"}
MEDIA_KINDS = {ext: f.name for f in media_import.FORMATS for ext in f.extensions}
LINK_SECONDS = 3600


# --- settings and secrets ------------------------------------------------------------


@dataclass
class StorageFields:
    kind: str
    bucket: str
    prefix: str = ""
    pattern: str = ""
    regex: bool = False
    region: str = ""
    endpoint_url: str = ""
    access_key_id: str = ""
    secret_access_key: str = ""


def _fernet():
    from cryptography.fernet import Fernet

    key = hashlib.sha256(b"labelkit cloud storage secrets\0" + get_settings().signing_key()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt_secret(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode() if secret else ""


def decrypt_secret(token: str) -> str:
    from cryptography.fernet import InvalidToken

    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise s3.S3Error(
            "The stored secret access key cannot be read (the portal's secret key changed); enter the keys again."
        ) from None


def settings_of(storage: CloudStorage) -> s3.S3Settings:
    return s3.S3Settings(
        bucket=storage.bucket,
        prefix=storage.prefix,
        region=storage.region,
        endpoint_url=storage.endpoint_url,
        access_key_id=storage.access_key_id,
        secret_access_key=decrypt_secret(storage.secret_encrypted),
    )


_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-_]{1,254}$")


def _validate(fields: StorageFields) -> StorageFields:
    fields.bucket, fields.prefix = fields.bucket.strip(), fields.prefix.strip().lstrip("/")
    fields.pattern, fields.region = fields.pattern.strip(), fields.region.strip()
    fields.endpoint_url, fields.access_key_id = fields.endpoint_url.strip().rstrip("/"), fields.access_key_id.strip()
    if fields.kind not in KINDS:
        raise InvalidInput(f"A storage is a {' or a '.join(KINDS)}, not {fields.kind!r}.")
    if not _BUCKET.match(fields.bucket):
        raise InvalidInput("Enter the bucket's name (lowercase letters, digits, dots and hyphens), without s3:// or a path.")
    if fields.endpoint_url and not fields.endpoint_url.startswith(("http://", "https://")):
        raise InvalidInput("The endpoint URL starts with http:// or https:// (leave it empty for AWS).")
    if bool(fields.access_key_id) != bool(fields.secret_access_key):
        raise InvalidInput("Enter both the access key ID and the secret, or neither (to use the environment's credentials).")
    if fields.kind == SOURCE and fields.regex and fields.pattern:
        try:
            re.compile(fields.pattern)
        except re.error as e:
            raise InvalidInput(f"The file pattern is not a valid regular expression: {e}") from None
    return fields


def matches(storage: CloudStorage, key: str) -> bool:
    """Whether a key is one the storage syncs: the pattern is matched against the key
    below the prefix (a glob such as *.png or images/*.jpg also matches the file name
    alone; a regular expression is searched for)."""
    if not storage.pattern:
        return True
    relative = key.removeprefix(storage.prefix)
    relative = relative.lstrip("/")
    if storage.regex:
        return re.search(storage.pattern, relative) is not None
    return fnmatch.fnmatchcase(relative, storage.pattern) or fnmatch.fnmatchcase(PurePosixPath(key).name, storage.pattern)


# --- managing storages -----------------------------------------------------------------


def add_storage(session: Session, actor: User, project_id: int, fields: StorageFields) -> CloudStorage:
    """Connect a bucket to a project, after checking it can be listed with these settings."""
    project = get_project(session, actor, project_id, Capability.STORAGE_MANAGE)
    fields = _validate(fields)
    storage = CloudStorage(
        project_id=project.id,
        kind=fields.kind,
        bucket=fields.bucket,
        prefix=fields.prefix,
        pattern=fields.pattern if fields.kind == SOURCE else "",
        regex=fields.regex if fields.kind == SOURCE else False,
        region=fields.region,
        endpoint_url=fields.endpoint_url,
        access_key_id=fields.access_key_id,
        secret_encrypted=encrypt_secret(fields.secret_access_key),
        created_by=actor.id,
    )
    s3.check(settings_of(storage))
    session.add(storage)
    session.flush()
    audit.record(session, actor, "storage.add", f"storage:{storage.id}", project.id, kind=storage.kind,
                 bucket=storage.bucket, prefix=storage.prefix)
    return storage


def _get(session: Session, actor: User, storage_id: int, kind: str | None = None) -> CloudStorage:
    storage = session.get(CloudStorage, storage_id)
    if storage is None or (kind and storage.kind != kind):
        raise NotFound("That storage does not exist (any more).")
    get_project(session, actor, storage.project_id, Capability.STORAGE_MANAGE)
    return storage


def list_storages(session: Session, actor: User, project_id: int) -> list[dict]:
    """The project's storages, without their secrets."""
    get_project(session, actor, project_id, Capability.STORAGE_MANAGE)
    rows = session.exec(select(CloudStorage).where(CloudStorage.project_id == project_id).order_by(CloudStorage.id)).all()
    synced = dict(_object_counts(session, [r.id for r in rows])) if rows else {}
    return [
        {
            "id": r.id,
            "kind": r.kind,
            "bucket": r.bucket,
            "prefix": r.prefix,
            "pattern": r.pattern,
            "regex": r.regex,
            "region": r.region,
            "endpoint_url": r.endpoint_url,
            "credentials": "entered keys" if r.access_key_id else "from the environment",
            "access_key_id": r.access_key_id,
            "objects_synced": synced.get(r.id, 0),
            "last_sync_at": r.last_sync_at,
            "last_error": r.last_error,
        }
        for r in rows
    ]


def _object_counts(session: Session, ids: list[int]) -> list[tuple[int, int]]:
    from sqlalchemy import func

    return list(
        session.exec(
            select(StorageObject.storage_id, func.count())
            .where(col(StorageObject.storage_id).in_(ids))
            .group_by(StorageObject.storage_id)
        ).all()
    )


def delete_storage(session: Session, actor: User, storage_id: int) -> None:
    """Disconnect a storage (its tasks stay; their s3:// media show only while another
    storage of the project has that bucket)."""
    storage = _get(session, actor, storage_id)
    audit.record(session, actor, "storage.delete", f"storage:{storage.id}", storage.project_id, bucket=storage.bucket)
    session.delete(storage)
    session.flush()


def note_error(storage_id: int, message: str) -> None:
    """Keep a storage's last error for its page (own transaction; never raises)."""
    try:
        with session_scope() as session:
            storage = session.get(CloudStorage, storage_id)
            if storage is not None:
                storage.last_error = message[:2000]
                session.add(storage)
    except Exception:
        log.exception("could not note the error of storage %s", storage_id)


# --- source: sync ----------------------------------------------------------------------


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
    storage = _get(session, actor, storage_id, SOURCE)
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
    counts.tasks_added(session, project.id, writer.created)
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


# --- presigned media -------------------------------------------------------------------

_links: dict[tuple[int, str], tuple[str, float]] = {}


def presigned_media_url(session: Session, project_id: int | None, value: str) -> str | None:
    """A presigned link to an s3://bucket/key value, if one of the project's storages has
    that bucket (else None: a task cannot make the portal sign links to any bucket). The
    same link is given for half its life, so a page that reruns keeps its image."""
    parsed = s3.parse_url(value)
    if parsed is None or project_id is None:
        return None
    bucket, key = parsed
    found = session.exec(
        select(CloudStorage)
        .where(CloudStorage.project_id == project_id, CloudStorage.bucket == bucket)
        .order_by(CloudStorage.id)
    ).all()
    if not found:
        return None
    storage = next((f for f in found if f.kind == SOURCE), found[0])  # a source's keys read media
    cached = _links.get((storage.id, key))
    if cached and cached[1] > time.time():
        return cached[0]
    url = s3.presigned_url(settings_of(storage), key, LINK_SECONDS)
    if len(_links) > 10_000:
        _links.clear()
    _links[(storage.id, key)] = (url, time.time() + LINK_SECONDS / 2)
    return url


# --- target: annotations ---------------------------------------------------------------


def annotation_key(storage: CloudStorage, annotation_id: int) -> str:
    prefix = storage.prefix.strip("/")
    return f"{prefix}/{annotation_id}" if prefix else str(annotation_id)


def _iso(stamp) -> str | None:
    return stamp.isoformat() if stamp is not None else None


def annotation_body(annotation: Annotation, task: Task, email: str | None) -> bytes:
    """The annotation as Label Studio writes it to a target storage, with its task."""
    return json.dumps(
        {
            "id": annotation.id,
            "result": annotation.result,
            "completed_by": annotation.user_id,
            "completed_by_email": email,
            "was_cancelled": annotation.state == AnnotationState.SKIPPED,
            "ground_truth": False,
            "created_at": _iso(annotation.created_at),
            "updated_at": _iso(annotation.updated_at),
            "lead_time": round(annotation.lead_time, 3),
            "review_status": annotation.review_status,
            "task": {"id": task.id, "data": task.data, "project": task.project_id, "created_at": _iso(task.created_at)},
            "project": annotation.project_id,
        },
        ensure_ascii=False,
    ).encode()


def _targets(session: Session, project_id: int) -> list[CloudStorage]:
    return list(
        session.exec(
            select(CloudStorage).where(CloudStorage.project_id == project_id, CloudStorage.kind == TARGET)
        ).all()
    )


def annotation_submitted(session: Session, annotation: Annotation) -> None:
    """After a submit: write the annotation to the project's target storages once the
    submit commits. Never raises; a failure is logged and kept as the storage's error."""
    try:
        if annotation.state != AnnotationState.SUBMITTED:
            return
        targets = _targets(session, annotation.project_id)
        if not targets:
            return
        task = session.get(Task, annotation.task_id)
        user = session.get(User, annotation.user_id) if annotation.user_id else None
        body = annotation_body(annotation, task, user.email if user else None)
        writes = []
        for storage in targets:
            try:
                writes.append((storage.id, bool(storage.last_error), settings_of(storage), annotation_key(storage, annotation.id)))
            except s3.S3Error as e:
                writes.append((storage.id, True, None, str(e)))
    except Exception:
        log.exception("could not prepare annotation %s for target storage", annotation.id)
        return

    def write(_session: Session) -> None:
        for storage_id, had_error, settings, key in writes:
            try:
                if settings is None:
                    raise s3.S3Error(key)
                s3.put(settings, key, body)
                if had_error:
                    note_error(storage_id, "")
            except Exception as e:  # noqa: BLE001
                message = f"Annotation {annotation.id} was not written: {e}"
                log.warning("target storage %s: %s", storage_id, message)
                note_error(storage_id, message)

    event.listen(session, "after_commit", write, once=True)


def export_now(session: Session, actor: User, storage_id: int) -> int:
    """Write every submitted annotation of the project to a target storage; the count.
    Streams the annotations; an error stops it with a clear message (objects written
    before stay, as writing them again is harmless)."""
    storage = _get(session, actor, storage_id, TARGET)
    settings = settings_of(storage)
    s3.check(settings)
    rows = session.exec(
        select(Annotation, Task, User.email)
        .join(Task, Task.id == Annotation.task_id)
        .outerjoin(User, User.id == Annotation.user_id)
        .where(
            Annotation.project_id == storage.project_id,
            Annotation.state == AnnotationState.SUBMITTED,
            col(Annotation.deleted_at).is_(None),
            col(Task.deleted_at).is_(None),
        )
        .order_by(Annotation.id)
        .execution_options(yield_per=500)
    )
    written = 0
    for annotation, task, email in rows:
        s3.put(settings, annotation_key(storage, annotation.id), annotation_body(annotation, task, email))
        written += 1
    storage.last_sync_at = utcnow()
    storage.last_error = ""
    session.add(storage)
    audit.record(session, actor, "storage.export", f"storage:{storage.id}", storage.project_id, annotations=written)
    return written

