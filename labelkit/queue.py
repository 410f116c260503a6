"""The labeling queue: claim the next task, save drafts, submit, skip, go back.

Correct across processes: on PostgreSQL a claim locks its task row (FOR UPDATE SKIP
LOCKED) and re-checks it with a fresh statement; on SQLite the whole claim is one
IMMEDIATE write transaction. A claim holds a lock with a TTL so that no more people
work on a task than its overlap asks for."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, exists, false, func
from sqlmodel import Session, col, select

from labelkit import counts
from labelkit.auth.permissions import Capability, require
from labelkit.config import parse_config
from labelkit.db import is_sqlite, write_lock
from labelkit.errors import InvalidInput, NotFound
from labelkit.models import (
    Annotation,
    AnnotationState,
    AnnotationVersion,
    Project,
    Review,
    ReviewAction,
    ReviewStatus,
    Task,
    TaskLock,
    User,
    utcnow,
)
from labelkit.projects import get_project
from labelkit.results import missing_required
from labelkit.settings import get_settings

MAX_CLAIM_ATTEMPTS = 20


@dataclass
class Assignment:
    """A task as the labeling page shows it to one person."""

    task: Task
    annotation: Annotation | None
    reason: str  # "new", "locked", "draft", "rejected", "history"
    review_comment: str | None = None


@dataclass
class SubmitOutcome:
    annotation: Annotation
    counted: bool  # False: the task was already full, the work was kept as a draft
    message: str


def _lock_ttl() -> timedelta:
    return timedelta(minutes=get_settings().lock_minutes)


def _my_annotation(session: Session, task_id: int, user_id: int) -> Annotation | None:
    return session.exec(select(Annotation).where(Annotation.task_id == task_id, Annotation.user_id == user_id)).first()


def _others_locks(task_id, user_id, now):  # noqa: ANN001, ANN202
    return (
        select(func.count())
        .select_from(TaskLock)
        .where(TaskLock.task_id == task_id, TaskLock.user_id != user_id, TaskLock.expires_at > now)
        .scalar_subquery()
    )


def _count_others_locks(session: Session, task_id: int, user_id: int, now) -> int:  # noqa: ANN001
    """Live locks of other people on a task, read in a statement of its own (a fresh snapshot)."""
    return session.exec(select(_others_locks(task_id, user_id, now))).one()


def claim_next(session: Session, actor: User, project_id: int) -> Assignment | None:
    """The task this person should work on now, or None when the queue is empty for them."""
    write_lock(session)
    project = get_project(session, actor, project_id, Capability.TASK_ANNOTATE)
    now = utcnow()
    for finder in (_held_lock, _rejected, _draft_with_room):
        found = finder(session, actor, project, now)
        if found:
            return found
    return _claim_new(session, actor, project, now)


def _held_lock(session: Session, actor: User, project: Project, now) -> Assignment | None:  # noqa: ANN001
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
    _refresh_lock(session, task, actor, now)
    return Assignment(task, _my_annotation(session, task.id, actor.id), "locked")


def _rejected(session: Session, actor: User, project: Project, now) -> Assignment | None:  # noqa: ANN001, ARG001
    row = session.exec(
        select(Task, Annotation)
        .join(Annotation, Annotation.task_id == Task.id)
        .where(
            Annotation.user_id == actor.id,
            Annotation.project_id == project.id,
            Annotation.review_status == ReviewStatus.REJECTED,
            Annotation.deleted_at.is_(None),
            Task.deleted_at.is_(None),
        )
        .order_by(Annotation.updated_at)
    ).first()
    if row is None:
        return None
    task, annotation = row
    return Assignment(task, annotation, "rejected", review_comment=latest_review_comment(session, annotation.id))


def _draft_with_room(session: Session, actor: User, project: Project, now) -> Assignment | None:  # noqa: ANN001
    task = session.exec(
        select(Task)
        .join(Annotation, Annotation.task_id == Task.id)
        .where(
            Annotation.user_id == actor.id,
            Annotation.project_id == project.id,
            Annotation.state == AnnotationState.DRAFT,
            Annotation.deleted_at.is_(None),
            Task.deleted_at.is_(None),
            Task.done == false(),
            Task.total_annotations + _others_locks(Task.id, actor.id, now) < project.overlap,
        )
        .order_by(Annotation.updated_at.desc())
    ).first()
    if task is None:
        return None
    _refresh_lock(session, task, actor, now)
    return Assignment(task, _my_annotation(session, task.id, actor.id), "draft")


def open_tasks(project_id: int):  # noqa: ANN201
    """Tasks that still want annotations, written to match the partial index ix_tasks_open."""
    return (Task.project_id == project_id) & (Task.done == false()) & Task.deleted_at.is_(None)


def claim_query(project: Project, actor: User, now, start_id: int = 0):  # noqa: ANN001, ANN201
    """The next open task for this person, in id order from start_id: not theirs already,
    and not taken by as many others as it has room for."""
    mine = exists().where(Annotation.task_id == Task.id, Annotation.user_id == actor.id)
    return (
        select(Task)
        .where(
            open_tasks(project.id),
            col(Task.id) >= start_id,
            ~mine,
            Task.total_annotations + _others_locks(Task.id, actor.id, now) < project.overlap,
        )
        .order_by(col(Task.id))
    )


def _random_start(session: Session, project: Project) -> int:
    """A random point among the open tasks' ids; the claim goes on from there (and wraps)."""
    low, high = session.exec(select(func.min(Task.id), func.max(Task.id)).where(open_tasks(project.id))).one()
    return random.randint(low, high) if low is not None else 0


