"""Who works on what: tasks a manager assigns to people, the locks people hold, and
pausing an annotator in a project. All of it needs TASK_ASSIGN (a project's managers).

A task with assignments goes only to its assignees, before any other task; in a project
with "manual" distribution a task nobody was assigned goes to nobody (labelkit/labeling/queue.py)."""

from __future__ import annotations

import logging

from sqlalchemy import delete, exists, func
from sqlmodel import Session, col, select

from labelkit import audit
from labelkit.auth.permissions import Capability
from labelkit.errors import InvalidInput, NotFound
from labelkit.models import (
    Annotation,
    AnnotationState,
    Membership,
    Role,
    Task,
    TaskAssignment,
    TaskLock,
    User,
    utcnow,
)
from labelkit.projects.crud import get_project

log = logging.getLogger(__name__)

MAX_TASKS_AT_ONCE = 10_000


def _notify(session: Session, user_id: int, kind: str, text: str, project_id: int | None = None, task_id: int | None = None) -> None:
    """An in-app notification (labelkit.projects.notify); nothing when that module is not there."""
    try:
        from labelkit.projects import notify as notifications
    except ImportError:
        return
    notifications._send(session, user_id, kind, text, project_id=project_id, task_id=task_id)


def _members(session: Session, project_id: int, user_ids: list[int]) -> dict[int, User]:
    """The people, who must be members of the project who may label (else nothing changes)."""
    ids = sorted({int(u) for u in user_ids})
    if not ids:
        raise InvalidInput("Pick at least one person.")
    rows = session.exec(
        select(User, Membership.role)
        .join(Membership, (Membership.user_id == User.id) & (Membership.project_id == project_id))
        .where(col(User.id).in_(ids), Membership.role != Role.MODEL_SERVER)
    ).all()
    found = {u.id: u for u, _ in rows}
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFound(f"{len(missing)} of these people are not members of this project; add them to it first.")
    return found


def _live_task_ids(session: Session, project_id: int, task_ids: list[int]) -> list[int]:
    ids = sorted({int(t) for t in task_ids})
    if not ids:
        raise InvalidInput("Pick at least one task.")
    if len(ids) > MAX_TASKS_AT_ONCE:
        raise InvalidInput(f"Assign at most {MAX_TASKS_AT_ONCE:,} tasks at once.")
    found = set(
        session.exec(
            select(Task.id).where(col(Task.id).in_(ids), Task.project_id == project_id, Task.deleted_at.is_(None))
        ).all()
    )
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFound(f"There is no task {missing[0]} in this project" + (f" (nor {len(missing) - 1} more)." if len(missing) > 1 else "."))
    return ids


def assign_tasks(session: Session, actor: User, project_id: int, task_ids: list[int], user_ids: list[int]) -> int:
    """Give these tasks to these people (each to all of them); returns how many new
    assignments were made (those already there are kept, not repeated)."""
    get_project(session, actor, project_id, Capability.TASK_ASSIGN)
    people = _members(session, project_id, user_ids)
    ids = _live_task_ids(session, project_id, task_ids)
    existing = set(
        session.exec(
            select(TaskAssignment.task_id, TaskAssignment.user_id).where(
                col(TaskAssignment.task_id).in_(ids), col(TaskAssignment.user_id).in_(list(people))
            )
        ).all()
    )
    now = utcnow()
    made: dict[int, int] = {}
    for user_id in people:
        for task_id in ids:
            if (task_id, user_id) in existing:
                continue
            session.add(TaskAssignment(project_id=project_id, task_id=task_id, user_id=user_id, assigned_by=actor.id, created_at=now))
            made[user_id] = made.get(user_id, 0) + 1
    session.flush()
    total = sum(made.values())
    if total:
        audit.record(
            session, actor, "task.assign", f"project:{project_id}", project_id,
            tasks=len(ids), people=sorted(people), assignments=total,
        )
        for user_id, count in made.items():
            _notify(
                session, user_id, "assigned",
                f"{actor.display} assigned you {count} task{'s' * (count != 1)} to label.", project_id=project_id,
                task_id=ids[0] if count == 1 else None,
            )
    return total


