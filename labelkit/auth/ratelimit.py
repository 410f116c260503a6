"""Limits on password guessing: failed checks are counted per account (the email as typed)
and per address, in the database, so every app server sees the same counts.

Past the limit a sign-in is refused before the password is looked at; a success clears
the account's count. Rows older than the window are purged as new ones are written."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from ipaddress import ip_address, ip_network

from sqlmodel import Session, col, delete, select

from labelkit.errors import PermissionDenied
from labelkit.models import SigninFailure, utcnow
from labelkit.settings import get_settings


class TooManyFailures(PermissionDenied):
    """Refused without checking the password: too many recent failures."""


def _email_key(email: str | None) -> str:
    return (email or "").strip().lower()[:320]


def _window() -> timedelta:
    return timedelta(minutes=get_settings().signin_window_minutes)


def _blocked_until(session: Session, column, value: str, limit: int) -> datetime | None:
    """When the limit-th most recent failure leaves the window, if there are that many."""
    if limit < 1:
        return None
    since = utcnow() - _window()
    recent = session.exec(
        select(SigninFailure.at)
        .where(column == value, SigninFailure.at > since)
        .order_by(col(SigninFailure.at).desc())
        .offset(limit - 1)
        .limit(1)
    ).first()
    return recent + _window() if recent is not None else None


def _refusal(until: datetime, where: str) -> TooManyFailures:
    minutes = max(1, math.ceil((until - utcnow()).total_seconds() / 60))
    return TooManyFailures(
        f"Too many failed sign-ins{where}; try again in {minutes} minute{'s' if minutes != 1 else ''}."
    )


def refuse_if_limited(session: Session, email: str | None, address: str | None) -> None:
    """Raise TooManyFailures when the account or the address is past its limit."""
    settings = get_settings()
    until = _blocked_until(session, SigninFailure.email, _email_key(email), settings.signin_max_failures)
    if until is not None:
        raise _refusal(until, "")
    if address:
        until = _blocked_until(session, SigninFailure.address, address, settings.signin_max_failures_per_address)
        if until is not None:
            raise _refusal(until, " from your network")


def record_failure(session: Session, email: str | None, address: str | None) -> None:
    session.add(SigninFailure(email=_email_key(email), address=(address or None) and address[:64]))
    purge(session)


def clear(session: Session, email: str | None) -> None:
    """A successful sign-in: the account's failures are forgotten."""
    session.exec(delete(SigninFailure).where(SigninFailure.email == _email_key(email)))


def purge(session: Session) -> int:
    """Forget failures older than the window; returns how many went."""
    result = session.exec(delete(SigninFailure).where(SigninFailure.at <= utcnow() - _window()))
    return result.rowcount or 0


def client_address(peer: str | None, forwarded_for: str | None) -> str | None:
    """The browser's address: the connection's peer, or, when the peer is one of
    LABELKIT_TRUSTED_PROXIES, the nearest untrusted address in its X-Forwarded-For."""
    trusted = [ip_network(p, strict=False) for p in get_settings().trusted_proxies]

    def is_trusted(address: str) -> bool:
        try:
            parsed = ip_address(address)
        except ValueError:
            return False
        return any(parsed in network for network in trusted)

    if not peer or not forwarded_for or not is_trusted(peer):
        return peer
    # Each proxy appends the address it heard from: read from the right, past our own proxies.
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not is_trusted(hop):
            try:
                return str(ip_address(hop))
            except ValueError:
                return peer  # a forged or garbled entry: fall back to the proxy's own address
    return hops[0] if hops else peer