def _claim_new(session: Session, actor: User, project: Project, now) -> Assignment | None:  # noqa: ANN001
    starts = [_random_start(session, project), 0] if project.sampling == "random" else [0]
    for start in starts:
        task = _first_free(session, claim_query(project, actor, now, start), actor, project, now)
        if task is not None:
            _refresh_lock(session, task, actor, now)
            return Assignment(task, None, "new")
    return None


def _first_free(session: Session, query, actor: User, project: Project, now) -> Task | None:  # noqa: ANN001
    if is_sqlite(session):
        return session.exec(query.limit(1)).first()
    # PostgreSQL: lock a candidate row, then re-check it in a new statement (a new
    # snapshot under READ COMMITTED) so claims committed meanwhile are seen.
    passed: list[int] = []
    for _ in range(MAX_CLAIM_ATTEMPTS):
        candidate = query.where(col(Task.id).not_in(passed)) if passed else query
        task = session.exec(candidate.limit(1).with_for_update(skip_locked=True, of=Task)).first()
        if task is None:
            return None
        session.refresh(task)
        room = task.total_annotations + _count_others_locks(session, task.id, actor.id, now) < project.overlap
        if room and not task.done and _my_annotation(session, task.id, actor.id) is None:
            return task
        passed.append(task.id)
    return None


def _refresh_lock(session: Session, task: Task, actor: User, now) -> None:  # noqa: ANN001
    """Hold (or extend) this person's lock on the task; they hold one lock per project."""
    session.execute(
        delete(TaskLock).where(
            TaskLock.user_id == actor.id, TaskLock.project_id == task.project_id, TaskLock.task_id != task.id
        )
    )
    lock = session.get(TaskLock, (task.id, actor.id))
    if lock is None:
        lock = TaskLock(task_id=task.id, user_id=actor.id, project_id=task.project_id, expires_at=now + _lock_ttl())
    lock.expires_at = now + _lock_ttl()
    session.add(lock)
    session.flush()


def _release_lock(session: Session, task_id: int, user_id: int) -> None:
    session.execute(delete(TaskLock).where(TaskLock.task_id == task_id, TaskLock.user_id == user_id))


def release(session: Session, actor: User, task_id: int) -> None:
    """Give the task back to the queue (the person leaves it without an answer)."""
    _release_lock(session, task_id, actor.id)


def _task_for_work(session: Session, actor: User, task_id: int, for_update: bool = False) -> tuple[Task, Project]:
    query = select(Task).where(Task.id == task_id, Task.deleted_at.is_(None))
    if for_update and not is_sqlite(session):
        query = query.with_for_update()
    task = session.exec(query).first()
    if task is None:
        raise NotFound(f"There is no task {task_id}.")
    project = get_project(session, actor, task.project_id, Capability.TASK_ANNOTATE)
    return task, project


def open_task(session: Session, actor: User, task_id: int) -> Assignment:
    """Go back to a task: one the person worked on (or holds), or any task for reviewers and managers."""
    task, project = _task_for_work(session, actor, task_id)
    annotation = _my_annotation(session, task.id, actor.id)
    holds = session.get(TaskLock, (task.id, actor.id)) is not None
    if annotation is None and not holds:
        require(session, actor, Capability.ANNOTATION_REVIEW, project.id)
    comment = None
    if annotation is not None and annotation.review_status == ReviewStatus.REJECTED:
        comment = latest_review_comment(session, annotation.id)
    return Assignment(task, annotation, "history", review_comment=comment)


