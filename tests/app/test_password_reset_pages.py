"""The pages of reset and mailed links: the Admin page makes a password-reset link (mailed
through a real SMTP server on loopback when one is set up, with a clear error and the link
still shown when sending fails), the reset page sets the password once, and the join page
confirms an invite's one address by mail before it makes the account."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from labelkit.auth import invites
from labelkit.auth.accounts import authenticate
from labelkit.db import session_scope
from labelkit.errors import InvalidInput
from labelkit.models import Role
from labelkit.settings import get_settings
from tests.smtpserver import link_in
from tests.support import free_port

# Page tests: what a page draws and wires; the SQL under it is tested on both databases in tests/unit.
pytestmark = pytest.mark.one_database

OLD = "correct horse battery"
NEW = "a brand new password"


def _signs_in(email: str, password: str) -> bool:
    try:
        with session_scope() as s:
            authenticate(s, email, password)
    except InvalidInput:
        return False
    return True


def _make_reset_link(app_as, admin, person):
    at = app_as(admin, "admin")
    at.selectbox(key="lk_admin_user").set_value(person.id).run()
    at.button(key="lk_admin_reset").click().run()
    return at


def _set_password(app_as, link: str, password: str = NEW, again: str | None = None):
    at = app_as(None, reset=parse_qs(urlparse(link).query)["reset"][0])
    at.text_input[0].input(password)
    at.text_input[1].input(again or password)
    next(b for b in at.button if b.label == "Set the password").click()
    at.run()
    return at


def test_an_admin_makes_a_reset_link_and_the_person_sets_a_new_password_once(app_as, factory) -> None:
    admin = factory.user(Role.ADMIN)
    ann = factory.user(email="ann@example.com", password=OLD)
    at = _make_reset_link(app_as, admin, ann)
    assert not at.error
    assert "Copy this password reset link for ann@example.com" in at.success[0].value
    link = at.code[0].value
    assert link.startswith("http://localhost:8501/?reset=")

    page = app_as(None, reset=parse_qs(urlparse(link).query)["reset"][0])
    assert "For ann@example.com" in [t.value for t in page.text]
    refused = _set_password(app_as, link, "short")
    assert [e.value for e in refused.error] == ["The password must have at least 8 characters."]
    done = _set_password(app_as, link)
    assert not done.error and "Your new password is set" in done.success[0].value
    assert _signs_in("ann@example.com", NEW) and not _signs_in("ann@example.com", OLD)

    again = app_as(None, reset=parse_qs(urlparse(link).query)["reset"][0])
    assert "expired or was already used" in again.error[0].value  # works once
    assert not any(b.label == "Set the password" for b in again.button)


def test_with_smtp_the_reset_link_is_mailed_and_a_failure_is_said_with_the_link_shown(app_as, factory, smtp_server, monkeypatch) -> None:
    admin = factory.user(Role.ADMIN)
    ann = factory.user(email="ann@example.com", password=OLD)
    at = _make_reset_link(app_as, admin, ann)
    assert "Mailed the password reset link for ann@example.com to ann@example.com" in at.success[0].value
    mailed = link_in(smtp_server.last_to("ann@example.com"))
    assert mailed == at.code[0].value
    _set_password(app_as, mailed)
    assert _signs_in("ann@example.com", NEW)

    monkeypatch.setenv("LABELKIT_SMTP_PORT", str(free_port()))  # the mail server is down
    get_settings.cache_clear()
    failed = _make_reset_link(app_as, admin, ann)
    assert not failed.success
    assert "The mail to ann@example.com could not be sent" in failed.error[0].value
    assert failed.code[0].value.startswith("http://localhost:8501/?reset=")  # the admin still has the link


def test_an_admin_page_invite_for_one_address_is_mailed_there(app_as, factory, smtp_server) -> None:
    admin = factory.user(Role.ADMIN)
    at = app_as(admin, "admin")
    next(t for t in at.text_input if t.label == "Only for (optional)").input("new@example.com")
    next(b for b in at.button if b.label == "Create invite link").click()
    at.run()
    assert "Mailed the invite link to new@example.com" in at.success[0].value
    assert link_in(smtp_server.last_to("new@example.com")) == at.code[0].value


def test_the_join_page_confirms_the_invites_address_by_mail_before_making_the_account(app_as, factory, smtp_server) -> None:
    admin = factory.user(Role.ADMIN)
    with session_scope() as s:
        token = invites.create_invite(s, admin, Role.ANNOTATOR, email="new@example.com")[1]
    at = app_as(None, invite=token)
    assert not any(b.label == "Create account and join" for b in at.button)  # no account without the confirmation
    at.button(key="lk_join_confirm").click().run()
    assert "Sent to new@example.com" in at.success[0].value

    query = parse_qs(urlparse(link_in(smtp_server.last_to("new@example.com"))).query)
    confirmed = app_as(None, invite=query["invite"][0], confirm=query["confirm"][0])
    form = [t for t in confirmed.text_input if t.label != "Email"]
    form[0].input("New Person")
    form[1].input(NEW)
    form[2].input(NEW)
    next(b for b in confirmed.button if b.label == "Create account and join").click()
    confirmed.run()
    assert not confirmed.error and "lk_ticket_issued" in confirmed.session_state
    assert _signs_in("new@example.com", NEW)
