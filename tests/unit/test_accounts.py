"""Accounts, passwords, sessions and tokens."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from labelkit.auth import accounts, sessions
from labelkit.db import session_scope
from labelkit.errors import Conflict, InvalidInput, PermissionDenied
from labelkit.models import AuthToken, Role, User, utcnow


def test_passwords_are_stored_as_argon2_hashes(factory) -> None:
    user = factory.user(password="correct horse battery")
    with session_scope() as s:
        stored = s.get(User, user.id).password_hash
    assert stored.startswith("$argon2")
    assert "correct horse battery" not in stored


def test_a_real_portal_hashes_at_argon2s_recommended_cost_and_refuses_the_test_shortcut(monkeypatch) -> None:
    """The tests hash cheaply (LABELKIT_TEST_CHEAP_PASSWORD_HASHES); a portal without that
    setting uses argon2id's recommended parameters, and production refuses the setting."""
    from pydantic import ValidationError

    from labelkit.auth import crypto
    from labelkit.settings import Settings, get_settings

    monkeypatch.delenv("LABELKIT_TEST_CHEAP_PASSWORD_HASHES", raising=False)
    get_settings.cache_clear()
    try:
        stored = crypto.hash_password("correct horse battery")
    finally:
        get_settings.cache_clear()
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$"), stored
    assert crypto.verify_password(stored, "correct horse battery")
    with pytest.raises(ValidationError, match="refused in production"):
        Settings(env="production", secret_key="x" * 40, test_cheap_password_hashes=True)


def test_wrong_password_and_unknown_email_get_the_same_refusal(factory) -> None:
    factory.user(email="ann@example.com", password="correct horse battery")
    messages = []
    for email, password in [("ann@example.com", "wrong password!"), ("nobody@example.com", "correct horse battery")]:
        with session_scope() as s, pytest.raises(InvalidInput) as refused:
            accounts.authenticate(s, email, password)
        messages.append(str(refused.value))
    assert messages[0] == messages[1] == "Wrong email or password."
    with session_scope() as s:
        assert accounts.authenticate(s, "ANN@example.com ", "correct horse battery").email == "ann@example.com"


def test_short_passwords_and_duplicate_emails_are_refused(factory) -> None:
    factory.user(email="dup@example.com")
    with session_scope() as s, pytest.raises(InvalidInput, match="at least 8"):
        accounts.create_user(s, "new@example.com", password="short")
    with session_scope() as s, pytest.raises(Conflict, match="already exists"):
        accounts.create_user(s, "Dup@Example.com", password="long enough pw")
    with session_scope() as s, pytest.raises(InvalidInput, match="not an email"):
        accounts.create_user(s, "not-an-email", password="long enough pw")


def test_a_signin_ticket_gives_one_session_and_only_once(factory) -> None:
    user = factory.user()
    with session_scope() as s:
        ticket = sessions.issue_signin_ticket(s, user)
    with session_scope() as s:
        token, max_age = sessions.redeem_signin_ticket(s, *ticket)
    assert max_age == 14 * 86400
    with session_scope() as s:
        assert sessions.user_for_session(s, token).id == user.id
        with pytest.raises(InvalidInput, match="expired or was already used"):
            sessions.redeem_signin_ticket(s, *ticket)
    with session_scope() as s:
        stored = [t.token_hash for t in s.exec(select(AuthToken)).all()]
    assert ticket.ticket not in stored and token not in stored


def test_an_expired_ticket_is_refused(factory) -> None:
    user = factory.user()
    with session_scope() as s:
        ticket = sessions.issue_signin_ticket(s, user)
        for row in s.exec(select(AuthToken)).all():
            row.expires_at = utcnow() - timedelta(seconds=1)
            s.add(row)
    with session_scope() as s, pytest.raises(InvalidInput):
        sessions.redeem_signin_ticket(s, *ticket)


