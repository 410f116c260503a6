"""Browser sessions, one-time sign-in tickets, personal access tokens (and the tokens of
password-reset links, labelkit.auth.reset).

A password sign-in happens in the Streamlit script, which cannot set cookies: it issues
a ticket that lives for two minutes, and the browser takes it to /session/start, which
trades it for a session cookie. The ticket is bound to the browser that signed in: it is
redeemed only with a key that browser holds in a cookie, so a sign-in link opened in
someone else's browser signs nobody in there. Only token hashes are stored."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from enum import StrEnum
from typing import NamedTuple

from sqlalchemy import update
from sqlmodel import Session, select

from labelkit import audit
from labelkit.auth import crypto
from labelkit.errors import Conflict, InvalidInput, NotFound
from labelkit.models import AuthToken, User, utcnow
from labelkit.settings import get_settings

TICKET_SECONDS = 120
SESSION_COOKIE = "labelkit_session"
SIGNIN_COOKIE = "labelkit_signin"  # the browser key of a sign-in ticket, for /session/start only


class TokenKind(StrEnum):
    TICKET = "ticket"
    SESSION = "session"
    API = "api"
    RESET = "reset"  # a one-time password-reset link (labelkit.auth.reset)


class SigninTicket(NamedTuple):
    ticket: str  # goes in the /session/start link
    browser_key: str  # goes in the SIGNIN_COOKIE of the browser that signed in, never in a link


def _issue(session: Session, user: User, kind: TokenKind, lifetime: timedelta | None, name: str = "",
           bound_to: str = "") -> str:
    """A new token; its stored hash covers `bound_to` too, which a look-up must then bring."""
    token = crypto.new_token()
    session.add(
        AuthToken(
            user_id=user.id,
            kind=kind,
            token_hash=crypto.token_hash(_bound(token, bound_to)),
            name=name,
            expires_at=utcnow() + lifetime if lifetime else None,
        )
    )
    session.flush()
    return token


def _bound(token: str, bound_to: str) -> str:
    return f"{token}.{bound_to}" if bound_to else token


def _live_token(session: Session, token: str | None, kind: TokenKind, bound_to: str = "") -> tuple[AuthToken, User] | None:
    if not token:
        return None
    row = session.exec(
        select(AuthToken, User)
        .join(User, User.id == AuthToken.user_id)
        .where(AuthToken.token_hash == crypto.token_hash(_bound(token, bound_to)), AuthToken.kind == kind)
    ).first()
    if row is None:
        return None
    record, user = row
    if record.revoked_at or (record.expires_at and record.expires_at <= utcnow()) or not user.is_active:
        return None
    if kind != TokenKind.API and user.sessions_ended_at and record.created_at <= user.sessions_ended_at:
        return None
    return record, user


def revoke_all(session: Session, user: User, *, api_tokens: bool) -> int:
    """End every browser session and sign-in ticket of a user (and their API tokens when
    asked); identity-provider sessions end through user.sessions_ended_at. Returns how
    many browser sessions were open."""
    kinds = [TokenKind.SESSION, TokenKind.TICKET] + ([TokenKind.API] if api_tokens else [])
    now = utcnow()
    ended = 0
    for token in session.exec(
        select(AuthToken).where(
            AuthToken.user_id == user.id, AuthToken.revoked_at.is_(None), AuthToken.kind.in_(kinds)
        )
    ):
        token.revoked_at = now
        session.add(token)
        ended += token.kind == TokenKind.SESSION
    user.sessions_ended_at = now
    session.add(user)
    session.flush()
    return ended


class SignedInAsAnother(Conflict):
    """The browser already has a live session of another account: not replaced silently."""


def issue_signin_ticket(session: Session, user: User) -> SigninTicket:
    browser_key = crypto.new_token()
    ticket = _issue(session, user, TokenKind.TICKET, timedelta(seconds=TICKET_SECONDS), bound_to=browser_key)
    return SigninTicket(ticket, browser_key)


def redeem_signin_ticket(session: Session, ticket: str, browser_key: str | None,
                         current_session: str | None = None) -> tuple[str, int]:
    """Trade a ticket (once, and only with the key of the browser it was issued to) for a
    browser session; returns (session token, max age in seconds). `current_session` is the
    browser's session cookie: another account's live session there is not replaced."""
    found = _live_token(session, ticket, TokenKind.TICKET, bound_to=browser_key) if browser_key else None
    if found is not None and (current := user_for_session(session, current_session)) and current.id != found[1].id:
        raise SignedInAsAnother("This browser is signed in to another account. Sign out first, then sign in again.")
    # Used up in one statement that only one request can win: the same ticket brought to two
    # servers (or threads) at once must not open two sessions.
    won = found is not None and session.execute(
        update(AuthToken).where(AuthToken.id == found[0].id, AuthToken.revoked_at.is_(None)).values(revoked_at=utcnow())
    ).rowcount == 1
    if not won:
        raise InvalidInput("This sign-in link has expired or was already used. Please sign in again.")
    _, user = found
    lifetime = timedelta(days=get_settings().session_days)
    user.last_seen_at = utcnow()
    session.add(user)
    audit.record(session, user, "user.signin", f"user:{user.id}", method="password")
    return _issue(session, user, TokenKind.SESSION, lifetime), int(lifetime.total_seconds())


def user_for_session(session: Session, token: str | None) -> User | None:
    found = _live_token(session, token, TokenKind.SESSION)
    return found[1] if found else None


def sign_out_proof(token: str) -> str:
    """What a sign-out must carry besides the session cookie: derived from the session token,
    which other sites cannot read, so they cannot sign a browser out."""
    return hmac.new(token.encode(), b"labelkit sign-out", hashlib.sha256).hexdigest()


def end_session(session: Session, token: str | None, proof: str | None) -> bool:
    """End a browser session when `proof` is its sign_out_proof; whether it ended."""
    if not token or not proof or not hmac.compare_digest(sign_out_proof(token), proof):
        return False
    found = _live_token(session, token, TokenKind.SESSION)
    if found:
        found[0].revoked_at = utcnow()
        session.add(found[0])
    return True


def create_api_token(session: Session, user: User, name: str = "") -> str:
    token = _issue(session, user, TokenKind.API, None, name=name or "API token")
    audit.record(session, user, "token.create", f"user:{user.id}", name=name)
    return token


def user_for_api_token(session: Session, token: str | None) -> User | None:
    found = _live_token(session, token, TokenKind.API)
    if not found:
        return None
    record, user = found
    record.last_used_at = utcnow()
    session.add(record)
    return user


def list_api_tokens(session: Session, user: User) -> list[AuthToken]:
    return list(
        session.exec(
            select(AuthToken).where(
                AuthToken.user_id == user.id, AuthToken.kind == TokenKind.API, AuthToken.revoked_at.is_(None)
            )
        ).all()
    )


def revoke_api_token(session: Session, user: User, token_id: int) -> None:
    record = session.get(AuthToken, token_id)
    if record is None or record.user_id != user.id or record.kind != TokenKind.API:
        raise NotFound("There is no such token.")
    record.revoked_at = utcnow()
    session.add(record)
    audit.record(session, user, "token.revoke", f"user:{user.id}", token=token_id)
