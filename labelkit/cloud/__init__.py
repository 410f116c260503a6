"""Cloud storage of a project: the S3 buckets it takes tasks from and writes annotations to.

This module keeps the storage records and their rules: the fields a storage is made of
and their validation, its secret kept encrypted, the S3 settings it stands for, adding,
listing and deleting storages, keeping a storage's last error, and which keys a source
syncs. What is done with a storage lives beside it:

- `labelkit.cloud.sync`: a *source*'s objects become tasks, once, on demand;
- `labelkit.cloud.links`: presigned links that show a task's s3:// media;
- `labelkit.cloud.targets`: a *target* receives annotations when submitted and on
  demand ("Export now").

Keys entered on the page are stored encrypted (Fernet) with a key derived from the
portal's signing key; without keys, boto3's usual chain (AWS_* environment variables,
profile, instance role) is used."""

from __future__ import annotations

import fnmatch
import logging
import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from sqlmodel import Session, col, select

from labelkit import audit
from labelkit.auth import crypto
from labelkit.auth.permissions import Capability
from labelkit.db import session_scope
from labelkit.errors import InvalidInput, NotFound
from labelkit.models import CloudStorage, StorageObject, User
from labelkit.projects.crud import get_project
from labelkit.storage import s3

log = logging.getLogger(__name__)

SOURCE, TARGET = "source", "target"
KINDS = (SOURCE, TARGET)


# --- settings and secrets ------------------------------------------------------------


@dataclass
class StorageFields:
    kind: str
    bucket: str
    prefix: str = ""
    pattern: str = ""
    regex: bool = False
    presign: bool = True  # media to browsers by presigned links; False: through this server
    region: str = ""
    endpoint_url: str = ""
    access_key_id: str = ""
    secret_access_key: str = ""


def encrypt_secret(secret: str) -> str:
    return crypto.encrypt_secret(secret)


def decrypt_secret(token: str) -> str:
    try:
        return crypto.decrypt_secret(token)
    except crypto.SecretUnreadable:
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
    s3.check_endpoint(fields.endpoint_url)  # public, unless an admin allows private addresses
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
        presign=fields.presign,
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


def update_storage(session: Session, actor: User, storage_id: int, fields: StorageFields) -> CloudStorage:
    """Change a storage's bucket, prefix, pattern, region, endpoint or keys (its kind stays),
    after checking the bucket can be listed with the new settings. An empty secret keeps the
    stored one only for the same access key at the same endpoint and bucket: the stored
    secret is used only where it was entered, so a new endpoint or bucket needs the keys again."""
    storage = get_storage(session, actor, storage_id)
    fields.kind = storage.kind
    keep = bool(fields.access_key_id.strip()) and not fields.secret_access_key and bool(storage.secret_encrypted)
    if keep:
        moved = (fields.endpoint_url.strip().rstrip("/"), fields.bucket.strip()) != (storage.endpoint_url, storage.bucket)
        if moved or fields.access_key_id.strip() != storage.access_key_id:
            raise InvalidInput("The endpoint URL, bucket or access key changed: enter the secret access key again "
                               "(a stored secret is only used where it was entered).")
        fields.secret_access_key = decrypt_secret(storage.secret_encrypted)
    fields = _validate(fields)
    changed = CloudStorage(project_id=storage.project_id, kind=storage.kind, bucket=fields.bucket, prefix=fields.prefix,
                           region=fields.region, endpoint_url=fields.endpoint_url, access_key_id=fields.access_key_id,
                           secret_encrypted=encrypt_secret(fields.secret_access_key))
    s3.check(settings_of(changed))
    for name in ("bucket", "prefix", "region", "endpoint_url", "access_key_id", "secret_encrypted"):
        setattr(storage, name, getattr(changed, name))
    storage.pattern = fields.pattern if storage.kind == SOURCE else ""
    storage.regex = fields.regex if storage.kind == SOURCE else False
    storage.presign = fields.presign
    session.add(storage)
    session.flush()
    audit.record(session, actor, "storage.update", f"storage:{storage.id}", storage.project_id, bucket=storage.bucket,
                 prefix=storage.prefix, endpoint_url=storage.endpoint_url)
    return storage


def source_for(session: Session, actor: User, project_id: int, fields: StorageFields) -> CloudStorage:
    """The project's source storage of this bucket, prefix and endpoint, connected on first
    use (`labelkit import PROJECT s3://bucket/prefix`), so syncing it again adds only new objects."""
    get_project(session, actor, project_id, Capability.STORAGE_MANAGE)
    fields = _validate(fields)
    found = session.exec(select(CloudStorage).where(
        CloudStorage.project_id == project_id, CloudStorage.kind == SOURCE, CloudStorage.bucket == fields.bucket,
        CloudStorage.prefix == fields.prefix, CloudStorage.endpoint_url == fields.endpoint_url,
    ).order_by(CloudStorage.id)).first()
    return found or add_storage(session, actor, project_id, fields)


def _storage_for_bucket(session: Session, project_id: int, bucket: str) -> CloudStorage | None:
    """The project's storage that reads media of this bucket: a source first (its keys read
    the objects), else a target; None when the project has none, so a task can never make
    the portal read a bucket the project was not given."""
    found = session.exec(
        select(CloudStorage).where(CloudStorage.project_id == project_id, CloudStorage.bucket == bucket).order_by(CloudStorage.id)
    ).all()
    return next((f for f in found if f.kind == SOURCE), found[0] if found else None)


def get_storage(session: Session, actor: User, storage_id: int, kind: str | None = None) -> CloudStorage:
    """A storage (of that kind, if given) whose project the actor manages the storage of."""
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
            "presign": r.presign,
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
    storage = get_storage(session, actor, storage_id)
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
