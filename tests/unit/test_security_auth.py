"""Sign-in and invites under attack: password guessing is limited per account and per
address (counted in the database, so every app server sees it), sessions expire and an
admin can end them, deactivation ends everything, and an invite grants nothing once
tampered with or once its creator can no longer grant its role."""

from __future__ import annotations

import hmac
import statistics
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlmodel import func, select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from labelkit import db as lkdb
from labelkit.auth import accounts, crypto, invites, oidc, ratelimit, sessions
from labelkit.db import session_scope
from labelkit.errors import InvalidInput, PermissionDenied
from labelkit.models import (
    AuditEvent,
    AuthToken,
    Membership,
    Role,
    SigninFailure,
    User,
    utcnow,
)
from labelkit.server import routes

PASSWORD = "correct horse battery"
ISS = "https://id.example.com"


def _sign_in(email: str, password: str, address: str | None = None, engine=None) -> User:
    with session_scope(engine) as s:
        return accounts.authenticate(s, email, password, address)


def _fail(email: str, times: int, address: str | None = None, engine=None) -> None:
    for _ in range(times):
        with pytest.raises(InvalidInput, match="Wrong email or password"):
            _sign_in(email, "wrong password!", address, engine)


def _later(monkeypatch: pytest.MonkeyPatch, module, **delta: float) -> None:
    """The clock of `module` moved forward."""
    now = utcnow()
    monkeypatch.setattr(module, "utcnow", lambda: now + timedelta(**delta))


@pytest.fixture(autouse=True)
def _still_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sign-in limits' clock stands still unless a test moves it (_later), so a wait of
    seconds does not run out while a slow machine works."""
    now = utcnow()
    monkeypatch.setattr(ratelimit, "utcnow", lambda: now)


def _failures() -> int:
    with session_scope() as s:
        return s.exec(select(func.count(SigninFailure.id))).one()


# --- password sign-in limits ------------------------------------------------------------


def test_after_five_failures_an_account_is_refused_without_checking_the_password(factory, monkeypatch) -> None:
    factory.user(email="ann@example.com", password=PASSWORD)
    _fail("ann@example.com", 5, "203.0.113.5")
    checked = []
    real_verify = crypto.verify_password
    monkeypatch.setattr(crypto, "verify_password", lambda *a: checked.append(a) or real_verify(*a))
    with pytest.raises(ratelimit.TooManyFailures) as refused:
        _sign_in("ANN@example.com ", PASSWORD, "198.51.100.9")  # the right password, from elsewhere
    assert str(refused.value) == "Too many failed sign-ins; try again in 2 seconds."
    assert checked == []  # refused before the password was looked at
    assert _failures() == 5  # a refusal is not a failure: waiting it out works


def test_unknown_emails_are_limited_the_same_way(settings) -> None:
    _fail("nobody@example.com", 5)
    with pytest.raises(ratelimit.TooManyFailures, match="Too many failed sign-ins"):
        _sign_in("nobody@example.com", "another guess")


def test_failures_on_two_app_servers_add_up(factory, settings) -> None:
    """Two engines stand for two app servers on one database: nothing is counted in memory."""
    factory.user(email="bo@example.com", password=PASSWORD)
    other_server = lkdb.make_engine(settings.resolved_database_url)
    try:
        _fail("bo@example.com", 3)
        _fail("bo@example.com", 2, engine=other_server)
        with pytest.raises(ratelimit.TooManyFailures):
            _sign_in("bo@example.com", PASSWORD)
        with pytest.raises(ratelimit.TooManyFailures):
            _sign_in("bo@example.com", PASSWORD, engine=other_server)
    finally:
        other_server.dispose()


def test_past_five_failures_each_guess_waits_twice_as_long_and_the_owner_is_not_locked_out(factory, monkeypatch) -> None:
    """Someone who knows an email slows its guessing down; the owner waits seconds, not the window."""
    factory.user(email="cy@example.com", password=PASSWORD)
    _fail("cy@example.com", 5)
    with pytest.raises(ratelimit.TooManyFailures, match="try again in 2 seconds"):
        _sign_in("cy@example.com", PASSWORD)
    _later(monkeypatch, ratelimit, seconds=2.5)
    _fail("cy@example.com", 1)  # the sixth guess: the next waits 4 seconds
    _later(monkeypatch, ratelimit, seconds=5)
    with pytest.raises(ratelimit.TooManyFailures, match=r"try again in [12] seconds?"):
        _sign_in("cy@example.com", PASSWORD)
    _later(monkeypatch, ratelimit, seconds=7)
    assert _sign_in("cy@example.com", PASSWORD).email == "cy@example.com"


def test_the_wait_grows_to_the_window_at_most(factory, monkeypatch) -> None:
    with session_scope() as s:
        for i in range(20):
            s.add(SigninFailure(email="dan@example.com", at=ratelimit.utcnow() - timedelta(seconds=20 - i)))
    with pytest.raises(ratelimit.TooManyFailures, match="try again in 15 minutes"):
        _sign_in("dan@example.com", PASSWORD)


def test_concurrent_guesses_on_two_app_servers_do_not_slip_past_the_limit(factory, settings, monkeypatch) -> None:
    """Twelve guesses at once through two engines (two app servers on one database): five
    passwords are checked, the rest wait; none is checked on a count read before another's."""
    factory.user(email="max@example.com", password=PASSWORD)
    real_verify = crypto.verify_password
    monkeypatch.setattr(crypto, "verify_password", lambda *a: time.sleep(0.2) or real_verify(*a))  # a slow hash
    servers = [lkdb.make_engine(settings.resolved_database_url) for _ in range(2)]
    together = threading.Barrier(12)

    def guess(i: int) -> str:
        together.wait()
        try:
            _sign_in("max@example.com", f"guess {i}!", engine=servers[i % 2])
        except ratelimit.TooManyFailures:
            return "refused"
        except InvalidInput:
            return "wrong"
        return "in"

    try:
        with ThreadPoolExecutor(max_workers=12) as pool:
            outcomes = Counter(pool.map(guess, range(12)))
    finally:
        for engine in servers:
            engine.dispose()
    assert outcomes == {"wrong": 5, "refused": 7}
    assert _failures() == 5


