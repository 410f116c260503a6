"""Map an identity from an OIDC provider (st.user's claims) to a labelkit account."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from labelkit import audit
from labelkit.auth import invites
from labelkit.auth.accounts import create_user, find_user
from labelkit.auth.permissions import is_machine
from labelkit.errors import InvalidInput, PermissionDenied
from labelkit.models import Identity, User, utcnow
from labelkit.settings import get_settings


class NoAccount(PermissionDenied):
    """A valid identity that has no account here and brought no invite."""


def _claim(claims: Mapping[str, Any], key: str) -> str:
    value = claims.get(key)
    return str(value).strip() if value not in (None, "") else ""


def _trusted_email(claims: Mapping[str, Any]) -> str | None:
    email = _claim(claims, "email").lower()
    if not email:
        return None
    verified = claims.get("email_verified")
    if verified in (True, "true", "True", 1) or get_settings().trust_unverified_oidc_email:
        return email
    return None


def resolve_identity(session: Session, claims: Mapping[str, Any], invite_token: str | None = None) -> User:
    """The account for this identity: linked before, matched by a verified email, created
    through an invite, or opened by an allowed domain. Otherwise NoAccount. An invite for
    someone who already has an account is accepted separately (invites.accept_invite)."""
    issuer, subject = _claim(claims, "iss"), _claim(claims, "sub")
    if not issuer or not subject:
        raise InvalidInput("The identity provider did not say who you are (no 'iss' or 'sub' claim).")
    provider = _claim(claims, "provider")
    linked = session.exec(
        select(User).join(Identity, Identity.user_id == User.id).where(
            Identity.issuer == issuer, Identity.subject == subject
        )
    ).first()
    email = _trusted_email(claims)
    name = _claim(claims, "name")

    user = linked
    if user is None and email:
        user = find_user(session, email)
    if user is not None and is_machine(user):  # a model server's account never signs in
        user = None
    if user is None and invite_token:
        if not email:
            raise InvalidInput(
                "Your identity provider did not confirm your email address, so the invite cannot be matched to you."
            )
        user = invites.create_account(session, invite_token, email, name)
    if user is None and email and email.split("@", 1)[1] in get_settings().open_signup_domains:
        user = create_user(session, email, name=name)
    if user is None:
        shown = _claim(claims, "email") or subject
        raise NoAccount(
            f"You are signed in as {shown}, but there is no labelkit account for you. "
            "Ask your admin for an invite link, then open it."
        )
    if not user.is_active:
        raise PermissionDenied("This account is deactivated. Ask an admin to reactivate it.")
    check_identity_session(user, claims)
    if linked is None:
        session.add(Identity(user_id=user.id, provider=provider, issuer=issuer, subject=subject, email=email or ""))
        audit.record(session, user, "identity.link", f"user:{user.id}", issuer=issuer, provider=provider)
    user.last_seen_at = utcnow()
    session.add(user)
    session.flush()
    return user


class SessionOver(PermissionDenied):
    """The identity provider's sign-in is older than labelkit accepts: sign in again."""


def check_identity_session(user: User, claims: Mapping[str, Any]) -> None:
    """An identity-provider session lasts LABELKIT_SESSION_DAYS from its sign-in (the ID
    token's iat) and ends when an admin ends the user's sessions; Streamlit's own cookie
    would last 30 days and cannot be revoked, so labelkit checks its claims each time."""
    if not user.is_active:
        raise PermissionDenied("This account is deactivated. Ask an admin to reactivate it.")
    issued = _issued_at(claims)
    ended = user.sessions_ended_at
    if ended is not None and (issued is None or issued <= ended):
        raise SessionOver("An admin ended your sessions. Sign out, then sign in again.")
    if issued is not None and issued + timedelta(days=get_settings().session_days) <= utcnow():
        raise SessionOver("Your sign-in has expired. Sign out, then sign in again.")


def _issued_at(claims: Mapping[str, Any]) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(claims["iat"]), UTC)
    except (KeyError, TypeError, ValueError, OverflowError):
        return None
