"""Write annotations to a project's target storages, as Label Studio writes them.

One JSON object per annotation, key `<prefix>/<annotation id>`, body the annotation
with its task. They are written when submitted (after the submit commits; a failure
never fails the submit, it is logged and shown on the storage page) and on demand
("Export now")."""

from __future__ import annotations

import json
import logging

from sqlalchemy import event
from sqlmodel import Session, col, select

from labelkit import audit
from labelkit.cloud import TARGET, get_storage, note_error, settings_of
from labelkit.models import (
    Annotation,
    AnnotationState,
    CloudStorage,
    Task,
    User,
    utcnow,
)
from labelkit.storage import s3

log = logging.getLogger(__name__)


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
            "completed_by_email": email,  # no "completed_by": see exporters/label_studio.py
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


def _annotation_submitted(session: Session, annotation: Annotation) -> None:
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
    storage = get_storage(session, actor, storage_id, TARGET)
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