def test_a_success_clears_the_accounts_count(factory) -> None:
    factory.user(email="di@example.com", password=PASSWORD)
    _fail("di@example.com", 4)
    _sign_in("di@example.com", PASSWORD)
    _fail("di@example.com", 4)  # four more are still only wrong passwords
    assert _sign_in("di@example.com", PASSWORD).email == "di@example.com"


def test_an_address_is_limited_across_accounts(factory, settings, monkeypatch) -> None:
    monkeypatch.setattr(settings, "signin_max_failures_per_address", 3)
    factory.user(email="eve@example.com", password=PASSWORD)
    for i in range(3):
        _fail(f"guess{i}@example.com", 1, "203.0.113.7")
    with pytest.raises(ratelimit.TooManyFailures, match="from your network; try again in 15 minutes"):
        _sign_in("eve@example.com", PASSWORD, "203.0.113.7")
    assert _sign_in("eve@example.com", PASSWORD, "198.51.100.1").email == "eve@example.com"


def test_old_failures_are_purged(settings, monkeypatch) -> None:
    with session_scope() as s:
        s.add(SigninFailure(email="old@example.com", address="203.0.113.1", at=utcnow() - timedelta(minutes=16)))
        s.add(SigninFailure(email="old@example.com", address="203.0.113.1", at=utcnow() - timedelta(minutes=14)))
    _fail("new@example.com", 1)
    with session_scope() as s:
        kept = sorted(f.email for f in s.exec(select(SigninFailure)).all())
    assert kept == ["new@example.com", "old@example.com"]


def test_the_current_password_check_is_limited_too(factory) -> None:
    user = factory.user(email="fay@example.com", password=PASSWORD)
    for _ in range(5):
        with session_scope() as s, pytest.raises(InvalidInput, match="current password is wrong"):
            accounts.change_password(s, s.get(User, user.id), "a guess!!", "new password!")
    with session_scope() as s, pytest.raises(ratelimit.TooManyFailures):
        accounts.change_password(s, s.get(User, user.id), PASSWORD, "new password!")
    with session_scope() as s:
        assert crypto.verify_password(s.get(User, user.id).password_hash, PASSWORD)  # unchanged


@pytest.mark.parametrize(
    ("proxies", "peer", "forwarded", "expected"),
    [
        ([], "203.0.113.9", "1.2.3.4", "203.0.113.9"),  # no trusted proxy: the header is anyone's to forge
        (["10.0.0.0/8"], "203.0.113.9", "1.2.3.4", "203.0.113.9"),  # not from our proxy
        (["10.0.0.0/8"], "10.0.0.2", "198.51.100.4", "198.51.100.4"),
        (["10.0.0.0/8"], "10.0.0.2", "1.2.3.4, 198.51.100.4", "198.51.100.4"),  # the client forged the left part
        (["10.0.0.0/8", "127.0.0.1"], "127.0.0.1", "198.51.100.4, 10.1.1.1", "198.51.100.4"),  # two of our proxies
        (["10.0.0.0/8"], "10.0.0.2", "not-an-address", "10.0.0.2"),
        (["10.0.0.0/8"], "10.0.0.2", None, "10.0.0.2"),
    ],
)
def test_the_browser_address_honours_x_forwarded_for_only_from_trusted_proxies(
    settings, monkeypatch, proxies, peer, forwarded, expected
) -> None:
    monkeypatch.setattr(settings, "trusted_proxies", proxies)
    assert ratelimit.client_address(peer, forwarded) == expected


