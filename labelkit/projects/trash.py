"""Deleting moves things to a trash that an admin can restore from for LABELKIT_TRASH_DAYS
(30 by default); after that they are purged. Only a project's managers delete in it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete
from sqlmodel import Session, col, func, select

from labelkit import audit
from labelkit.auth.permissions import Capability, require
from labelkit.errors import InvalidInput, NotFound
from labelkit.labeling import counts, overlap
from labelkit.models import Annotation, AnnotationState, Project, Task, User, utcnow
from labelkit.projects.crud import get_project
from labelkit.settings import get_settings


@dataclass
class DeletionSummary:
    """What a deletion takes with it, for the confirmation a person must give."""

    what: str
    tasks: int
    annotations: int

    def sentence(self) -> str:
        return (
            f"{self.what}: {self.tasks} task{'s' * (self.tasks != 1)} and "
            f"{self.annotations} annotation{'s' * (self.annotations != 1)} go to the trash "
            f"(an admin can restore them for {get_settings().trash_days} days)."
        )


def _count_annotations(session: Session, condition) -> int:
    return session.exec(
        select(func.count(Annotation.id)).where(condition, Annotation.state == AnnotationState.SUBMITTED, Annotation.deleted_at.is_(None))
    ).one()


def project_deletion(session: Session, actor: User, project_id: int) -> DeletionSummary:
    project = get_project(session, actor, project_id, Capability.PROJECT_DELETE)
    tasks = session.exec(select(func.count(Task.id)).where(Task.project_id == project_id, Task.deleted_at.is_(None))).one()
    return DeletionSummary(f"Project {project.title!r}", tasks, _count_annotations(session, Annotation.project_id == project_id))


def delete_project(session: Session, actor: User, project_id: int) -> DeletionSummary:
    summary = project_deletion(session, actor, project_id)
    project = session.get(Project, project_id)
    project.deleted_at, project.deleted_by = utcnow(), actor.id
    session.add(project)
    audit.record(session, actor, "project.delete", f"project:{project_id}", project_id, title=project.title, tasks=summary.tasks)
    return summary


def _live_tasks(session: Session, project_id: int, task_ids: list[int]) -> list[Task]:
    tasks = session.exec(
        select(Task).where(col(Task.id).in_(task_ids), Task.project_id == project_id, Task.deleted_at.is_(None))
    ).all()
    if len(tasks) != len(set(task_ids)):
        raise NotFound("Some of these tasks do not exist in this project (or are already deleted).")
    return list(tasks)


def tasks_deletion(session: Session, actor: User, project_id: int, task_ids: list[int]) -> DeletionSummary:
    get_project(session, actor, project_id, Capability.TASK_DELETE)
    if not task_ids:
        raise InvalidInput("Pick the tasks to delete.")
    tasks = _live_tasks(session, project_id, task_ids)
    ids = [t.id for t in tasks]
    return DeletionSummary(
        f"{len(ids)} task{'s' * (len(ids) != 1)}", len(ids), _count_annotations(session, col(Annotation.task_id).in_(ids))
    )


def delete_tasks(session: Session, actor: User, project_id: int, task_ids: list[int]) -> DeletionSummary:
    summary = tasks_deletion(session, actor, project_id, task_ids)
    now = utcnow()
    tasks = _live_tasks(session, project_id, task_ids)
    for task in tasks:
        task.deleted_at, task.deleted_by = now, actor.id
        session.add(task)
    counts._tasks_removed(session, project_id, tasks)
    audit.record(session, actor, "task.delete", f"project:{project_id}", project_id, tasks=sorted(task_ids))
    return summary


def delete_annotation(session: Session, actor: User, annotation_id: int) -> None:
    annotation = session.get(Annotation, annotation_id)
    if annotation is None or annotation.deleted_at is not None:
        raise NotFound(f"There is no annotation {annotation_id}.")
    get_project(session, actor, annotation.project_id, Capability.ANNOTATION_DELETE)
    annotation.deleted_at, annotation.deleted_by = utcnow(), actor.id
    session.add(annotation)
    if annotation.state == AnnotationState.SUBMITTED:
        _count_change(session, annotation, -1)
    audit.record(session, actor, "annotation.delete", f"annotation:{annotation_id}", annotation.project_id, task=annotation.task_id)


def _count_change(session: Session, annotation: Annotation, delta: int) -> None:
    # Locked and read fresh, as a submit reads it (queue.task_for_work): counts are written from it.
    task = session.get(Task, annotation.task_id, with_for_update=True, populate_existing=True)
    project = session.get(Project, annotation.project_id)
    counts._done_changed(session, project.id, counts._annotation_counted(session, task, overlap.needed(project, task.id), delta))


def list_trash(session: Session, actor: User) -> list[dict]:
    """Everything deleted and still restorable, newest first."""
    require(session, actor, Capability.TRASH_RESTORE)
    rows: list[dict] = []
    for project, email in session.exec(
        select(Project, User.email).join(User, User.id == Project.deleted_by, isouter=True).where(Project.deleted_at.is_not(None))
    ):
        rows.append(_row("project", project.id, project.title, project.id, project.deleted_at, email))
    for task, title, email in session.exec(
        select(Task, Project.title, User.email)
        .join(Project, Project.id == Task.project_id)
        .join(User, User.id == Task.deleted_by, isouter=True)
        .where(Task.deleted_at.is_not(None))
        .limit(2000)
    ):
        rows.append(_row("task", task.id, f"task {task.id} of {title}", task.project_id, task.deleted_at, email))
    for annotation, title, email in session.exec(
        select(Annotation, Project.title, User.email)
        .join(Project, Project.id == Annotation.project_id)
        .join(User, User.id == Annotation.deleted_by, isouter=True)
        .where(Annotation.deleted_at.is_not(None))
        .limit(2000)
    ):
        rows.append(
            _row("annotation", annotation.id, f"annotation {annotation.id} of task {annotation.task_id} ({title})",
                 annotation.project_id, annotation.deleted_at, email)
        )
    return sorted(rows, key=lambda r: r["deleted_at"], reverse=True)


def _row(kind: str, item_id: int, what: str, project_id: int, deleted_at, by: str | None) -> dict:
    return {
        "kind": kind,
        "id": item_id,
        "what": what,
        "project_id": project_id,
        "deleted_at": deleted_at,
        "deleted_by": by or "",
        "purged_on": deleted_at + timedelta(days=get_settings().trash_days),
    }


def restore(session: Session, actor: User, kind: str, item_id: int) -> None:
    require(session, actor, Capability.TRASH_RESTORE)
    model = {"project": Project, "task": Task, "annotation": Annotation}.get(kind)
    if model is None:
        raise InvalidInput(f"Cannot restore a {kind}.")
    item = session.get(model, item_id)
    if item is None or item.deleted_at is None:
        raise NotFound(f"There is no {kind} {item_id} in the trash.")
    item.deleted_at, item.deleted_by = None, None
    session.add(item)
    if kind == "annotation" and item.state == AnnotationState.SUBMITTED:
        _count_change(session, item, +1)
    elif kind == "task":
        counts._tasks_removed(session, item.project_id, [item], restored=True)
    audit.record(session, actor, f"{kind}.restore", f"{kind}:{item_id}", getattr(item, "project_id", item_id))


def _purge_expired(session: Session) -> int:
    """Delete for good what has been in the trash longer than the retention period."""
    cutoff = utcnow() - timedelta(days=get_settings().trash_days)
    purged = 0
    for model in (Annotation, Task, Project):
        result = session.execute(delete(model).where(model.deleted_at.is_not(None), model.deleted_at < cutoff))
        purged += result.rowcount or 0
    if purged:
        audit.record(session, None, "trash.purge", "", None, items=purged)
    return purged
