"""The account a model server acts as, so that no person's token ever leaves the portal.

A model server fetches task media (/data/upload/...) and may read tasks and post predictions
through the REST API, with the token it gets on /setup. That token belongs to an account of
the server's own (Role.MODEL_SERVER in labelkit/auth/permissions.py): no password, member of
that one project only, never listed as a person. Re-pointing the server to a new address
revokes its token and gives a new one; removing the server revokes it and closes the account.
A backend kept from before (with a person's token) gets its own account at its next /setup,
and the person's token is revoked."""

from __future__ import annotations

import secrets

from sqlmodel import Session, select

from labelkit.auth import crypto
from labelkit.auth.permissions import is_machine
from labelkit.auth.sessions import create_api_token, revoke_all
from labelkit.models import AuthToken, Membership, MLBackend, Role, User, utcnow

MACHINE_DOMAIN = "model-servers.labelkit.invalid"  # .invalid: no identity provider can vouch for it


def _account_of(session: Session, backend: MLBackend) -> User | None:
    """The backend's own account (the holder of its token); None before it has one, or when
    its token is a person's (a backend connected before model servers had accounts)."""
    token = session.get(AuthToken, backend.access_token_id) if backend.access_token_id else None
    holder = session.get(User, token.user_id) if token is not None else None
    return holder if holder is not None and is_machine(holder) else None


def _new_account(session: Session, backend: MLBackend) -> User:
    account = User(email=f"model-server-{secrets.token_hex(8)}@{MACHINE_DOMAIN}", name=f"Model server {backend.title}"[:200],
                   password_hash=None, role=Role.MODEL_SERVER)
    session.add(account)
    session.flush()
    session.add(Membership(project_id=backend.project_id, user_id=account.id, role=Role.MODEL_SERVER))
    session.flush()
    return account


def _new_token(session: Session, backend: MLBackend) -> tuple[str, int]:
    """A new token of the backend's own account (made on first use): (token, its id)."""
    account = _account_of(session, backend) or _new_account(session, backend)
    token = create_api_token(session, account, f"model server {backend.title}"[:200])
    return token, session.exec(select(AuthToken.id).where(AuthToken.token_hash == crypto.token_hash(token))).one()


def _issue(session: Session, backend: MLBackend) -> int | None:
    """Give the backend a new token of its own account; returns the id of the token it held
    before, for the caller to revoke once the new one is in use."""
    earlier = backend.access_token_id
    token, backend.access_token_id = _new_token(session, backend)
    backend.access_token_encrypted = crypto.encrypt_secret(token)
    session.add(backend)
    session.flush()
    return earlier


def _revoke(session: Session, token_id: int | None) -> None:
    """Revoke a token a backend held (its own account's, or a person's from before)."""
    token = session.get(AuthToken, token_id) if token_id else None
    if token is not None and token.revoked_at is None:
        token.revoked_at = utcnow()
        session.add(token)
        session.flush()


def _live(session: Session, backend: MLBackend) -> bool:
    """Whether the backend holds a working token of its own account."""
    account = _account_of(session, backend)
    token = session.get(AuthToken, backend.access_token_id) if account is not None else None
    return token is not None and token.revoked_at is None and account.is_active and bool(backend.access_token_encrypted)


def _token_for_setup(session: Session, backend: MLBackend) -> str:
    """The token to send on /setup: the backend's own, replaced (and committed, before the
    server can use it) when it has none or still holds a person's token."""
    if backend.id is not None and not _live(session, backend):
        _revoke(session, _issue(session, backend))
        session.commit()
    return crypto.decrypt_secret(backend.access_token_encrypted)


def _close(session: Session, backend: MLBackend) -> None:
    """The backend is removed: its token stops working and its account is closed."""
    account = _account_of(session, backend)
    _revoke(session, backend.access_token_id)
    if account is not None:
        revoke_all(session, account, api_tokens=True)
        account.is_active = False
        session.add(account)
        for membership in session.exec(select(Membership).where(Membership.user_id == account.id)):
            session.delete(membership)
        session.flush()
