"""The labeling queue: which task a person works on next, and the locks that keep no more
people on a task than its overlap asks for.

Correct across processes: on PostgreSQL a claim locks its task row (FOR UPDATE SKIP
LOCKED) and re-checks it with a fresh statement; on SQLite the whole claim is one
IMMEDIATE write transaction. A lock has a TTL (LABELKIT_LOCK_MINUTES). Claims walk the
partial index ix_tasks_open, which holds only tasks that still want annotations."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, exists, false, func, or_
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from labelkit.auth.permissions import Capability, require
from labelkit.db import is_sqlite, write_lock
from labelkit.errors import NotFound
from labelkit.labeling import overlap
from labelkit.models import (
    Annotation,
    AnnotationState,
    Membership,
    Project,
    Review,
    ReviewAction,
    ReviewStatus,
    Task,
    TaskAssignment,
    TaskLock,
    User,
    utcnow,
)
from labelkit.projects.crud import get_project
from labelkit.settings import get_settings

MAX_CLAIM_ATTEMPTS = 20
ASSIGNED_PAGE = 200


@dataclass
class Assignment:
    """A task as the labeling page shows it to one person."""

    task: Task
    annotation: Annotation | None
    reason: str  # "new", "locked", "draft", "rejected", "history"
    review_comment: str | None = None


def lock_ttl() -> timedelta:
    return timedelta(minutes=get_settings().lock_minutes)


def _my_annotation(session: Session, task_id: int, user_id: int) -> Annotation | None:
    return session.exec(select(Annotation).where(Annotation.task_id == task_id, Annotation.user_id == user_id)).first()


def _lock_counts(session: Session, task_id: int, user_id: int, now: datetime) -> tuple[bool, int]:
    """(whether this person holds a live lock on the task, how many others do), read in a
    statement of its own, so a fresh snapshot on PostgreSQL."""
    mine, others = session.exec(
        select(
            func.coalesce(func.sum(case((TaskLock.user_id == user_id, 1), else_=0)), 0),
            func.coalesce(func.sum(case((TaskLock.user_id != user_id, 1), else_=0)), 0),
        ).where(TaskLock.task_id == task_id, TaskLock.expires_at > now)
    ).one()
    return bool(mine), int(others)


def claim_next(session: Session, actor: User, project_id: int) -> Assignment | None:
    """The task this person should work on now, or None when the queue is empty for them:
    the task they hold, else their work sent back or left as a draft, else a new one."""
    write_lock(session)
    project = get_project(session, actor, project_id, Capability.TASK_ANNOTATE)
    if not is_sqlite(session):
        # One claim at a time per person and project (several browser tabs): their locks
        # would otherwise cross. SQLite's IMMEDIATE transaction already serializes it.
        session.execute(select(func.pg_advisory_xact_lock(project.id, actor.id)))
    now = utcnow()
    return _held(session, actor, project, now) or _pending_work(session, actor, project, now) or _claim_new(
        session, actor, project, now
    )


def _held(session: Session, actor: User, project: Project, now: datetime) -> Assignment | None:
    task = session.exec(
        select(Task)
        .join(TaskLock, TaskLock.task_id == Task.id)
        .where(
            TaskLock.user_id == actor.id,
            TaskLock.project_id == project.id,
            TaskLock.expires_at > now,
            Task.deleted_at.is_(None),
        )
        .order_by(TaskLock.expires_at.desc())
    ).first()
    if task is None:
        return None
    _hold(session, task, actor, now)
    return Assignment(task, _my_annotation(session, task.id, actor.id), "locked")


def _pending_work(session: Session, actor: User, project: Project, now: datetime) -> Assignment | None:
    """Work sent back by a reviewer (oldest first), else a draft whose task still has room."""
    rows = session.exec(
        select(Annotation, Task)
        .join(Task, Task.id == Annotation.task_id)
        .where(
            Annotation.user_id == actor.id,
            Annotation.project_id == project.id,
            or_(Annotation.review_status == ReviewStatus.REJECTED, Annotation.state == AnnotationState.DRAFT),
            Annotation.deleted_at.is_(None),
            Task.deleted_at.is_(None),
        )
        .order_by(Annotation.updated_at)
        .limit(50)
    ).all()
    rejected = [(a, t) for a, t in rows if a.review_status == ReviewStatus.REJECTED and a.state == AnnotationState.SUBMITTED]
    if rejected:
        annotation, task = rejected[0]
        return Assignment(task, annotation, "rejected", review_comment=_latest_review_comment(session, annotation.id))
    for annotation, task in reversed(rows):  # the latest draft first
        if annotation.state != AnnotationState.DRAFT or task.done:
            continue
        _, others = _lock_counts(session, task.id, actor.id, now)
        if task.total_annotations + others < overlap.needed(project, task.id):
            _hold(session, task, actor, now)
            return Assignment(task, annotation, "draft")
    return None


def open_tasks(project_id: int):
    """Tasks that still want annotations, written to match the partial index ix_tasks_open."""
    return (Task.project_id == project_id) & (Task.done == false()) & Task.deleted_at.is_(None)


def _others_locks(task_id, user_id, now):
    return (
        select(func.count())
        .select_from(TaskLock)
        .where(TaskLock.task_id == task_id, TaskLock.user_id != user_id, TaskLock.expires_at > now)
        .scalar_subquery()
    )


def claim_query(project: Project, actor: User, now: datetime, start_id: int | None = 0, assigned: bool = False):
    """The next open task for this person, in id order from start_id: not theirs already,
    and not taken by as many others as it has room for (labelkit/labeling/overlap.py). With
    `assigned` the caller picks the person's assigned tasks (_first_assigned); else only
    tasks assigned to nobody, and no gold tasks when the project mixes those in itself."""
    mine = exists().where(Annotation.task_id == Task.id, Annotation.user_id == actor.id)
    query = select(Task).where(
        open_tasks(project.id),
        ~mine,
        Task.total_annotations + _others_locks(Task.id, actor.id, now) < overlap.needed_sql(project),
    )
    if start_id is not None:  # None: no id range, for an order of another index (uncertain_first)
        query = query.where(col(Task.id) >= start_id)
    if not assigned:
        query = query.where(~exists().where(TaskAssignment.task_id == Task.id))
        if project.gold_percent:
            query = query.where(~_is_gold(Task.id))
    return query.order_by(col(Task.id))


def uncertain_first(query):
    """A claim query narrowed to tasks with a prediction, the least certain first (active
    learning); it walks the partial index ix_tasks_open_uncertain backwards. Tasks without
    a prediction come after, from the usual claim."""
    return query.where(col(Task.uncertainty).is_not(None)).order_by(None).order_by(
        col(Task.uncertainty).desc(), col(Task.id).desc()
    )


def _is_gold(task_id):
    return exists().where(Annotation.task_id == task_id, col(Annotation.ground_truth), Annotation.deleted_at.is_(None))


def gold_query(project: Project, actor: User):
    """Gold tasks (with a ground truth) this person has not done, whatever their overlap."""
    mine = exists().where(Annotation.task_id == Task.id, Annotation.user_id == actor.id)
    truth = aliased(Annotation)
    return (
        select(Task)
        .join(truth, truth.task_id == Task.id)
        .where(
            truth.project_id == project.id,
            col(truth.ground_truth),
            truth.deleted_at.is_(None),
            Task.deleted_at.is_(None),
            ~mine,
        )
        .order_by(col(Task.id))
    )


def _random_start(session: Session, project: Project) -> int:
    """A random point among the open tasks' ids; the claim goes on from there (and wraps)."""
    low, high = session.exec(select(func.min(Task.id), func.max(Task.id)).where(open_tasks(project.id))).one()
    return random.randint(low, high) if low is not None else 0


