"""Export a project: a registry of formats (one module each) over one streaming reader
of tasks, so memory does not grow with the size of the project."""

from __future__ import annotations

from collections.abc import Callable
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
from labelkit.exporters import asr, coco, huggingface, label_studio, masks, minimal, reader, spans, table, voc, yolo
from labelkit.exporters.base import ExportContext, Exporter
from labelkit.models import Annotation, AnnotationState, Project, ReviewStatus, Task, User
from labelkit.projects.crud import get_project

FORMATS: dict[str, Exporter] = {e.name: e for m in (label_studio, table, yolo, coco, voc, spans, asr, minimal, masks, huggingface) for e in m.EXPORTERS}


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


def unfit_formats(project: Project) -> dict[str, str]:
    """The formats this project's config cannot be exported in, and why."""
    config = parse_config(project.label_config)
    return {name: why for name, fmt in FORMATS.items() if (why := fmt.supports(config))}


@dataclass
class ExportReport:
    tasks: int
    format: str
    file_name: str
    mime: str = ""
    with_images: bool = False
    images: int = 0  # packed into the archive
    missing_images: int = 0  # could not be read: listed in missing-images.txt in the archive


def _task_filter(project: Project, only: Only, annotator: str | None = None, task_ids: list[int] | None = None):
    condition = and_(Task.project_id == project.id, Task.deleted_at.is_(None))
    if task_ids is not None:  # a selection from the data manager
        condition = and_(condition, col(Task.id).in_(sorted({int(t) for t in task_ids})))
    if annotator:  # the tasks this person submitted an annotation of
        condition = and_(condition, exists().where(
            Annotation.task_id == Task.id, Annotation.user_id == User.id, func.lower(User.email) == annotator.lower(),
            Annotation.state == AnnotationState.SUBMITTED, Annotation.deleted_at.is_(None),
        ))
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


def count_tasks(session: Session, actor: User, project_id: int, only: Only | str = Only.ALL, annotator: str | None = None) -> int:
    project = get_project(session, actor, project_id, Capability.PROJECT_EXPORT)
    return _count(session, project, Only(only), annotator)


def _count(session: Session, project: Project, only: Only, annotator: str | None = None, task_ids: list[int] | None = None) -> int:
    if only == Only.ALL and not annotator and task_ids is None:
        return project.task_count
    if only == Only.COMPLETED and not annotator and task_ids is None:
        return project.done_count
    return session.exec(select(func.count(Task.id)).where(_task_filter(project, only, annotator, task_ids))).one()


def annotators(session: Session, actor: User, project_id: int) -> list[str]:
    """The emails of everyone with a submitted annotation in the project (to export one person's work)."""
    project = get_project(session, actor, project_id, Capability.PROJECT_EXPORT)
    return list(session.exec(
        select(User.email).where(exists().where(
            Annotation.user_id == User.id, Annotation.project_id == project.id,
            Annotation.state == AnnotationState.SUBMITTED, Annotation.deleted_at.is_(None),
        )).order_by(User.email)
    ).all())


def export_project(
    session: Session,
    actor: User,
    project_id: int,
    format_name: str,
    out: BinaryIO,
    only: Only | str = Only.ALL,
    progress: Callable[[int, int], None] | None = None,
    *,
    annotator: str | None = None,
    predictions: bool = True,
    one_per_task: bool = False,
    with_images: bool = False,
    task_ids: list[int] | None = None,
) -> ExportReport:
    """Write the project in a format to `out`; the page and the CLI write the same bytes.
    annotator: only this person's annotations (and the tasks they annotated); predictions:
    with the models' predictions; one_per_task: one annotation per task (see choose.one);
    with_images: pack the images into the archive (formats with packs_images; see
    labelkit.exporters.images); task_ids: only these tasks (a selection in the data manager)."""
    project = get_project(session, actor, project_id, Capability.PROJECT_EXPORT)
    fmt = exporter(format_name)
    try:
        only = Only(only)
    except ValueError:
        raise InvalidInput(f"--only must be one of: {', '.join(Only)}.") from None
    config = parse_config(project.label_config)
    problem = fmt.supports(config)
    if problem:
        raise InvalidInput(f"{fmt.title} cannot export this project: {problem}")
    if with_images and not fmt.packs_images:
        can = ", ".join(n for n, f in FORMATS.items() if f.packs_images)
        raise InvalidInput(f"{fmt.title} cannot pack images; formats that can: {can}.")
    if task_ids is not None and not task_ids:
        raise InvalidInput("Pick the tasks to export.")
    total = _count(session, project, only, annotator, task_ids)
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress and (done % 200 == 0 or done == total):
            progress(done, total)

    condition = _task_filter(project, only, annotator, task_ids)
    selection = reader.Selection(only == Only.ACCEPTED, annotator, predictions, one_per_task)
    ctx = ExportContext(
        project=project,
        config=config,
        tasks=lambda: reader._stream_tasks(session, condition, project.id, selection, tick),
        data_keys=lambda: reader._data_keys(session, condition, config.data_keys),
    )
    if with_images:
        from labelkit.exporters.images import ImagePacker

        ctx.images = ImagePacker(session, project.id)
    fmt.write(ctx, out)
    # An export reads in one long (read-only) transaction; its audit event is written
    # in a short transaction of its own.
    with session_scope(session.get_bind(), write=True) as writer:
        audit.record(writer, actor, "project.export", f"project:{project.id}", project.id, format=fmt.name, only=str(only), tasks=total,
                     annotator=annotator, predictions=predictions, one_per_task=one_per_task, with_images=with_images)
    images = ctx.images
    return ExportReport(tasks=total, format=fmt.name, file_name=file_name(project, fmt, only, with_images),
                        mime="application/zip" if with_images else fmt.mime, with_images=with_images,
                        images=images.packed if images else 0, missing_images=images.missing if images else 0)


def file_name(project: Project, fmt: Exporter, only: Only | str, with_images: bool = False) -> str:
    slug = "".join(ch if ch.isalnum() else "-" for ch in project.title.lower()).strip("-")[:40] or "project"
    extension = "zip" if with_images else fmt.extension  # packed images make every format a ZIP
    return f"{slug}-{project.id}-{Only(only)}{'-images' * with_images}.{extension}"