def unassign_tasks(session: Session, actor: User, project_id: int, task_ids: list[int], user_ids: list[int] | None = None) -> int:
    """Take these tasks back from these people (from everyone when user_ids is None); the
    tasks go back to the queue. Work already done on them stays. Returns assignments removed."""
    get_project(session, actor, project_id, Capability.TASK_ASSIGN)
    ids = _live_task_ids(session, project_id, task_ids)
    condition = (TaskAssignment.project_id == project_id) & col(TaskAssignment.task_id).in_(ids)
    if user_ids is not None:
        if not user_ids:
            raise InvalidInput("Pick at least one person.")
        condition = condition & col(TaskAssignment.user_id).in_([int(u) for u in user_ids])
    removed = session.exec(select(func.count(TaskAssignment.id)).where(condition)).one()
    if removed:
        session.execute(delete(TaskAssignment).where(condition))
        audit.record(
            session, actor, "task.unassign", f"project:{project_id}", project_id,
            tasks=len(ids), people=sorted(user_ids) if user_ids is not None else "everyone", assignments=removed,
        )
    return removed


def _unassigned_open_tasks(session: Session, project_id: int, limit: int) -> list[int]:
    """The first `limit` live, unfinished tasks nobody is assigned to, in id order (index walk)."""
    from labelkit.labeling.queue import open_tasks

    assigned = exists().where(TaskAssignment.task_id == Task.id)
    return list(
        session.exec(select(Task.id).where(open_tasks(project_id), ~assigned).order_by(col(Task.id)).limit(limit)).all()
    )


def assign_next(session: Session, actor: User, project_id: int, count: int, user_ids: list[int]) -> int:
    """Assign the next `count` unfinished tasks nobody is assigned to yet to these people.
    Returns how many tasks were assigned."""
    get_project(session, actor, project_id, Capability.TASK_ASSIGN)
    if not 1 <= int(count) <= MAX_TASKS_AT_ONCE:
        raise InvalidInput(f"Assign between 1 and {MAX_TASKS_AT_ONCE:,} tasks at once.")
    _members(session, project_id, user_ids)
    ids = _unassigned_open_tasks(session, project_id, int(count))
    if not ids:
        raise InvalidInput("Every unfinished task in this project is already assigned to someone.")
    assign_tasks(session, actor, project_id, ids, user_ids)
    return len(ids)


def assignment_summary(session: Session, actor: User, project_id: int) -> list[dict]:
    """Per person: tasks assigned to them, and how many of those they have finished (submitted or skipped)."""
    get_project(session, actor, project_id, Capability.TASK_ASSIGN)
    finished = exists().where(
        Annotation.task_id == TaskAssignment.task_id,
        Annotation.user_id == TaskAssignment.user_id,
        col(Annotation.state).in_([AnnotationState.SUBMITTED, AnnotationState.SKIPPED]),
    )
    rows = session.exec(
        select(User.email, func.count(TaskAssignment.id), func.count(TaskAssignment.id).filter(finished))
        .join(User, User.id == TaskAssignment.user_id)
        .join(Task, Task.id == TaskAssignment.task_id)
        .where(TaskAssignment.project_id == project_id, Task.deleted_at.is_(None))
        .group_by(User.email)
        .order_by(User.email)
    ).all()
    return [{"email": e, "assigned": a, "finished": f, "left": a - f} for e, a, f in rows]


# Locks


def holders(session: Session, actor: User, project_id: int) -> list[dict]:
    """Who holds which task right now: live locks, the longest-held first. A lock is
    renewed while its holder works, so `since` is when they last took or saved it."""
    from labelkit.labeling.queue import lock_ttl

    get_project(session, actor, project_id, Capability.TASK_ASSIGN)
    now = utcnow()
    rows = session.exec(
        select(TaskLock, User.email)
        .join(User, User.id == TaskLock.user_id)
        .where(TaskLock.project_id == project_id, TaskLock.expires_at > now)
        .order_by(TaskLock.expires_at, TaskLock.task_id)
    ).all()
    ttl = lock_ttl()
    return [
        {"task_id": lock.task_id, "user_id": lock.user_id, "email": email, "since": lock.expires_at - ttl, "until": lock.expires_at}
        for lock, email in rows
    ]