def _claim_new(session: Session, actor: User, project: Project, now: datetime) -> Assignment | None:
    """A new task: none for a paused person; else their assigned tasks first; a gold task
    at about gold_percent% of claims; then the shared queue (not in manual distribution)."""
    paused, has_assignments = _standing(session, actor, project)
    if paused:
        return None
    task = _first_assigned(session, actor, project, now) if has_assignments else None
    if task is None and project.gold_percent and random.random() * 100 < project.gold_percent:
        task = session.exec(gold_query(project, actor).limit(1)).first()
    if task is not None:
        _hold(session, task, actor, now)
        return Assignment(task, None, "new")
    if project.distribution == "manual":
        return None
    if project.sampling == "uncertainty":
        task = _first_free(session, uncertain_first(claim_query(project, actor, now, start_id=None)), actor, project, now)
        if task is not None:
            _hold(session, task, actor, now)
            return Assignment(task, None, "new")
    starts = [_random_start(session, project), 0] if project.sampling == "random" else [0]
    for start in starts:
        task = _first_free(session, claim_query(project, actor, now, start), actor, project, now)
        if task is not None:
            _hold(session, task, actor, now)
            return Assignment(task, None, "new")
    return None


def _standing(session: Session, actor: User, project: Project) -> tuple[bool, bool]:
    """(whether this person is paused in the project, whether they have tasks assigned there): one indexed query."""
    row = session.exec(
        select(
            col(Membership.paused_at).is_not(None),
            exists().where(TaskAssignment.user_id == actor.id, TaskAssignment.project_id == project.id),
        ).where(Membership.project_id == project.id, Membership.user_id == actor.id)
    ).first()
    return (bool(row[0]), bool(row[1])) if row else (False, False)


