"""OpenID Connect sign-in under attack, against the real provider on loopback (conftest's
`oidc_provider` and `oidc_server`, shared with test_oidc.py, on SQLite): a callback whose state was forged
or left out signs nobody in; an ID token minted for another sign-in (its nonce is not the
one this browser asked for) is refused; an email the provider has not verified is not
matched to an account or an invite; an admin's "End all sessions" ends an identity
session whose Streamlit cookie is still in the browser."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import pytest
from playwright.sync_api import Page, Route
from sqlmodel import select

from labelkit.models import AuditEvent, Identity, Role, User
from tests.e2e.servers import PROVIDER_BUTTON, UNVERIFIED, Server
from tests.e2e.steps import click, fresh, goto, heading, press, reload, see, settled, sign_in, sign_in_page, signed_in
from tests.e2e.test_oidc import identity_sign_in, provider_login

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def no_server_errors(request: pytest.FixtureRequest, oidc_server: Server) -> Iterator[None]:
    """As in conftest, except that Streamlit logs a refused token exchange with its traceback:
    only those (a wrong nonce, a code refused by the provider) may appear, and the tests that
    provoke them assert that they do."""
    before = oidc_server.log_size()
    yield
    new = oidc_server.log_text(before)
    for block in new.split("Traceback")[1:]:
        assert "Invalid claim: 'nonce'" in block or "invalid_grant" in block, f"the server logged an error during {request.node.name}:\n{new[-4000:]}"


def held_callback(page: Page, login: str) -> str:
    """Sign in at the provider, but keep the browser from reaching the app's callback:
    returns the callback URL (with the provider's code and the app's state). The redirects
    after the consent form are followed here, since the browser's own are not routable."""
    held: list[str] = []

    def hold(route: Route) -> None:
        if route.request.method != "POST" or "prompt=consent" not in (route.request.post_data or ""):
            route.continue_()
            return
        answer = route.fetch(max_redirects=0)
        location = urljoin(route.request.url, answer.headers["location"])
        while "/oauth2callback" not in location:
            answer = page.context.request.get(location, max_redirects=0)
            location = urljoin(location, answer.headers["location"])
        held.append(location)
        route.fulfill(status=200, content_type="text/plain", body="held by the test")

    page.route("**/interaction/*", hold)
    click(page, PROVIDER_BUTTON, "began")  # the run sends the browser to the provider
    provider_login(page, login)
    page.get_by_text("held by the test").wait_for()
    page.unroute("**/interaction/*")
    assert len(held) == 1 and "code=" in held[0] and "state=" in held[0], held
    return held[0]


def with_query(url: str, **changes: str | None) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    for key, value in changes.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = value
    return parts._replace(query=urlencode(query)).geturl()


def identity_cookie(page: Page) -> bool:
    return any(c["name"].startswith("_streamlit_user") for c in page.context.cookies())


def refused(page: Page, url: str) -> None:
    """The callback at `url` lands on the sign-in page and leaves no identity behind."""
    page.goto(url)
    sign_in_page(page)
    assert not identity_cookie(page)
    reload(page)
    sign_in_page(page)


def test_a_callback_with_a_forged_or_missing_state_signs_nobody_in(oidc_server: Server, new_page) -> None:
    oidc_server.person("Kai", email="kai@example.com", password="kai's password")
    page = new_page()
    goto(page, oidc_server.url)
    callback = held_callback(page, "kai")
    state = parse_qs(urlsplit(callback).query)["state"][0]
    forged = state[:-1] + ("A" if state[-1] != "A" else "B")
    refused(page, with_query(callback, state=forged))
    refused(page, with_query(callback, state=None))
    refused(page, with_query(callback, state=""))
    with oidc_server.db() as db:
        assert db.exec(select(Identity).where(Identity.subject == "kai")).all() == []  # nobody was linked
    # The same callback with its real state signs Kai in: only the state was wrong.
    page.goto(callback)
    signed_in(page)
    heading(page, "Hello, Kai").wait_for()


def test_an_id_token_with_another_nonce_is_refused(oidc_server: Server, new_page) -> None:
    """The browser takes the app's authorization request to the provider with the nonce
    changed: the code and its PKCE verifier match, but the ID token carries a nonce this
    sign-in did not ask for, and Authlib refuses it."""
    oidc_server.person("Noa", email="noa@example.com", password="a password!")
    page = new_page()
    goto(page, oidc_server.url)
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "nonce=" in r.url and "/auth?" in r.url else None)
    click(page, PROVIDER_BUTTON, "began")
    page.locator("input[name=login]").wait_for()
    assert len(asked) == 1, asked
    nonce = parse_qs(urlsplit(asked[0]).query)["nonce"][0]
    page.goto(with_query(asked[0], nonce=nonce[:-1] + ("A" if nonce[-1] != "A" else "B")))
    log_before = oidc_server.log_size()
    provider_login(page, "noa")
    sign_in_page(page)
    assert not identity_cookie(page)
    assert "Invalid claim: 'nonce'" in oidc_server.log_text(log_before)
    with oidc_server.db() as db:
        assert db.exec(select(Identity).where(Identity.subject == "noa")).all() == []
    # The same steps with the nonce left alone sign Noa in (a new browser: the provider asks again).
    again = new_page()
    goto(again, oidc_server.url)
    identity_sign_in(again, "noa")
    heading(again, "Hello, Noa").wait_for()


