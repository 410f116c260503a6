"""Comments on a task: add, list, resolve; @mentions of project members notify them.

Who sees a task's comments is who can see the task: reviewers and managers (every task of
their project), and an annotator who worked on it, holds it or was assigned it. Comment text
is plain text; pages show it as text, never as HTML or Markdown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, exists, select

from labelkit import audit
from labelkit.auth.permissions import Capability, can
from labelkit.errors import InvalidInput, NotFound, PermissionDenied
from labelkit.models import (
    Annotation,
    Comment,
    Membership,
    Project,
    Role,
    Task,
    TaskAssignment,
    TaskLock,
    User,
    utcnow,
)
from labelkit.projects import notify
from labelkit.projects.crud import get_project

TEXT_LIMIT = 5000
# "@ann@example.com" or "@ann" (a name without spaces, or the part of an email before the @).
_MENTION = re.compile(r"(?<![\w.])@([\w.+-]+(?:@[\w-]+(?:\.[\w-]+)+)?)")


@dataclass
class CommentView:
    id: int
    author: str
    author_id: int | None
    text: str
    created_at: datetime
    resolved: bool


@dataclass
class Posted:
    comment: Comment
    mentioned: list[str] = field(default_factory=list)  # emails of the people told
    not_told: list[str] = field(default_factory=list)  # mentioned members who cannot see this task
    unknown: list[str] = field(default_factory=list)  # @names matching no member of the project


def visible_task(session: Session, actor: User, task_id: int, capability: Capability = Capability.TASK_COMMENT) -> tuple[Task, Project]:
    """The task, if the actor holds `capability` in its project and can see it: reviewers and
    managers see every task; an annotator the tasks they worked on, hold or were assigned."""
    task = session.get(Task, task_id)
    if task is None or task.deleted_at is not None:
        raise NotFound(f"There is no task {task_id}.")
    project = get_project(session, actor, task.project_id, capability)
    if not _sees_task(session, actor, task):
        raise PermissionDenied("You can only see the tasks you work on in this project.")
    return task, project


def _sees_task(session: Session, user: User, task: Task) -> bool:
    if can(session, user, Capability.TASK_BROWSE, task.project_id):
        return True
    mine = (
        exists().where(Annotation.task_id == task.id, Annotation.user_id == user.id, Annotation.deleted_at.is_(None)),
        exists().where(TaskLock.task_id == task.id, TaskLock.user_id == user.id),
        exists().where(TaskAssignment.task_id == task.id, TaskAssignment.user_id == user.id),
    )
    return any(session.exec(select(condition)).one() for condition in mine)


def add_comment(session: Session, actor: User, task_id: int, text: str) -> Posted:
    """Post a comment; members it @mentions who can see the task are notified, and so are the
    task's annotators (other than the author)."""
    text = (text or "").strip()
    if not text:
        raise InvalidInput("Write something to comment.")
    if len(text) > TEXT_LIMIT:
        raise InvalidInput(f"A comment is at most {TEXT_LIMIT} characters (this one has {len(text)}).")
    task, project = visible_task(session, actor, task_id)
    comment = Comment(project_id=project.id, task_id=task.id, user_id=actor.id, text=text)
    session.add(comment)
    session.flush()
    posted = Posted(comment)
    who = actor.name or actor.email
    short = text if len(text) <= 200 else text[:199] + "…"
    told: set[int] = {actor.id}
    for name in dict.fromkeys(_MENTION.findall(text)):
        member = _member_named(session, project.id, name)
        if member is None:
            posted.unknown.append(name)
        elif member.id in told:
            continue
        elif _sees_task(session, member, task):
            notify._send(session, member.id, "mention", f"{who} mentioned you on task {task.id}: {short}", project.id, task.id)
            posted.mentioned.append(member.email)
            told.add(member.id)
        else:
            posted.not_told.append(member.email)
    annotators = session.exec(
        select(Annotation.user_id).where(Annotation.task_id == task.id, Annotation.deleted_at.is_(None))
    ).all()
    for user_id in annotators:
        if user_id is not None and user_id not in told:
            notify._send(session, user_id, "comment", f"{who} commented on task {task.id}: {short}", project.id, task.id)
            told.add(user_id)
    audit.record(session, actor, "comment.add", f"comment:{comment.id}", project.id, task=task.id)
    return posted


def _member_named(session: Session, project_id: int, name: str) -> User | None:
    """The project member an @mention names: by email, else by name (spaces ignored), else by
    the part of their email before the @ (case-insensitive; None when it is ambiguous)."""
    members = session.exec(
        select(User).join(Membership, Membership.user_id == User.id)
        .where(Membership.project_id == project_id, Membership.role != Role.MODEL_SERVER)
    ).all()
    wanted = name.lower().rstrip(".")
    for pick in (
        lambda u: u.email.lower() == wanted,
        lambda u: (u.name or "").replace(" ", "").lower() == wanted,
        lambda u: u.email.lower().split("@")[0] == wanted,
    ):
        found = [u for u in members if pick(u)]
        if len(found) == 1:
            return found[0]
    return None


def list_comments(session: Session, actor: User, task_id: int) -> list[CommentView]:
    """A task's comments, oldest first."""
    task, _ = visible_task(session, actor, task_id)
    rows = session.exec(
        select(Comment, User)
        .join(User, User.id == Comment.user_id, isouter=True)
        .where(Comment.task_id == task.id)
        .order_by(col(Comment.created_at), col(Comment.id))
    ).all()
    return [
        CommentView(c.id, (u.name or u.email) if u else "(deleted user)", c.user_id, c.text, c.created_at, c.resolved_at is not None)
        for c, u in rows
    ]


def resolve(session: Session, actor: User, comment_id: int, resolved: bool = True) -> Comment:
    """Mark a comment resolved (or open again): its author, or a reviewer or manager."""
    comment = session.get(Comment, comment_id)
    if comment is None:
        raise NotFound(f"There is no comment {comment_id}.")
    visible_task(session, actor, comment.task_id)
    if comment.user_id != actor.id and not can(session, actor, Capability.ANNOTATION_REVIEW, comment.project_id):
        raise PermissionDenied("Only its author, a reviewer or a manager can resolve a comment.")
    comment.resolved_at = utcnow() if resolved else None
    session.add(comment)
    session.flush()
    return comment