def _first_assigned(session: Session, actor: User, project: Project, now: datetime) -> Task | None:
    """The first open task assigned to this person, read from their assignments (its index)
    a page at a time, so the claim never walks the project's tasks looking for them."""
    after = 0
    while True:
        ids = session.exec(
            select(TaskAssignment.task_id)
            .where(TaskAssignment.user_id == actor.id, TaskAssignment.project_id == project.id, TaskAssignment.task_id > after)
            .order_by(TaskAssignment.task_id)
            .limit(ASSIGNED_PAGE)
        ).all()
        if not ids:
            return None
        query = claim_query(project, actor, now, assigned=True).where(col(Task.id).in_(ids))
        task = _first_free(session, query, actor, project, now)
        if task is not None:
            return task
        after = ids[-1]


def _first_free(session: Session, query, actor: User, project: Project, now: datetime) -> Task | None:
    if is_sqlite(session):
        return session.exec(query.limit(1)).first()
    # PostgreSQL: lock a candidate row, then re-check it in a new statement (a new
    # snapshot under READ COMMITTED) so claims committed meanwhile are seen.
    passed: list[int] = []
    for _ in range(MAX_CLAIM_ATTEMPTS):
        candidate = query.where(col(Task.id).not_in(passed)) if passed else query
        task = session.exec(candidate.limit(1).with_for_update(skip_locked=True, of=Task)
                            .execution_options(populate_existing=True)).first()
        if task is None:
            return None
        _, others = _lock_counts(session, task.id, actor.id, now)
        room = task.total_annotations + others < overlap.needed(project, task.id)
        if not task.done and room and _my_annotation(session, task.id, actor.id) is None:
            return task
        passed.append(task.id)
    return None


def _hold(session: Session, task: Task, actor: User, now: datetime) -> None:
    """Hold (or extend) this person's lock on the task; they hold one lock per project.
    An upsert: the same person in two browser tabs may claim at the same moment."""
    session.execute(
        delete(TaskLock).where(
            TaskLock.user_id == actor.id, TaskLock.project_id == task.project_id, TaskLock.task_id != task.id
        )
    )
    insert = sqlite_insert if is_sqlite(session) else postgresql_insert
    expires = now + lock_ttl()
    session.execute(
        insert(TaskLock)
        .values(task_id=task.id, user_id=actor.id, project_id=task.project_id, expires_at=expires)
        .on_conflict_do_update(index_elements=["task_id", "user_id"], set_={"expires_at": expires})
    )


def _release(session: Session, task_id: int, user_id: int) -> None:
    """Give the task back to the queue."""
    session.execute(delete(TaskLock).where(TaskLock.task_id == task_id, TaskLock.user_id == user_id))


def task_for_work(session: Session, actor: User, task_id: int, for_update: bool = False) -> tuple[Task, Project]:
    """A live task and its project, if the actor may label in it (locked for a write on PostgreSQL)."""
    query = select(Task).where(Task.id == task_id, Task.deleted_at.is_(None))
    if for_update and not is_sqlite(session):
        # populate_existing: the row as locked, not a copy this session read before the lock
        # (the REST API reads the task first); a stale count let a task take overlap + 1.
        query = query.with_for_update().execution_options(populate_existing=True)
    task = session.exec(query).first()
    if task is None:
        raise NotFound(f"There is no task {task_id}.")
    project = get_project(session, actor, task.project_id, Capability.TASK_ANNOTATE)
    return task, project


def open_task(session: Session, actor: User, task_id: int) -> Assignment:
    """Go back to a task: one the person worked on (or holds), or any task for reviewers and managers."""
    task, project = task_for_work(session, actor, task_id)
    annotation = _my_annotation(session, task.id, actor.id)
    holds = session.get(TaskLock, (task.id, actor.id)) is not None
    if annotation is None and not holds:
        require(session, actor, Capability.ANNOTATION_REVIEW, project.id)
    comment = None
    if annotation is not None and annotation.review_status == ReviewStatus.REJECTED:
        comment = _latest_review_comment(session, annotation.id)
    return Assignment(task, annotation, "history", review_comment=comment)


def _latest_review_comment(session: Session, annotation_id: int) -> str | None:
    review = session.exec(
        select(Review)
        .where(Review.annotation_id == annotation_id, Review.action == ReviewAction.REJECT)
        .order_by(col(Review.id).desc())
    ).first()
    return review.comment if review else None
