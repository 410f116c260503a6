"""Links that show a task's s3://bucket/key media to the browser: presigned links to the
bucket, or, for a storage whose bucket browsers cannot reach (presign off), signed links
to this server, which streams the object (open_media).

A link is made only with a storage of the task's project that has that bucket, so a
task cannot make the portal sign links to any bucket."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

from sqlmodel import Session

from labelkit.auth.permissions import Capability, require
from labelkit.cloud import _storage_for_bucket, settings_of
from labelkit.errors import NotFound
from labelkit.models import CloudStorage, User
from labelkit.storage import local, s3

LINK_SECONDS = 3600

# (storage id, bucket, endpoint, presign, key) -> (link, reuse until): a storage removed and
# another made with its id (SQLite reuses ids) never gets the old one's links.
_links: dict[tuple, tuple[str, float]] = {}


def presigned_media_url(session: Session, actor: User, project_id: int | None, value: str) -> str | None:
    """A presigned link to an s3://bucket/key value, for someone who may open the project, if
    one of the project's storages has that bucket (else None: a task cannot make the portal
    sign links to any bucket). The same link is given for half its life, so a page that
    reruns keeps its image."""
    parsed = s3.parse_url(value)
    if parsed is None or project_id is None:
        return None
    require(session, actor, Capability.PROJECT_VIEW, project_id)
    bucket, key = parsed
    storage = _storage_for_bucket(session, project_id, bucket)
    if storage is None:
        return None
    cache_key = (storage.id, storage.bucket, storage.endpoint_url, storage.presign, key)
    cached = _links.get(cache_key)
    if cached and cached[1] > time.time():
        return cached[0]
    if storage.presign:
        url = s3.presigned_url(settings_of(storage), key, LINK_SECONDS)
    else:
        url = local.signed_url(proxy_path(storage.id, key), LINK_SECONDS, align=LINK_SECONDS)
    if len(_links) > 10_000:
        _links.clear()
    _links[cache_key] = (url, time.time() + LINK_SECONDS / 2)
    return url


# --- through this server ---------------------------------------------------------------

PROXY_PREFIX = "/data/storage/"


def proxy_path(storage_id: int, key: str) -> str:
    return f"{PROXY_PREFIX}{storage_id}/{key}"


@dataclass
class Media:
    body: Iterator[bytes]
    content_type: str
    headers: dict[str, str]
    status: int


def open_media(storage_id: int, key: str, byte_range: str | None) -> Media:
    """An object of a storage, streamed in chunks, with the Range a browser asked for (audio
    and video seek with it). The caller has checked the link's signature."""
    from labelkit.db import session_scope

    with session_scope(write=False) as session:
        storage = session.get(CloudStorage, storage_id)
        if storage is None:
            raise NotFound("That storage does not exist (any more).")
        settings = settings_of(storage)
    extra = {"Range": byte_range} if byte_range and byte_range.startswith("bytes=") else {}
    with s3.errors(settings, f"read {key!r} from"):
        found = s3.connect(settings).get_object(Bucket=settings.bucket, Key=key, **extra)
    headers = {"Accept-Ranges": "bytes", "Content-Length": str(found["ContentLength"])}
    if found.get("ContentRange"):
        headers["Content-Range"] = found["ContentRange"]
    return Media(found["Body"].iter_chunks(256 * 1024), found.get("ContentType") or "application/octet-stream", headers,
                 206 if found.get("ContentRange") else 200)
