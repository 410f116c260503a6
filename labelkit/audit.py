"""The audit log: every admin action (invites, roles, deletions, exports) writes an event."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from labelkit.auth.permissions import Capability, require
from labelkit.models import AuditEvent, User


def record(
    session: Session,
    actor: User | None,
    action: str,
    target: str = "",
    project_id: int | None = None,
    **detail: Any,
) -> AuditEvent:
    event = AuditEvent(
        actor_id=actor.id if actor else None, action=action, target=target, project_id=project_id, detail=detail
    )
    session.add(event)
    return event


def recent_events(session: Session, actor: User, limit: int = 200, action: str | None = None) -> list[dict]:
    require(session, actor, Capability.AUDIT_VIEW)
    query = (
        select(AuditEvent, User.email)
        .join(User, User.id == AuditEvent.actor_id, isouter=True)
        .order_by(col(AuditEvent.id).desc())
        .limit(limit)
    )
    if action:
        query = query.where(AuditEvent.action == action)
    return [
        {
            "when": event.at,
            "who": email or "system",
            "action": event.action,
            "target": event.target,
            "project": event.project_id,
            "detail": event.detail,
        }
        for event, email in session.exec(query).all()
    ]
