"""Browsing a project's tasks (the data table on the project page)."""

from __future__ import annotations

from sqlmodel import Session, col, select

from labelkit.auth.permissions import Capability
from labelkit.models import Task, User
from labelkit.projects import get_project


def list_tasks(session: Session, actor: User, project_id: int, offset: int = 0, limit: int = 50) -> tuple[list[dict], int]:
    """A page of tasks, newest last, and how many there are."""
    project = get_project(session, actor, project_id, Capability.PROJECT_EDIT)
    live = (Task.project_id == project_id) & Task.deleted_at.is_(None)
    total = project.task_count
    tasks = session.exec(select(Task).where(live).order_by(col(Task.id)).offset(offset).limit(limit)).all()
    return [{"id": t.id, "data": t.data, "annotations": t.total_annotations, "created": t.created_at} for t in tasks], total
