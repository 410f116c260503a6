"""Limits on password guessing, counted in the database so every app server sees the same.

Per account (the email as typed), known or not: a few checks are free, then each needs a
wait after the last failure that doubles with every failure in the window, so guessing
slows to a crawl while the owner, who knows the password, waits seconds rather than being
locked out for the window. Per address: a hard limit for the window. A check is counted
before the password is looked at (a failure until a success clears the account's count),
one account at a time across servers, so concurrent guesses cannot slip past the limit.
Rows older than the window are purged as new ones are written."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from ipaddress import ip_address, ip_network

from sqlmodel import Session, col, delete, func, select

from labelkit.db import is_sqlite
from labelkit.errors import PermissionDenied
from labelkit.models import SigninFailure, utcnow
from labelkit.settings import get_settings

ACCOUNT_LOCK = 0x6C6B_7369  # "lksi": advisory lock keys (this, hash of the email) on PostgreSQL


class TooManyFailures(PermissionDenied):
    """Refused without checking the password: too many recent failures."""


def _email_key(email: str | None) -> str:
    return (email or "").strip().lower()[:320]


def _window() -> timedelta:
    return timedelta(minutes=get_settings().signin_window_minutes)


def _account_open_at(session: Session, email: str, now: datetime) -> datetime | None:
    """When the account may be tried again, if not now: past the free checks, 2 seconds after
    the last failure, doubling with each further failure, at most the window."""
    free = get_settings().signin_max_failures
    if free < 1:
        return None
    failures, last = session.exec(
        select(func.count(SigninFailure.id), func.max(SigninFailure.at))
        .where(SigninFailure.email == email, SigninFailure.at > now - _window())
    ).one()
    if failures < free:
        return None
    wait = min(timedelta(seconds=2 ** min(failures - free + 1, 30)), _window())
    return last + wait if last + wait > now else None


def _address_open_at(session: Session, address: str, now: datetime) -> datetime | None:
    """When the limit-th most recent failure from this address leaves the window, if there are that many."""
    limit = get_settings().signin_max_failures_per_address
    if limit < 1:
        return None
    recent = session.exec(
        select(SigninFailure.at)
        .where(SigninFailure.address == address, SigninFailure.at > now - _window())
        .order_by(col(SigninFailure.at).desc())
        .offset(limit - 1)
        .limit(1)
    ).first()
    return recent + _window() if recent is not None else None


def _refusal(until: datetime, now: datetime, where: str) -> TooManyFailures:
    seconds = max(1, math.ceil((until - now).total_seconds()))
    amount, unit = (seconds, "second") if seconds < 60 else (math.ceil(seconds / 60), "minute")
    return TooManyFailures(f"Too many failed sign-ins{where}; try again in {amount} {unit}{'s' if amount != 1 else ''}.")


def take_attempt(session: Session, email: str | None, address: str | None) -> None:
    """Refuse a password check (TooManyFailures) or count it, as a failure until clear(),
    and commit that. Checks of one account take turns across servers (an advisory lock on
    PostgreSQL; SQLite has one writer at a time), so each sees the ones before it. Call it
    before any other write in the session's transaction."""
    key = _email_key(email)
    if not is_sqlite(session):
        session.execute(select(func.pg_advisory_xact_lock(ACCOUNT_LOCK, func.hashtext(key))))
    now = utcnow()
    until = _account_open_at(session, key, now)
    if until is not None:
        raise _refusal(until, now, "")
    until = _address_open_at(session, address, now) if address else None
    if until is not None:
        raise _refusal(until, now, " from your network")
    session.add(SigninFailure(email=key, address=(address or None) and address[:64], at=now))
    purge(session)
    session.commit()


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