# --- sign-in timing ---------------------------------------------------------------------


def _seconds(attempt) -> float:
    started = time.perf_counter()
    with pytest.raises(InvalidInput):
        attempt()
    return time.perf_counter() - started


def _median_ratio(first, second, tries: int = 5) -> float:
    """Median time of `first` over that of `second`, the two taken in turns so that the load
    of a shared machine weighs on both alike."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(tries):
        times[0].append(_seconds(first))
        times[1].append(_seconds(second))
    return statistics.median(times[0]) / statistics.median(times[1])


@pytest.mark.one_database  # the cost is argon2's; what the databases add is alike
def test_an_unknown_email_costs_what_a_wrong_password_costs(factory, settings, monkeypatch) -> None:
    """Timing must not tell which emails have accounts, with production's argon2 parameters
    (tests hash cheaply otherwise, which would hide the difference)."""
    monkeypatch.setattr(settings, "test_cheap_password_hashes", False)
    monkeypatch.setattr(settings, "signin_max_failures", 1000)
    user = factory.user(email="tim@example.com", password=PASSWORD)
    _fail("nobody-warm-up@example.com", 1)  # the first dummy check builds its hash once

    def wrong_password() -> None:
        _sign_in("tim@example.com", "wrong password!")

    def unknown_email() -> None:
        _sign_in("nobody@example.com", "wrong password!")

    def wrong_current_password() -> None:
        with session_scope() as s:
            accounts.change_password(s, s.get(User, user.id), "a guess!!", "new password!")

    assert 0.5 <= _median_ratio(unknown_email, wrong_password) <= 2
    assert 0.5 <= _median_ratio(unknown_email, wrong_current_password) <= 2


def test_a_limited_unknown_email_and_a_limited_account_are_refused_alike(factory) -> None:
    factory.user(email="kim@example.com", password=PASSWORD)
    refusals = []
    for email in ("kim@example.com", "nobody@example.com"):
        _fail(email, 5)
        with pytest.raises(ratelimit.TooManyFailures) as refused:
            _sign_in(email, PASSWORD)
        refusals.append(str(refused.value))
    assert refusals[0] == refusals[1]


# --- sessions ---------------------------------------------------------------------------


def _browser_session(user: User) -> tuple[str, int]:
    with session_scope() as s:
        return sessions.redeem_signin_ticket(s, *sessions.issue_signin_ticket(s, user))


def test_sessions_last_labelkit_session_days(factory, settings, monkeypatch) -> None:
    monkeypatch.setattr(settings, "session_days", 2)
    user = factory.user()
    token, max_age = _browser_session(user)
    assert max_age == 2 * 86400  # the cookie's life
    _later(monkeypatch, sessions, days=1, hours=23)
    with session_scope() as s:
        assert sessions.user_for_session(s, token).id == user.id
    _later(monkeypatch, sessions, days=2, seconds=1)
    with session_scope() as s:
        assert sessions.user_for_session(s, token) is None  # the server refuses it, whatever the cookie says


def test_an_admin_ends_all_sessions_of_a_user_and_their_tokens_stay(factory) -> None:
    admin = factory.user(Role.ADMIN)
    user = factory.user(email="gus@example.com")
    first, _ = _browser_session(user)
    second, _ = _browser_session(user)
    with session_scope() as s:
        pending_ticket = sessions.issue_signin_ticket(s, user)
        api = sessions.create_api_token(s, user, "script")
    with session_scope() as s:
        assert accounts.end_sessions(s, admin, user.id) == 2
    with session_scope() as s:
        assert sessions.user_for_session(s, first) is None and sessions.user_for_session(s, second) is None
        assert sessions.user_for_api_token(s, api).id == user.id
        with pytest.raises(InvalidInput):
            sessions.redeem_signin_ticket(s, *pending_ticket)
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "user.sessions_end")).one()
        assert (event.actor_id, event.target, event.detail["sessions"]) == (admin.id, f"user:{user.id}", 2)
    time.sleep(0.01)
    fresh, _ = _browser_session(user)  # signing in again works
    with session_scope() as s:
        assert sessions.user_for_session(s, fresh).id == user.id


def test_only_admins_end_sessions_and_a_refusal_ends_nothing(factory) -> None:
    manager = factory.user(Role.MANAGER)
    user = factory.user()
    token, _ = _browser_session(user)
    with session_scope() as s, pytest.raises(PermissionDenied):
        accounts.end_sessions(s, manager, user.id)
    with session_scope() as s:
        assert sessions.user_for_session(s, token).id == user.id
        assert s.get(User, user.id).sessions_ended_at is None


def _claims(sub: str, email: str, issued: float) -> dict:
    return {"iss": ISS, "sub": sub, "email": email, "email_verified": True, "name": sub, "iat": int(issued)}


def test_identity_provider_sessions_end_with_the_admins_action_and_expire(factory, settings, monkeypatch) -> None:
    """Streamlit's identity cookie lasts 30 days and cannot be revoked: labelkit checks its
    sign-in time (the ID token's iat) against the session length and the admin's action."""
    admin = factory.user(Role.ADMIN)
    user = factory.user(email="hal@example.com")
    signed_in = time.time() - 60
    with session_scope() as s:
        assert oidc.resolve_identity(s, _claims("hal", "hal@example.com", signed_in)).id == user.id
    with session_scope() as s:
        accounts.end_sessions(s, admin, user.id)
    with session_scope() as s, pytest.raises(oidc.SessionOver, match="An admin ended your sessions"):
        oidc.resolve_identity(s, _claims("hal", "hal@example.com", signed_in))
    with session_scope() as s:  # signing in at the provider again
        assert oidc.resolve_identity(s, _claims("hal", "hal@example.com", time.time() + 1)).id == user.id
    factory.user(email="ida@example.com")
    monkeypatch.setattr(settings, "session_days", 1)
    with session_scope() as s:
        assert oidc.resolve_identity(s, _claims("ida", "ida@example.com", time.time() - 86400 + 60))
    with session_scope() as s, pytest.raises(oidc.SessionOver, match="Your sign-in has expired"):
        oidc.resolve_identity(s, _claims("ida", "ida@example.com", time.time() - 86400 - 5))


@pytest.fixture
def client(settings):
    return TestClient(Starlette(routes=routes), base_url="http://localhost", follow_redirects=False)


def _open_signin_link(client: TestClient, ticket: sessions.SigninTicket):
    """What the sign-in page makes its browser do: keep the ticket's key, open the link."""
    client.cookies.set(sessions.SIGNIN_COOKIE, ticket.browser_key)
    return client.get("/session/start", params={"ticket": ticket.ticket})


def test_deactivating_a_user_ends_their_browser_and_api_access(client, factory) -> None:
    admin = factory.user(Role.ADMIN)
    user = factory.user(email="ivy@example.com")
    with session_scope() as s:
        api = sessions.create_api_token(s, user, "script")
        ticket = sessions.issue_signin_ticket(s, user)
    _open_signin_link(client, ticket)  # the browser's session cookie
    assert client.get("/api/current-user/whoami").json()["email"] == "ivy@example.com"
    headers = {"Authorization": f"Token {api}"}
    assert client.get("/api/current-user/whoami", headers=headers).json()["email"] == "ivy@example.com"
    with session_scope() as s:
        accounts.set_active(s, admin, user.id, False)
    assert client.get("/api/current-user/whoami").status_code == 401
    assert client.get("/api/current-user/whoami", headers=headers).status_code == 401
    with session_scope() as s:
        assert all(t.revoked_at for t in s.exec(select(AuthToken).where(AuthToken.user_id == user.id)))
    with session_scope() as s:  # reactivated: the old token and session stay dead
        accounts.set_active(s, admin, user.id, True)
    assert client.get("/api/current-user/whoami", headers=headers).status_code == 401
    assert client.get("/api/current-user/whoami").status_code == 401


def test_another_site_cannot_sign_a_browser_out(client, factory) -> None:
    """A link or an image of another site sends a GET, a form of another site a POST without
    the proof only labelkit's own page knows: neither ends the session."""
    user = factory.user(email="jo@example.com")
    with session_scope() as s:
        ticket = sessions.issue_signin_ticket(s, user)
    _open_signin_link(client, ticket)
    token = client.cookies[sessions.SESSION_COOKIE]

    def signed_in() -> bool:
        return client.get("/api/current-user/whoami").status_code == 200

    assert client.get("/session/logout").status_code == 405 and signed_in()
    refused = client.post("/session/logout", data={"proof": "forged"})
    assert refused.status_code == 403 and "set-cookie" not in refused.headers and signed_in()
    assert client.post("/session/logout").status_code == 403 and signed_in()
    done = client.post("/session/logout", data={"proof": sessions.sign_out_proof(token)})
    assert done.status_code == 303 and done.headers["location"] == "/"
    with session_scope() as s:
        assert sessions.user_for_session(s, token) is None


# --- invites ----------------------------------------------------------------------------


def _invite(actor: User, role: Role, project_id: int | None = None) -> str:
    with session_scope() as s:
        return invites.create_invite(s, actor, role, project_id=project_id)[1]


def _memberships() -> int:
    with session_scope() as s:
        return s.exec(select(func.count(Membership.id))).one()


@pytest.mark.parametrize("position", [0, 10, 42])
def test_an_invite_with_one_character_changed_is_refused(factory, position: int) -> None:
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin)
    token = _invite(admin, Role.ANNOTATOR, project.id)
    assert len(token) >= 22  # at least 128 random bits (it has 256)
    tampered = token[:position] + ("A" if token[position] != "A" else "B") + token[position + 1:]
    with session_scope() as s, pytest.raises(InvalidInput, match="not valid"):
        invites.sign_up(s, tampered, "tamper@example.com", "T", "long password")
    with session_scope() as s:
        assert accounts.find_user(s, "tamper@example.com") is None


