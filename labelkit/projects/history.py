"""The history of one task: who did what to it, and when, in one time-ordered list.

Built from the rows the work itself leaves (the task, its annotations and their kept
versions, reviews, comments, assignments) and, for what leaves no row of its own (ground
truth marked, a lock released, a task sent back to review), the audit events naming the task
or one of its annotations. Reviewers and managers see all of it; an annotator sees it for a
task of theirs, without other annotators' work (overlap stays blind).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from labelkit.auth.permissions import Capability, can
from labelkit.labeling import queue
from labelkit.models import (
    Annotation,
    AnnotationState,
    AnnotationVersion,
    AuditEvent,
    Comment,
    Review,
    ReviewAction,
    TaskAssignment,
    TaskLock,
    User,
)
from labelkit.projects.comments import visible_task

_REVIEWED = {ReviewAction.ACCEPT: "accepted", ReviewAction.REJECT: "sent back", ReviewAction.FIX: "fixed and accepted"}
_AUDITED = {
    "annotation.ground_truth": "marked {whose} answer as ground truth",
    "annotation.ground_truth_off": "took the ground truth mark off {whose} answer",
    "annotation.restore": "restored {whose} answer",
    "task.release": "released the task's lock",
    "review.requested": "sent the task to review again",
    "task.gold": "made the task a gold task",
}


@dataclass
class Event:
    at: datetime
    who: str
    what: str
    detail: str = ""
    about_user: int | None = None  # whose work the event concerns (None: the task itself)


def task_history(session: Session, actor: User, task_id: int, limit: int = 500) -> list[Event]:
    """Everything that happened to the task, oldest first."""
    task, project = visible_task(session, actor, task_id, Capability.PROJECT_VIEW)
    annotations = list(session.exec(select(Annotation).where(Annotation.task_id == task.id)).all())
    names = _names(session)
    events = [Event(task.created_at, "", "imported the task")]
    for annotation in annotations:
        events.extend(_work(session, annotation, names))
    events.extend(_reviews(session, annotations, names))
    events.extend(_comments(session, task.id, names))
    events.extend(_assignments(session, task.id, names))
    events.extend(_audited(session, task.id, project.id, task.created_at, annotations, names))
    events.extend(_claims(session, task.id, names))
    if not can(session, actor, Capability.TASK_BROWSE, project.id):
        events = [e for e in events if e.about_user in (None, actor.id)]
    events.sort(key=lambda e: e.at)
    return events[-limit:]


def _names(session: Session) -> dict[int | None, str]:
    """Display names, looked up once each as events need them."""

    class Names(dict):
        def __missing__(self, key: int | None) -> str:
            user = session.get(User, key) if key is not None else None
            self[key] = (user.name or user.email) if user else "(deleted user)"
            return self[key]

    return Names()


def _work(session: Session, annotation: Annotation, names: dict) -> list[Event]:
    """Submitted, updated, skipped, deleted: each kept version is a state the annotation had
    as of its time, the row itself the latest one."""
    who = names[annotation.user_id]
    versions = session.exec(
        select(AnnotationVersion).where(AnnotationVersion.annotation_id == annotation.id).order_by(col(AnnotationVersion.id))
    ).all()
    states = [(v.state, v.created_at) for v in versions]
    current_at = annotation.updated_at
    if annotation.state == AnnotationState.SUBMITTED and not any(s == AnnotationState.SUBMITTED for s, _ in states):
        current_at = annotation.submitted_at or annotation.updated_at  # a reviewer's fix moves updated_at
    states.append((annotation.state, current_at))
    events = []
    submitted = False
    for state, at in states:
        if state == AnnotationState.SUBMITTED:
            events.append(Event(at, who, "updated their answer" if submitted else "submitted an answer", about_user=annotation.user_id))
            submitted = True
        elif state == AnnotationState.SKIPPED:
            events.append(Event(at, who, "skipped the task", about_user=annotation.user_id))
        elif state == AnnotationState.DRAFT and (state, at) == states[-1]:
            events.append(Event(at, who, "saved a draft", about_user=annotation.user_id))
    if annotation.deleted_at is not None:
        events.append(Event(annotation.deleted_at, names[annotation.deleted_by], f"deleted {who}'s answer", about_user=annotation.user_id))
    return events


def _reviews(session: Session, annotations: list[Annotation], names: dict) -> list[Event]:
    by_id = {a.id: a for a in annotations}
    if not by_id:
        return []
    rows = session.exec(select(Review).where(col(Review.annotation_id).in_(list(by_id)))).all()
    return [
        Event(
            r.created_at, names[r.reviewer_id],
            f"{_REVIEWED.get(r.action, r.action)} {names[by_id[r.annotation_id].user_id]}'s answer",
            r.comment, about_user=by_id[r.annotation_id].user_id,
        )
        for r in rows
    ]


def _comments(session: Session, task_id: int, names: dict) -> list[Event]:
    rows = session.exec(select(Comment).where(Comment.task_id == task_id)).all()
    return [Event(c.created_at, names[c.user_id], "commented", c.text) for c in rows]


def _assignments(session: Session, task_id: int, names: dict) -> list[Event]:
    rows = session.exec(select(TaskAssignment).where(TaskAssignment.task_id == task_id)).all()
    return [
        Event(a.created_at, names[a.assigned_by] if a.assigned_by else "", f"assigned the task to {names[a.user_id]}", about_user=a.user_id)
        for a in rows
    ]


def _claims(session: Session, task_id: int, names: dict) -> list[Event]:
    """Who holds the task now (a lock; a claim leaves no other trace once it ends)."""
    ttl = queue.lock_ttl()
    rows = session.exec(select(TaskLock).where(TaskLock.task_id == task_id)).all()
    return [
        Event(lock.expires_at - ttl, names[lock.user_id], "claimed the task", f"held until {lock.expires_at:%H:%M}",
              about_user=lock.user_id)
        for lock in rows
    ]


def _audited(
    session: Session, task_id: int, project_id: int, since: datetime, annotations: list[Annotation], names: dict
) -> list[Event]:
    by_target = {f"annotation:{a.id}": a for a in annotations}
    targets = [f"task:{task_id}", *by_target]
    rows = session.exec(
        select(AuditEvent).where(
            AuditEvent.at >= since,
            col(AuditEvent.action).in_(list(_AUDITED)),
            # by target (indexed); a bulk "mark gold" names its project and lists its tasks
            col(AuditEvent.target).in_([*targets, f"project:{project_id}"]),
        )
    ).all()
    events = []
    for e in rows:
        if e.target == f"project:{project_id}" and (e.action != "task.gold" or task_id not in ((e.detail or {}).get("tasks") or [])):
            continue
        annotation = by_target.get(e.target)
        whose = f"{names[annotation.user_id]}'s" if annotation else "the"
        about = annotation.user_id if annotation else (e.detail or {}).get("user")
        events.append(Event(e.at, names[e.actor_id] if e.actor_id else "system", _AUDITED[e.action].format(whose=whose), about_user=about))
    return events
