"""Password-reset links and mail: an admin's one-time link (mailed through a real SMTP
server on loopback when one is set up) sets a new password once, before it expires, and ends
the account's other sessions; nobody else issues one; mail failures are said, not hidden."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from sqlmodel import select

from labelkit.audit import recent_events
from labelkit.auth import invites, mail, reset, sessions
from labelkit.auth.accounts import authenticate, set_active
from labelkit.auth.reset import issue_reset_link, reset_password
from labelkit.db import session_scope
from labelkit.errors import Conflict, InvalidInput, PermissionDenied
from labelkit.models import AuthToken, Identity, Invite, Role, User, utcnow
from labelkit.settings import get_settings
from tests.smtpserver import link_in
from tests.support import free_port

OLD = "correct horse battery"
NEW = "a brand new password"


@pytest.fixture
def people(factory):
    admin = factory.user(Role.ADMIN, email="admin@example.com")
    ann = factory.user(Role.ANNOTATOR, email="ann@example.com", password=OLD)
    return admin, ann


def _issue(actor, user) -> reset.ResetLink:
    with session_scope() as s:
        return issue_reset_link(s, actor, user.id)


def _reset(token: str, password: str = NEW) -> User:
    with session_scope() as s:
        return reset_password(s, token, password)


def _signs_in(email: str, password: str) -> bool:
    try:
        with session_scope() as s:
            authenticate(s, email, password)
    except InvalidInput:
        return False
    return True


def _open_session(user) -> str:
    with session_scope() as s:
        ticket = sessions.issue_signin_ticket(s, user)
    with session_scope() as s:
        return sessions.redeem_signin_ticket(s, ticket.ticket, ticket.browser_key)[0]


def test_a_mailed_reset_link_sets_the_password_once_and_ends_the_other_sessions(people, smtp_server) -> None:
    admin, ann = people
    browser = _open_session(ann)
    issued = _issue(admin, ann)
    mail.send_reset(issued.email, "http://portal.example" + reset.reset_path(issued.token), issued.expires_at)

    received = smtp_server.last_to("ann@example.com")
    assert received["Subject"] == "Set a new labelkit password" and received["From"] == "labelkit@example.com"
    link = urlparse(link_in(received))
    token = parse_qs(link.query)["reset"][0]
    with session_scope() as s:
        assert reset.describe_reset_link(s, token) == "ann@example.com"
    _reset(token)

    assert _signs_in("ann@example.com", NEW) and not _signs_in("ann@example.com", OLD)
    with session_scope() as s:
        assert sessions.user_for_session(s, browser) is None  # the session open before the reset is over
    with pytest.raises(InvalidInput, match="expired or was already used"):
        _reset(token, "yet another password")  # works once
    assert _signs_in("ann@example.com", NEW)
    with session_scope() as s:
        actions = [(e["action"], e["who"]) for e in recent_events(s, admin)]
    assert ("user.reset_link", "admin@example.com") in actions and ("user.password_reset", "ann@example.com") in actions


def test_reset_tokens_are_256_random_bits_stored_only_as_their_hash(people) -> None:
    admin, ann = people
    token = _issue(admin, ann).token
    assert len(token) >= 43
    with session_scope() as s:
        rows = s.exec(select(AuthToken).where(AuthToken.kind == "reset")).all()
    assert [r.token_hash for r in rows] != [token] and len(rows[0].token_hash) == 64
    with pytest.raises(InvalidInput):
        _reset(token[:-1] + ("A" if token[-1] != "A" else "B"))  # altered by one character


def test_an_expired_link_is_refused_and_changes_nothing(people, monkeypatch) -> None:
    admin, ann = people
    monkeypatch.setenv("LABELKIT_RESET_HOURS", "2")
    get_settings.cache_clear()
    issued = _issue(admin, ann)
    assert timedelta(hours=1, minutes=59) < issued.expires_at - utcnow() <= timedelta(hours=2)
    with session_scope() as s:
        row = s.exec(select(AuthToken).where(AuthToken.kind == "reset")).one()
        row.expires_at = utcnow() - timedelta(seconds=1)
    with pytest.raises(InvalidInput, match="expired"):
        _reset(issued.token)
    assert _signs_in("ann@example.com", OLD)


def test_a_weak_new_password_is_refused_and_the_link_still_works(people) -> None:
    admin, ann = people
    token = _issue(admin, ann).token
    with pytest.raises(InvalidInput, match="at least 8 characters"):
        _reset(token, "short")
    assert _signs_in("ann@example.com", OLD)
    _reset(token)
    assert _signs_in("ann@example.com", NEW)


def test_a_new_link_voids_the_earlier_one(people) -> None:
    admin, ann = people
    first = _issue(admin, ann).token
    second = _issue(admin, ann).token
    with pytest.raises(InvalidInput):
        _reset(first)
    _reset(second)
    assert _signs_in("ann@example.com", NEW)


def test_only_admins_issue_reset_links_and_a_manager_cannot_reset_an_admin(people, factory) -> None:
    admin, ann = people
    manager = factory.user(Role.MANAGER, email="lead@example.com")  # a portal-wide manager
    project = factory.project(admin)
    factory.member(project, manager, Role.MANAGER)
    for actor, target in ((manager, admin), (manager, ann), (ann, admin)):
        with pytest.raises(PermissionDenied, match="manage users"):
            _issue(actor, target)
    with session_scope() as s:
        assert s.exec(select(AuthToken).where(AuthToken.kind == "reset")).all() == []
    other_admin = factory.user(Role.ADMIN, email="second@example.com")
    _reset(_issue(other_admin, admin).token)  # an admin may reset another admin's password
    assert _signs_in("admin@example.com", NEW)


def test_deactivated_and_identity_provider_accounts_get_no_link(people, factory) -> None:
    admin, ann = people
    token = _issue(admin, ann).token
    with session_scope() as s:
        set_active(s, admin, ann.id, False)
    with pytest.raises(InvalidInput):  # deactivating voids a link already sent
        _reset(token)
    with pytest.raises(Conflict, match="deactivated: reactivate"):
        _issue(admin, ann)

    with session_scope() as s:
        oidc_only = User(email="sso@example.com", role=Role.ANNOTATOR)
        s.add(oidc_only)
        s.flush()
        s.add(Identity(user_id=oidc_only.id, issuer="http://idp", subject="sso"))
    with pytest.raises(Conflict, match="identity provider"):
        _issue(admin, oidc_only)


# Mail: optional, and a failure is said.


def test_without_smtp_nothing_is_mailed_and_sending_says_so(settings) -> None:
    assert not mail.mail_configured()
    with pytest.raises(mail.MailNotSent, match="LABELKIT_SMTP_HOST"):
        mail.send_mail("ann@example.com", "Hi", "text")


def test_an_unreachable_or_refusing_smtp_server_gives_a_clear_error(smtp_server, monkeypatch) -> None:
    smtp_server.inbox.refuse.add("nobody@example.com")
    with pytest.raises(mail.MailNotSent, match=r"nobody@example.com could not be sent \(the server refused the address"):
        mail.send_mail("nobody@example.com", "Hi", "text")
    monkeypatch.setenv("LABELKIT_SMTP_PORT", str(free_port()))  # nothing listens there
    get_settings.cache_clear()
    with pytest.raises(mail.MailNotSent, match=r"could not be sent .*Connection refused"):
        mail.send_mail("ann@example.com", "Hi", "text")
    assert smtp_server.mails == []


# An invite for one exact address, with mail set up, is confirmed there before the account is made.


def _exact_invite(admin, email: str = "new@example.com") -> str:
    with session_scope() as s:
        return invites.create_invite(s, admin, Role.ANNOTATOR, email=email)[1]


def test_an_invite_for_one_address_needs_the_mailed_confirmation(people, smtp_server) -> None:
    admin, _ = people
    token = _exact_invite(admin)
    with pytest.raises(InvalidInput, match="Confirm your address first"), session_scope() as s:
        invites.sign_up(s, token, "new@example.com", "New", NEW)
    with session_scope() as s:
        to, confirmation = invites.confirmation_for(s, token)
    mail.send_confirmation(to, "http://portal.example" + invites.confirmation_path(token, confirmation))

    query = parse_qs(urlparse(link_in(smtp_server.last_to("new@example.com"))).query)
    assert query["invite"] == [token]
    forged = query["confirm"][0][:-1] + ("0" if query["confirm"][0][-1] != "0" else "1")
    for bad in (forged, "", "9999999999.abc", "1.x"):
        with pytest.raises(InvalidInput), session_scope() as s:
            invites.sign_up(s, token, "new@example.com", "New", NEW, bad)
    with session_scope() as s:
        assert s.exec(select(User).where(User.email == "new@example.com")).first() is None
        assert invites.confirmed_email(s, token, query["confirm"][0]) == "new@example.com"
        invites.sign_up(s, token, "new@example.com", "New", NEW, query["confirm"][0])
    assert _signs_in("new@example.com", NEW)
    with pytest.raises(InvalidInput, match="already been used"), session_scope() as s:
        invites.sign_up(s, token, "new@example.com", "New", NEW, query["confirm"][0])


def test_without_mail_an_invite_for_one_address_signs_up_as_before(people) -> None:
    admin, _ = people
    token = _exact_invite(admin)
    with session_scope() as s:
        invites.sign_up(s, token, "new@example.com", "New", NEW)
    with session_scope() as s:
        assert s.exec(select(Invite)).one().uses == 1