def test_signing_out_ends_the_session(factory) -> None:
    user = factory.user()
    with session_scope() as s:
        token, _ = sessions.redeem_signin_ticket(s, *sessions.issue_signin_ticket(s, user))
    with session_scope() as s:
        assert not sessions.end_session(s, token, "a guess")  # not without the proof
    with session_scope() as s:
        assert sessions.user_for_session(s, token).id == user.id
        assert sessions.end_session(s, token, sessions.sign_out_proof(token))
    with session_scope() as s:
        assert sessions.user_for_session(s, token) is None
        assert sessions.user_for_session(s, "forged-token") is None


def test_deactivating_a_user_ends_their_sessions_and_tokens_and_sign_in(factory) -> None:
    admin = factory.user(Role.ADMIN)
    user = factory.user(email="leaver@example.com", password="correct horse battery")
    with session_scope() as s:
        token, _ = sessions.redeem_signin_ticket(s, *sessions.issue_signin_ticket(s, user))
        api = sessions.create_api_token(s, user, "script")
    with session_scope() as s:
        accounts.set_active(s, admin, user.id, False)
    with session_scope() as s:
        assert sessions.user_for_session(s, token) is None
        assert sessions.user_for_api_token(s, api) is None
        with pytest.raises(PermissionDenied, match="deactivated"):
            accounts.authenticate(s, "leaver@example.com", "correct horse battery")


def test_api_tokens_act_as_their_user_until_revoked(factory) -> None:
    user = factory.user()
    with session_scope() as s:
        token = sessions.create_api_token(s, user, "nightly export")
    with session_scope() as s:
        assert sessions.user_for_api_token(s, token).id == user.id
        (listed,) = sessions.list_api_tokens(s, user)
        sessions.revoke_api_token(s, user, listed.id)
    with session_scope() as s:
        assert sessions.user_for_api_token(s, token) is None


def test_the_last_admin_cannot_be_demoted_or_deactivated(factory) -> None:
    admin = factory.user(Role.ADMIN)
    other = factory.user(Role.ANNOTATOR)
    with session_scope() as s, pytest.raises(Conflict, match="last admin"):
        accounts.set_role(s, admin, admin.id, Role.MANAGER)
    with session_scope() as s, pytest.raises(Conflict):
        accounts.set_active(s, admin, admin.id, False)
    with session_scope() as s:
        accounts.set_role(s, admin, other.id, Role.ADMIN)
    with session_scope() as s:
        accounts.set_role(s, admin, admin.id, Role.MANAGER)
        assert s.get(User, admin.id).role == Role.MANAGER


def test_only_admins_manage_users(factory) -> None:
    manager = factory.user(Role.MANAGER)
    other = factory.user(Role.ANNOTATOR)
    with session_scope() as s, pytest.raises(PermissionDenied, match="admin role"):
        accounts.set_role(s, manager, other.id, Role.ADMIN)
    with session_scope() as s, pytest.raises(PermissionDenied):
        accounts.list_users(s, manager)


def test_the_first_admin_comes_from_the_environment_once(settings, monkeypatch) -> None:
    monkeypatch.setattr(settings, "admin_email", "boss@example.com")
    monkeypatch.setattr(settings, "admin_password", "boss password!")
    with session_scope() as s:
        created = accounts.ensure_first_admin(s, settings)
    assert created.role == Role.ADMIN
    with session_scope() as s:
        assert accounts.ensure_first_admin(s, settings) is None
        assert accounts.authenticate(s, "boss@example.com", "boss password!").id == created.id


def test_open_signup_only_for_listed_domains(settings, monkeypatch) -> None:
    with session_scope() as s, pytest.raises(PermissionDenied, match="invitation only"):
        accounts.sign_up_open(s, "x@acme.com", "X", "long password")
    monkeypatch.setattr(settings, "open_signup_domains", ["acme.com"])
    with session_scope() as s:
        user = accounts.sign_up_open(s, "x@acme.com", "X", "long password")
    assert user.role == Role.ANNOTATOR
    with session_scope() as s, pytest.raises(PermissionDenied):
        accounts.sign_up_open(s, "y@other.com", "Y", "long password")