def save_draft(session: Session, actor: User, task_id: int, result: list) -> Annotation | None:
    """Keep unsaved work; never touches a submitted annotation (use submit to update)."""
    task, _ = _task_for_work(session, actor, task_id)
    annotation = _my_annotation(session, task.id, actor.id)
    if annotation is not None and annotation.state != AnnotationState.DRAFT:
        return None
    now = utcnow()
    if annotation is None:
        annotation = Annotation(
            task_id=task.id, project_id=task.project_id, user_id=actor.id, state=AnnotationState.DRAFT, result=result,
            created_at=now,
        )
    annotation.result = result
    annotation.updated_at = now
    session.add(annotation)
    lock = session.get(TaskLock, (task.id, actor.id))
    if lock is not None:
        lock.expires_at = now + _lock_ttl()
        session.add(lock)
    session.flush()
    return annotation


def _keep_version(session: Session, annotation: Annotation) -> None:
    session.add(
        AnnotationVersion(
            annotation_id=annotation.id,
            state=annotation.state,
            result=annotation.result,
            user_id=annotation.user_id,
            created_at=annotation.updated_at,
        )
    )


def submit(session: Session, actor: User, task_id: int, result: list, lead_time: float = 0.0) -> SubmitOutcome:
    """Submit (or update) this person's annotation of a task."""
    write_lock(session)
    task, project = _task_for_work(session, actor, task_id, for_update=True)
    config = parse_config(project.label_config)
    missing = missing_required(config, result)
    if missing:
        raise InvalidInput(f"Please answer {', '.join(missing)} before submitting.")
    if not result:
        raise InvalidInput("There is nothing to submit yet; label the task or skip it.")
    now = utcnow()
    annotation = _my_annotation(session, task.id, actor.id)
    if annotation is not None and annotation.state == AnnotationState.SUBMITTED:
        _keep_version(session, annotation)
        annotation.result = result
        annotation.updated_at = now
        annotation.lead_time += max(lead_time, 0.0)
        if annotation.review_status != ReviewStatus.PENDING:
            annotation.review_status = ReviewStatus.PENDING
            annotation.reviewed_result = None
        session.add(annotation)
        _release_lock(session, task.id, actor.id)
        session.flush()
        return SubmitOutcome(annotation, True, "Updated.")

    session.refresh(task)
    holds_lock = session.exec(
        select(TaskLock).where(TaskLock.task_id == task.id, TaskLock.user_id == actor.id, TaskLock.expires_at > now)
    ).first()
    others = _count_others_locks(session, task.id, actor.id, now)
    room = not task.done and (holds_lock or task.total_annotations + others < project.overlap)
    if annotation is None:
        annotation = Annotation(
            task_id=task.id, project_id=task.project_id, user_id=actor.id, state=AnnotationState.DRAFT, result=[], created_at=now
        )
    elif annotation.state == AnnotationState.SKIPPED:
        _keep_version(session, annotation)
    annotation.result = result
    annotation.updated_at = now
    annotation.lead_time += max(lead_time, 0.0)
    _release_lock(session, task.id, actor.id)
    if not room:
        annotation.state = AnnotationState.DRAFT
        session.add(annotation)
        session.flush()
        return SubmitOutcome(
            annotation, False,
            f"While you worked, this task got the {project.overlap} annotation(s) it needs. "
            "Your answer is kept as a draft; nothing was lost.",
        )
    annotation.state = AnnotationState.SUBMITTED
    annotation.review_status = ReviewStatus.PENDING
    annotation.submitted_at = now
    session.add(annotation)
    counts.annotation_counted(session, task, project.overlap, +1)
    session.flush()
    return SubmitOutcome(annotation, True, "Submitted.")


def skip(session: Session, actor: User, task_id: int) -> Annotation:
    """Pass on a task: it is not shown to this person again, and others still get it."""
    task, _ = _task_for_work(session, actor, task_id)
    annotation = _my_annotation(session, task.id, actor.id)
    if annotation is not None and annotation.state == AnnotationState.SUBMITTED:
        raise InvalidInput("You already submitted this task; update it instead of skipping.")
    now = utcnow()
    if annotation is None:
        annotation = Annotation(
            task_id=task.id, project_id=task.project_id, user_id=actor.id, state=AnnotationState.SKIPPED, result=[], created_at=now
        )
    elif annotation.result:
        _keep_version(session, annotation)
    annotation.state = AnnotationState.SKIPPED
    annotation.result = []
    annotation.updated_at = now
    session.add(annotation)
    _release_lock(session, task.id, actor.id)
    session.flush()
    return annotation


def latest_review_comment(session: Session, annotation_id: int) -> str | None:
    review = session.exec(
        select(Review)
        .where(Review.annotation_id == annotation_id, Review.action == ReviewAction.REJECT)
        .order_by(col(Review.id).desc())
    ).first()
    return review.comment if review else None
