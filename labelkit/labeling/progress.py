"""What one person has done in a project: their recent work (to go back to) and their progress."""

from __future__ import annotations

from sqlmodel import Session, col, func, select

from labelkit.auth.permissions import Capability
from labelkit.models import Annotation, AnnotationState, ReviewStatus, Task, User
from labelkit.projects.crud import get_project


def _mine(actor: User, project_id: int):
    """The person's live annotations in the project (not deleted, nor on deleted tasks)."""
    return (
        (Annotation.user_id == actor.id)
        & (Annotation.project_id == project_id)
        & Annotation.deleted_at.is_(None)
        & Task.deleted_at.is_(None)
    )


def history(session: Session, actor: User, project_id: int, limit: int = 50) -> list[dict]:
    """This person's recent work in a project, newest first (for "go back")."""
    get_project(session, actor, project_id, Capability.TASK_ANNOTATE)
    rows = session.exec(
        select(Annotation)
        .join(Task, Task.id == Annotation.task_id)
        .where(_mine(actor, project_id))
        .order_by(col(Annotation.updated_at).desc())
        .limit(limit)
    ).all()
    return [
        {"task_id": a.task_id, "state": a.state, "review": a.review_status, "updated": a.updated_at, "result": a.result}
        for a in rows
    ]


def progress(session: Session, actor: User, project_id: int) -> dict:
    """What the person has done in a project, and how far the project is."""
    project = get_project(session, actor, project_id, Capability.TASK_ANNOTATE)
    mine = dict(
        session.exec(
            select(Annotation.state, func.count(Annotation.id))
            .join(Task, Task.id == Annotation.task_id)
            .where(_mine(actor, project_id))
            .group_by(Annotation.state)
        ).all()
    )
    rejected = session.exec(
        select(func.count(Annotation.id))
        .join(Task, Task.id == Annotation.task_id)
        .where(_mine(actor, project_id), Annotation.review_status == ReviewStatus.REJECTED)
    ).one()
    return {
        "submitted": mine.get(AnnotationState.SUBMITTED, 0),
        "skipped": mine.get(AnnotationState.SKIPPED, 0),
        "drafts": mine.get(AnnotationState.DRAFT, 0),
        "rejected": rejected,
        "project_done": project.done_count,
        "project_total": project.task_count,
    }
