"""Task completion and project counters, kept in step in one place.

A task is done when it has as many submitted annotations as its project's overlap.
`tasks.done` feeds the queue's partial index; `projects.task_count` and `done_count`
feed every progress bar. Each change that moves them calls one of these functions, in
the transaction that makes the change."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import update
from sqlmodel import Session, col, func, select

from labelkit.models import Project, Task


def _project_delta(session: Session, project_id: int, tasks: int = 0, done: int = 0) -> None:
    if tasks or done:
        session.execute(
            update(Project)
            .where(Project.id == project_id)
            .values(task_count=Project.task_count + tasks, done_count=Project.done_count + done)
        )


def _tasks_added(session: Session, project_id: int, count: int) -> None:
    _project_delta(session, project_id, tasks=count)


def _annotation_counted(session: Session, task: Task, overlap: int, delta: int) -> int:
    """A submitted annotation was added (+1) to or taken (-1) from a task the caller holds.
    Returns the change to the project's done count, for the caller to pass to _done_changed:
    that update locks the project's row, so a busy caller makes it last in its transaction."""
    was_done = task.done
    total = task.total_annotations + delta
    done = total >= overlap
    # (The ORM update also refreshes `task` in the session.)
    session.execute(update(Task).where(Task.id == task.id).values(total_annotations=total, done=done))
    if done == was_done or task.deleted_at is not None:
        return 0
    return 1 if done else -1


def _done_changed(session: Session, project_id: int, delta: int) -> None:
    _project_delta(session, project_id, done=delta)


def _tasks_removed(session: Session, project_id: int, tasks: Sequence[Task], restored: bool = False) -> None:
    """Tasks went to the trash (or came back from it)."""
    sign = 1 if restored else -1
    _project_delta(session, project_id, tasks=sign * len(tasks), done=sign * sum(1 for t in tasks if t.done))


def _overlap_changed(session: Session, project: Project) -> None:
    """Every task's done flag follows a new overlap (or share of overlap tasks); the project's done count with it."""
    from labelkit.labeling.overlap import needed_sql

    session.execute(
        update(Task).where(Task.project_id == project.id).values(done=Task.total_annotations >= needed_sql(project))
    )
    _recount(session, project)


def _recount(session: Session, project: Project) -> None:
    """Set a project's counters from its rows (after bulk changes, or to repair them)."""
    live = (Task.project_id == project.id) & col(Task.deleted_at).is_(None)
    project.task_count = session.exec(select(func.count(Task.id)).where(live)).one()
    project.done_count = session.exec(select(func.count(Task.id)).where(live, col(Task.done))).one()
    session.add(project)