def test_a_code_brought_back_with_another_sign_ins_state_is_refused(oidc_server: Server, new_page) -> None:
    """Two sign-ins begun in two browsers: the code of the first with the state of the second
    (PKCE binds a code to the sign-in that asked for it, so the provider refuses it)."""
    oidc_server.person("Zed", email="zed@example.com", password="a password!")
    pages = []
    for _ in range(3):
        pages.append(new_page())
        goto(pages[-1], oidc_server.url)
    first, second = held_callback(pages[0], "zed"), held_callback(pages[1], "zed")
    log_before = oidc_server.log_size()
    refused(pages[1], with_query(second, code=parse_qs(urlsplit(first).query)["code"][0]))
    assert "invalid_grant" in oidc_server.log_text(log_before)
    with oidc_server.db() as db:
        assert db.exec(select(Identity).where(Identity.subject == "zed")).all() == []
    identity_sign_in(pages[2], "zed")
    heading(pages[2], "Hello, Zed").wait_for()


def test_an_unverified_email_is_matched_to_no_account_and_no_invite(oidc_server: Server, new_page) -> None:
    oidc_server.person("Real Mallory", email=f"{UNVERIFIED}@example.com", password="a password!")
    link = oidc_server.invite(Role.ANNOTATOR)
    page = new_page()
    goto(page, oidc_server.url)
    identity_sign_in(page, UNVERIFIED)
    heading(page, "Ask your admin for an invite").wait_for()  # not signed in as the account with that email
    goto(page, link)
    see(page, "did not confirm your email address")
    with oidc_server.db() as db:
        assert db.exec(select(Identity).where(Identity.subject == UNVERIFIED)).all() == []
        assert [u.email for u in db.exec(select(User).where(User.email.like(f"{UNVERIFIED}%"))).all()] == [
            f"{UNVERIFIED}@example.com"]


def admin_picks(admin: Page, email: str) -> None:
    """On the Admin page's Users tab: choose whom to change (the run that follows draws their form)."""
    settled(admin)
    box = fresh(admin.get_by_role("combobox", name="User"))
    box.click()
    box.fill(email)
    press(admin, "Enter")


def test_an_admin_ends_sessions_from_the_admin_page(oidc_server: Server, new_page, tmp_path) -> None:
    """An identity session (Streamlit's cookie stays in the browser) ends with "End all
    sessions"; a password session ends when its user is deactivated; each open browser
    is signed out on its next action."""
    oidc_server.person("Uma", email="uma@example.com", password="a password!")
    pat_account = oidc_server.person("Pat", password="pat's password")
    uma = new_page()
    goto(uma, oidc_server.url)
    identity_sign_in(uma, "uma")
    heading(uma, "Hello, Uma").wait_for()
    pat = new_page()
    sign_in(pat, oidc_server, pat_account.email, pat_account.password)
    heading(pat, "Hello, Pat").wait_for()

    admin = new_page()
    sign_in(admin, oidc_server, path="/admin")
    admin_picks(admin, "uma@example.com")
    click(admin, "End all sessions")
    see(admin, "Ended all sessions of uma@example.com")
    admin.screenshot(path=str(tmp_path / "admin-signed-out.png"), full_page=True)
    admin_picks(admin, pat_account.email)
    click(admin, admin.get_by_text("Active (can sign in)"))
    click(admin, "Save")

    reload(uma)
    heading(uma, "Please sign in again").wait_for()
    see(uma, "An admin ended your sessions. Sign out, then sign in again.")
    uma.screenshot(path=str(tmp_path / "uma-signed-out.png"), full_page=True)
    assert identity_cookie(uma)  # the cookie is still there; labelkit no longer honours it
    again = new_page()  # signing in at the provider again works (a new ID token, issued after the end)
    goto(again, oidc_server.url)
    identity_sign_in(again, "uma")
    heading(again, "Hello, Uma").wait_for()
    click(pat, pat.get_by_role("link", name="Account"))  # any next action
    sign_in_page(pat)
    with oidc_server.db() as db:
        actions = [e.action for e in db.exec(select(AuditEvent)).all()]
    assert {"user.sessions_end", "user.deactivate"} <= set(actions)
