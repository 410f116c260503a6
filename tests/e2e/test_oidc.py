"""Signing in through an OpenID Connect provider (a real one, on loopback: conftest's
`oidc_provider`; the server is conftest's `oidc_server`, on SQLite): with an invite a new
identity gets its role; without one it is told to ask for an invite and no account is made."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from labelkit.models import Annotation, Identity, Invite, Membership, Role, User
from tests.e2e.servers import PROVIDER_BUTTON, Server
from tests.e2e.steps import button, click, fresh, goto, heading, pick, reload, see, sign_in_page, signed_in

pytestmark = pytest.mark.e2e

CONFIG = ('<View><Text name="text" value="$text"/>'
          '<Choices name="answer" toName="text"><Choice value="Yes"/><Choice value="No"/></Choices></View>')


def provider_login(page: Page, login: str) -> None:
    """At the provider (its own pages, not Streamlit's): its development sign-in form (any
    login name), then its consent form."""
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill("anything")
    page.get_by_role("button", name="Sign-in").click()
    page.locator("input[name=prompt][value=consent]").wait_for(state="attached")
    page.get_by_role("button", name="Continue").click()


def identity_sign_in(page: Page, login: str) -> None:
    """Press the app's provider button and sign in at the provider; back in the app after."""
    click(page, PROVIDER_BUTTON, "began")  # the run sends the browser to the provider
    provider_login(page, login)
    page.wait_for_url(re.compile(r"^http://localhost:\d+/(\?.*)?$"))


def people(server: Server) -> tuple[list[str], list[str]]:
    """(account emails, linked identity subjects)."""
    with server.db() as db:
        return ([u.email for u in db.exec(select(User).order_by(User.id)).all()],
                [i.subject for i in db.exec(select(Identity).order_by(Identity.id)).all()])


def test_an_invite_lets_an_identity_in_with_its_role(oidc_server: Server, new_page) -> None:
    project_id = oidc_server.project("Federated", CONFIG, [{"text": "first line"}, {"text": "second line"}])
    link = oidc_server.invite(Role.ANNOTATOR, project_id)
    assert re.fullmatch(rf"{re.escape(oidc_server.url)}/invite/[\w-]{{20,}}", link), link

    page = new_page()
    goto(page, link)
    heading(page, "You're invited").wait_for()
    see(page, "This invite gives you the annotator role in the project Federated.")
    identity_sign_in(page, "kim")
    signed_in(page)
    heading(page, "Hello, kim").wait_for()
    see(page, "You have the annotator role in Federated.")  # the toast
    reload(page)
    signed_in(page)  # still signed in after a refresh (Streamlit's identity cookie)
    expect(fresh(page.get_by_role("link", name="Admin", exact=True))).to_have_count(0)

    with oidc_server.db() as db:
        kim = db.exec(select(User).where(User.email == "kim@example.com")).one()
        assert (kim.role, kim.password_hash) == ("annotator", None)  # no password: this account signs in at the provider
        (membership,) = db.exec(select(Membership).where(Membership.user_id == kim.id)).all()
        assert (membership.project_id, membership.role) == (project_id, "annotator")
        (identity,) = db.exec(select(Identity).where(Identity.user_id == kim.id)).all()
        assert (identity.subject, identity.issuer) == ("kim", oidc_server.issuer)
        (invite,) = db.exec(select(Invite).where(Invite.project_id == project_id)).all()
        assert invite.uses == 1

    # The Label page works for that role: answer a task.
    goto(page, f"{oidc_server.url}/label?project={project_id}")
    see(page, "first line")
    pick(page, "Yes")
    click(page, "Submit")
    see(page, "second line")
    with oidc_server.db() as db:
        (annotation,) = db.exec(select(Annotation).where(Annotation.user_id == kim.id)).all()
        assert annotation.state == "submitted"
        assert [r["value"]["choices"] for r in annotation.result] == [["Yes"]]


def test_an_identity_without_an_invite_is_told_to_ask_for_one(oidc_server: Server, new_page) -> None:
    project_id = oidc_server.project("Second opinion", CONFIG)
    accounts_before, identities_before = people(oidc_server)
    page = new_page()
    goto(page, oidc_server.url)
    sign_in_page(page)
    identity_sign_in(page, "stranger")
    heading(page, "Ask your admin for an invite").wait_for()
    see(page, "You are signed in as stranger@example.com, but there is no labelkit account for you.")
    expect(fresh(page.get_by_role("link", name="Label", exact=True))).to_have_count(0)
    goto(page, oidc_server.url + "/admin")  # no page opens by URL either
    heading(page, "Ask your admin for an invite").wait_for()
    expect(fresh(page.get_by_role("tab", name="Users"))).to_have_count(0)
    assert people(oidc_server) == (accounts_before, identities_before)  # nothing was created

    # What the page says to do works: the admin sends an invite, the person opens it.
    link = oidc_server.invite(Role.REVIEWER, project_id)
    goto(page, link)
    signed_in(page)
    see(page, "You have the reviewer role in Second opinion.")
    accounts, identities = people(oidc_server)
    assert accounts == [*accounts_before, "stranger@example.com"]
    assert identities == [*identities_before, "stranger"]


def sign_out_at_provider(page: Page) -> None:
    """Sign out; the provider may ask to confirm ending its own session too."""
    click(page, "Sign out", "began")  # the run sends the browser to /auth/logout
    confirm = page.get_by_role("button", name="Yes, sign me out")
    confirm.or_(heading(page, "Sign in")).first.wait_for(timeout=10_000)
    if confirm.is_visible():
        confirm.click()


def test_sign_out_of_an_identity_session_signs_out(oidc_server: Server, new_page) -> None:
    oidc_server.person("Lee", email="lee@example.com", password="lee's password")
    page = new_page()
    goto(page, oidc_server.url)
    identity_sign_in(page, "lee")  # matched to the existing account by the verified email
    heading(page, "Hello, Lee").wait_for()
    # A provider or a network a little slow to answer /auth/logout (the race, made certain).
    page.route("**/auth/logout", lambda route: (time.sleep(1.5), route.continue_()))
    sign_out_at_provider(page)
    sign_in_page(page, timeout=10_000)
    reload(page)
    sign_in_page(page)
    expect(button(page, "Sign out")).to_have_count(0)
    assert not [c for c in page.context.cookies() if c["name"].startswith("_streamlit_user")]