def test_invite_tokens_are_compared_in_constant_time(factory, monkeypatch) -> None:
    admin = factory.user(Role.ADMIN)
    token = _invite(admin, Role.ANNOTATOR, factory.project(admin).id)
    compared = []
    real = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: compared.append((a, b)) or real(a, b))
    with session_scope() as s:
        invites.describe_invite(s, token)
    assert compared == [(crypto.token_hash(token), crypto.token_hash(token))]  # hashes, not the token


@pytest.mark.parametrize("change", ["demoted", "deactivated", "left the project"])
def test_a_project_invite_is_void_once_its_creator_cannot_grant_its_role(factory, change: str) -> None:
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin)
    manager = factory.user()
    factory.member(project, manager, Role.MANAGER)
    token = _invite(manager, Role.MANAGER, project.id)
    with session_scope() as s:
        membership = s.exec(select(Membership).where(Membership.user_id == manager.id)).one()
        if change == "demoted":
            membership.role = Role.REVIEWER
            s.add(membership)
        elif change == "deactivated":
            accounts.set_active(s, admin, manager.id, False)
        else:
            s.delete(membership)
    before = _memberships()
    with session_scope() as s, pytest.raises(InvalidInput, match="can no longer grant this role"):
        invites.sign_up(s, token, "late@example.com", "Late", "long password")
    existing = factory.user(email="member@example.com")
    with session_scope() as s, pytest.raises(InvalidInput, match="can no longer grant"):
        invites.accept_invite(s, token, s.get(User, existing.id))
    assert _memberships() == before
    with session_scope() as s:
        assert accounts.find_user(s, "late@example.com") is None


