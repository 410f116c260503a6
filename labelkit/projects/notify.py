"""Notifications inside the app: work sent back, a fix, a new assignment, a mention.

`send` is called by other services (review, assign, comments); it checks nothing itself, since
the caller has already decided who should hear about what. Reading and marking are a person's
own: nobody reads another's inbox.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, col, func, select, update

from labelkit.models import Notification, User, utcnow

KINDS = ("rejected", "fixed", "assigned", "mention", "comment", "review", "paused")
TEXT_LIMIT = 2000


def _send(
    session: Session,
    user_id: int,
    kind: str,
    text: str,
    project_id: int | None = None,
    task_id: int | None = None,
) -> Notification:
    """Leave a note in `user_id`'s inbox (flushed, not committed: the caller's transaction)."""
    text = (text or "").strip()
    if len(text) > TEXT_LIMIT:
        text = text[: TEXT_LIMIT - 1] + "…"
    note = Notification(user_id=user_id, kind=kind[:30], text=text, project_id=project_id, task_id=task_id)
    session.add(note)
    session.flush()
    return note


def unread(session: Session, actor: User, limit: int = 50) -> list[Notification]:
    """The actor's unread notifications, newest first."""
    return list(
        session.exec(
            select(Notification)
            .where(Notification.user_id == actor.id, Notification.read_at.is_(None))
            .order_by(col(Notification.id).desc())
            .limit(limit)
        ).all()
    )


def recent(session: Session, actor: User, limit: int = 100) -> list[Notification]:
    """The actor's notifications, read or not, newest first."""
    return list(
        session.exec(
            select(Notification)
            .where(Notification.user_id == actor.id)
            .order_by(col(Notification.id).desc())
            .limit(limit)
        ).all()
    )


def count_unread(session: Session, actor: User) -> int:
    return session.exec(
        select(func.count(Notification.id)).where(Notification.user_id == actor.id, Notification.read_at.is_(None))
    ).one()


def mark_read(session: Session, actor: User, ids: Iterable[int] | None = None, task_id: int | None = None) -> int:
    """Mark the actor's own notifications read: those `ids` (or those about `task_id`), or all
    of them when neither is given. Ids of someone else's notifications are ignored (never marked)."""
    query = update(Notification).where(Notification.user_id == actor.id, Notification.read_at.is_(None))
    if task_id is not None:
        query = query.where(Notification.task_id == task_id)
    if ids is not None:
        wanted = [int(i) for i in ids]
        if not wanted:
            return 0
        query = query.where(col(Notification.id).in_(wanted))
    result = session.exec(query.values(read_at=utcnow()))  # type: ignore[call-overload]
    session.flush()
    return result.rowcount or 0
