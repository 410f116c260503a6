"""Presigned links that show a task's s3://bucket/key media to the browser.

A link is signed only with a storage of the task's project that has that bucket, so a
task cannot make the portal sign links to any bucket."""

from __future__ import annotations

import time

from sqlmodel import Session, select

from labelkit.cloud import SOURCE, settings_of
from labelkit.models import CloudStorage
from labelkit.storage import s3

LINK_SECONDS = 3600

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
