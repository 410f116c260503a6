"""Export a project: a registry of formats (one module each) over one streaming reader
of tasks, so memory does not grow with the size of the project."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import BinaryIO

from sqlalchemy import and_
from sqlmodel import Session, col, exists, func, select

from labelkit import audit
from labelkit.auth.permissions import Capability
from labelkit.config import parse_config
from labelkit.db import session_scope
from labelkit.errors import InvalidInput
from labelkit.exporters import label_studio, table
from labelkit.exporters.base import ExportContext, ExportedAnnotation, ExportedTask, Exporter
from labelkit.models import Annotation, AnnotationState, Prediction, Project, ReviewStatus, Task, User
from labelkit.projects import get_project
from labelkit.review import effective_result

FORMATS: dict[str, Exporter] = {e.name: e for m in (label_studio, table) for e in m.EXPORTERS}
CHUNK = 500


class Only(StrEnum):
    ALL = "all"
    COMPLETED = "completed"
    ACCEPTED = "accepted"


ONLY_HELP = {
    Only.ALL: "Every task, with every submitted annotation",
    Only.COMPLETED: "Tasks that have all the annotations they need",
    Only.ACCEPTED: "Tasks with an accepted annotation, and only the accepted annotations",
}


def exporter(name: str) -> Exporter:
    found = FORMATS.get(name.upper())
    if found is None:
        raise InvalidInput(f"Unknown export format {name!r}; known: {', '.join(FORMATS)}.")
    return found


@dataclass
class ExportReport:
    tasks: int
    format: str
    file_name: str


def _task_filter(project: Project, only: Only):  # noqa: ANN202
    condition = and_(Task.project_id == project.id, Task.deleted_at.is_(None))
    if only == Only.COMPLETED:
        condition = and_(condition, col(Task.done))
    elif only == Only.ACCEPTED:
        accepted = exists().where(
            Annotation.task_id == Task.id,
            Annotation.review_status == ReviewStatus.ACCEPTED,
            Annotation.deleted_at.is_(None),
        )
        condition = and_(condition, accepted)
    return condition


def count_tasks(session: Session, actor: User, project_id: int, only: Only | str = Only.ALL) -> int:
    project = get_project(session, actor, project_id, Capability.PROJECT_EXPORT)
    return _count(session, project, Only(only))


def _count(session: Session, project: Project, only: Only) -> int:
    if only == Only.ALL:
        return project.task_count
    if only == Only.COMPLETED:
        return project.done_count
    return session.exec(select(func.count(Task.id)).where(_task_filter(project, only))).one()


def _stream(session: Session, project: Project, only: Only, on_task: Callable[[], None] | None) -> Iterator[ExportedTask]:
    """Tasks in id order, CHUNK at a time (keyset pages), with their annotations."""
    condition = _task_filter(project, only)
    last_id = 0
    while True:
        tasks = session.exec(
            select(Task).where(condition, col(Task.id) > last_id).order_by(col(Task.id)).limit(CHUNK)
        ).all()
        if not tasks:
            return
        ids = [t.id for t in tasks]
        annotations: dict[int, list[ExportedAnnotation]] = {}
        query = (
            select(Annotation, User.email)
            .join(User, User.id == Annotation.user_id, isouter=True)
            .where(
                col(Annotation.task_id).in_(ids),
                Annotation.state == AnnotationState.SUBMITTED,
                Annotation.deleted_at.is_(None),
            )
            .order_by(col(Annotation.id))
        )
        if only == Only.ACCEPTED:
            query = query.where(Annotation.review_status == ReviewStatus.ACCEPTED)
        for annotation, email in session.exec(query).all():
            annotations.setdefault(annotation.task_id, []).append(
                ExportedAnnotation(annotation, email, effective_result(annotation))
            )
        predictions: dict[int, list[Prediction]] = {}
        for prediction in session.exec(
            select(Prediction).where(col(Prediction.task_id).in_(ids)).order_by(col(Prediction.id))
        ).all():
            predictions.setdefault(prediction.task_id, []).append(prediction)
        for task in tasks:
            yield ExportedTask(task, annotations.get(task.id, []), predictions.get(task.id, []))
            if on_task:
                on_task()
        # Let go of this chunk's rows so memory stays flat however large the project.
        for obj in [*tasks, *(a.annotation for group in annotations.values() for a in group),
                    *(p for group in predictions.values() for p in group)]:
            session.expunge(obj)
        last_id = ids[-1]


def _data_keys(session: Session, project: Project, only: Only, config_keys: list[str]) -> list[str]:
    keys = list(config_keys)
    seen = set(keys)
    last_id = 0
    condition = _task_filter(project, only)
    while True:
        rows = session.exec(
            select(Task.id, Task.data).where(condition, col(Task.id) > last_id).order_by(col(Task.id)).limit(CHUNK * 4)
        ).all()
        if not rows:
            return keys
        for _, data in rows:
            for key in data or {}:
                if key not in seen:
                    seen.add(key)
                    keys.append(key)
        last_id = rows[-1][0]


def export_project(
    session: Session,
    actor: User,
    project_id: int,
    format_name: str,
    out: BinaryIO,
    only: Only | str = Only.ALL,
    progress: Callable[[int, int], None] | None = None,
) -> ExportReport:
    """Write the project in a format to `out`; the page and the CLI write the same bytes."""
    project = get_project(session, actor, project_id, Capability.PROJECT_EXPORT)
    fmt = exporter(format_name)
    try:
        only = Only(only)
    except ValueError:
        raise InvalidInput(f"--only must be one of: {', '.join(Only)}.") from None
    config = parse_config(project.label_config)
    total = _count(session, project, only)
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress and (done % 200 == 0 or done == total):
            progress(done, total)

    ctx = ExportContext(
        project=project,
        config=config,
        tasks=lambda: _stream(session, project, only, tick),
        data_keys=lambda: _data_keys(session, project, only, config.data_keys),
    )
    fmt.write(ctx, out)
    # An export reads in one long (read-only) transaction; its audit event is written
    # in a short transaction of its own.
    with session_scope(session.get_bind(), write=True) as writer:
        audit.record(writer, actor, "project.export", f"project:{project.id}", project.id, format=fmt.name, only=str(only), tasks=total)
    return ExportReport(tasks=total, format=fmt.name, file_name=file_name(project, fmt, only))


def file_name(project: Project, fmt: Exporter, only: Only | str) -> str:
    slug = "".join(ch if ch.isalnum() else "-" for ch in project.title.lower()).strip("-")[:40] or "project"
    return f"{slug}-{project.id}-{Only(only)}.{fmt.extension}"
