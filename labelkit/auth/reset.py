"""Password-reset links: an admin issues one for an account; it works once, for
LABELKIT_RESET_HOURS, and setting the new password ends the account's other sessions.

The token is 256 random bits kept only as its SHA-256 hash (an auth_tokens row of kind
"reset"); a new link voids the account's earlier ones. Links are for password accounts
that are active: a deactivated account is reactivated first, and an account that signs in
only through the identity provider has no password here to reset."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from sqlalchemy import update
from sqlmodel import Session, select

from labelkit import audit
from labelkit.auth import crypto, ratelimit, sessions
from labelkit.auth.accounts import get_user
from labelkit.auth.permissions import Capability, require
from labelkit.auth.sessions import TokenKind
from labelkit.errors import Conflict, InvalidInput
from labelkit.models import AuthToken, User, utcnow
from labelkit.settings import get_settings

EXPIRED = "This password reset link has expired or was already used. Ask an admin for a new one."


@dataclass
class ResetLink:
    """A new link's token (shown or mailed once, never stored) and whom it is for."""

    token: str
    email: str
    expires_at: datetime


def reset_path(token: str) -> str:
    return "/?" + urlencode({"reset": token})


def issue_reset_link(session: Session, actor: User, user_id: int) -> ResetLink:
    """An admin's one-time link for the account to set a new password."""
    require(session, actor, Capability.USER_MANAGE)
    user = get_user(session, user_id)
    if not user.is_active:
        raise Conflict(f"{user.email} is deactivated: reactivate the account first, then send a reset link.")
    if not user.password_hash:
        raise Conflict(
            f"{user.email} signs in through the identity provider and has no password here: "
            "their password is reset at the provider."
        )
    _void_open_links(session, user)
    hours = get_settings().reset_hours
    token = sessions._issue(session, user, TokenKind.RESET, timedelta(hours=hours), name="password reset")
    audit.record(session, actor, "user.reset_link", f"user:{user.id}", email=user.email, hours=hours)
    return ResetLink(token, user.email, utcnow() + timedelta(hours=hours))


def _void_open_links(session: Session, user: User) -> None:
    for row in session.exec(
        select(AuthToken).where(AuthToken.user_id == user.id, AuthToken.kind == TokenKind.RESET, AuthToken.revoked_at.is_(None))
    ):
        row.revoked_at = utcnow()
        session.add(row)


def describe_reset_link(session: Session, token: str | None) -> str:
    """The email of the account the link is for, or InvalidInput saying it cannot be used."""
    found = sessions._live_token(session, token, TokenKind.RESET)
    if found is None or not found[1].password_hash:
        raise InvalidInput(EXPIRED)
    return found[1].email


def reset_password(session: Session, token: str | None, new_password: str) -> User:
    """Set the new password through the link (once), end the account's other sessions and
    clear its failed sign-ins. A refused password uses up nothing."""
    found = sessions._live_token(session, token, TokenKind.RESET)
    if found is None or not found[1].password_hash:
        raise InvalidInput(EXPIRED)
    if problem := crypto.password_problem(new_password or ""):
        raise InvalidInput(problem)
    record, user = found
    # Used up in one statement only one request can win: the link opened twice at once
    # sets one password.
    won = session.execute(
        update(AuthToken).where(AuthToken.id == record.id, AuthToken.revoked_at.is_(None)).values(revoked_at=utcnow())
    ).rowcount == 1
    if not won:
        raise InvalidInput(EXPIRED)
    user.password_hash = crypto.hash_password(new_password)
    session.add(user)
    ended = sessions.revoke_all(session, user, api_tokens=False)
    ratelimit.clear(session, user.email)
    audit.record(session, user, "user.password_reset", f"user:{user.id}", email=user.email, sessions=ended)
    return user