def test_a_portal_invite_is_void_once_its_admin_is_demoted(factory) -> None:
    first = factory.user(Role.ADMIN)
    second = factory.user(Role.ADMIN)
    token = _invite(second, Role.ADMIN)
    with session_scope() as s:
        accounts.set_role(s, first, second.id, Role.MANAGER)
    with session_scope() as s, pytest.raises(InvalidInput, match="can no longer grant"):
        invites.sign_up(s, token, "boss@example.com", "Boss", "long password")
    with session_scope() as s:
        assert accounts.find_user(s, "boss@example.com") is None
    still_good = _invite(first, Role.ADMIN)
    with session_scope() as s:
        assert invites.sign_up(s, still_good, "boss@example.com", "Boss", "long password").role == Role.ADMIN


def test_an_invite_cannot_be_created_above_its_creators_role(factory) -> None:
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin)
    reviewer_who_invites = factory.user(Role.MANAGER)  # a portal manager, but only reviewer here
    factory.member(project, reviewer_who_invites, Role.REVIEWER)
    manager = factory.user()
    factory.member(project, manager, Role.MANAGER)
    with session_scope() as s, pytest.raises(PermissionDenied):
        invites.create_invite(s, reviewer_who_invites, Role.ANNOTATOR, project_id=project.id)
    with session_scope() as s, pytest.raises(PermissionDenied):
        invites.create_invite(s, manager, Role.MANAGER)  # portal-wide needs an admin
    with session_scope() as s, pytest.raises(InvalidInput, match="portal-wide"):
        invites.create_invite(s, manager, Role.ADMIN, project_id=project.id)