def release(session: Session, actor: User, project_id: int, task_id: int, user_id: int) -> None:
    """Take a task back from the person holding it (their draft, if any, is kept)."""
    get_project(session, actor, project_id, Capability.TASK_ASSIGN)
    lock = session.get(TaskLock, (int(task_id), int(user_id)))
    if lock is None or lock.project_id != project_id:
        raise NotFound("That person no longer holds that task.")
    session.delete(lock)
    audit.record(session, actor, "task.release", f"task:{task_id}", project_id, user=user_id)
    if user_id != actor.id:
        _notify(session, user_id, "released", f"{actor.display} gave task {task_id} back to the queue; any draft of yours is kept.",
               project_id=project_id, task_id=task_id)


# Pausing


def _membership(session: Session, project_id: int, user_id: int) -> Membership:
    membership = session.exec(
        select(Membership).where(Membership.project_id == project_id, Membership.user_id == user_id)
    ).first()
    if membership is None:
        raise NotFound("That person is not a member of this project.")
    return membership


def pause(session: Session, actor: User | None, project_id: int, user_id: int, reason: str = "", *, check: bool = True) -> Membership:
    """Stop giving this person new tasks in the project (their held task and drafts stay
    theirs). `check=False` is for the system (gold accuracy), which acts on nobody's behalf."""
    if check:
        get_project(session, actor, project_id, Capability.TASK_ASSIGN)
    reason = (reason or "").strip()[:500]
    membership = _membership(session, project_id, user_id)
    if membership.role == Role.MANAGER:
        raise InvalidInput("Managers are not paused; change their role first.")
    if membership.paused_at is not None:
        return membership
    membership.paused_at = utcnow()
    membership.paused_reason = reason or "A project manager paused your work here."
    session.add(membership)
    audit.record(session, actor, "member.pause", f"user:{user_id}", project_id, reason=membership.paused_reason)
    _notify(session, user_id, "paused", f"You are paused in this project: {membership.paused_reason}", project_id=project_id)
    session.flush()
    return membership


def resume(session: Session, actor: User, project_id: int, user_id: int) -> Membership:
    get_project(session, actor, project_id, Capability.TASK_ASSIGN)
    membership = _membership(session, project_id, user_id)
    if membership.paused_at is None:
        return membership
    membership.paused_at = None
    membership.paused_reason = ""
    session.add(membership)
    audit.record(session, actor, "member.resume", f"user:{user_id}", project_id)
    _notify(session, user_id, "resumed", "You can label in this project again.", project_id=project_id)
    session.flush()
    return membership


def _paused_reason(session: Session, project_id: int, user_id: int) -> str | None:
    """Why this person gets no new tasks in the project, or None when they are not paused."""
    row = session.exec(
        select(Membership.paused_at, Membership.paused_reason).where(
            Membership.project_id == project_id, Membership.user_id == user_id
        )
    ).first()
    if row is None or row[0] is None:
        return None
    return row[1] or "A project manager paused your work here."


def my_pause(session: Session, actor: User, project_id: int) -> str | None:
    """_paused_reason for the signed-in person (the label page)."""
    get_project(session, actor, project_id, Capability.PROJECT_VIEW)
    return _paused_reason(session, project_id, actor.id)


def paused_people(session: Session, actor: User, project_id: int) -> list[dict]:
    get_project(session, actor, project_id, Capability.TASK_ASSIGN)
    rows = session.exec(
        select(Membership, User.email)
        .join(User, User.id == Membership.user_id)
        .where(Membership.project_id == project_id, col(Membership.paused_at).is_not(None))
        .order_by(Membership.paused_at)
    ).all()
    return [{"user_id": m.user_id, "email": email, "since": m.paused_at, "reason": m.paused_reason} for m, email in rows]
