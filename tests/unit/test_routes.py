"""Our HTTP routes beside the Streamlit app: sign-in cookies, invites, media, the API."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from starlette.applications import Starlette
from starlette.testclient import TestClient

from labelkit.auth import sessions
from labelkit.auth.invites import INVITE_COOKIE
from labelkit.db import session_scope
from labelkit.models import Role
from labelkit.server import routes
from labelkit.storage import local


@pytest.fixture
def client(settings):
    return TestClient(Starlette(routes=routes), base_url="http://localhost", follow_redirects=False)


def _ticket(user) -> sessions.SigninTicket:
    with session_scope() as s:
        return sessions.issue_signin_ticket(s, user)


def _start(client, ticket: sessions.SigninTicket, **params):
    """The browser that signed in: it holds the ticket's key in a cookie."""
    client.cookies.set(sessions.SIGNIN_COOKIE, ticket.browser_key)
    return client.get("/session/start", params={"ticket": ticket.ticket, **params})


def test_a_signin_ticket_becomes_an_httponly_session_cookie_once(client, factory) -> None:
    ticket = _ticket(factory.user())
    response = _start(client, ticket, next="/label?project=1")
    assert response.status_code == 303 and response.headers["location"] == "/label?project=1"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith(f"{sessions.SESSION_COOKIE}="))
    assert any(c.startswith(f"{sessions.SIGNIN_COOKIE}=") and "Max-Age=0" in c for c in response.headers.get_list("set-cookie"))
    assert cookie.startswith(f"{sessions.SESSION_COOKIE}=") and "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    client.cookies.clear()
    again = _start(client, ticket)
    assert again.headers["location"] == "/?signin=expired"
    assert not any(c.startswith(f"{sessions.SESSION_COOKIE}=") for c in again.headers.get_list("set-cookie"))


def test_redirects_stay_on_this_site(client, factory) -> None:
    response = _start(client, _ticket(factory.user()), next="//evil.example/x")
    assert response.headers["location"] == "/"


def test_the_invite_route_keeps_the_token_in_a_cookie(client) -> None:
    response = client.get("/invite/some-token")
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert f"{INVITE_COOKIE}=some-token" in response.headers["set-cookie"]


def test_health_and_whoami_with_a_token(client, factory) -> None:
    assert client.get("/api/health").json() == {"status": "UP"}
    user = factory.user(email="bot@example.com")
    with session_scope() as s:
        token = sessions.create_api_token(s, user)
    assert client.get("/api/current-user/whoami", headers={"Authorization": f"Token {token}"}).json()["email"] == "bot@example.com"
    assert client.get("/api/current-user/whoami", headers={"Authorization": "Token forged"}).status_code == 401


def _uploaded(project_id: int) -> str:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), "green").save(out, "PNG")
    return local.save_upload(project_id, "green.png", out.getvalue())


def test_media_needs_a_signed_link_a_member_session_or_a_token(client, factory) -> None:
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin)
    path = _uploaded(project.id)
    assert client.get(path).status_code == 403
    signed = local.signed_url(path, account=admin.id)
    assert client.get(signed).status_code == 200
    assert client.get(signed[:-3] + "AAA").status_code == 403  # tampered signature
    assert client.get(local.signed_url(path)).status_code == 403  # a project's upload needs a link bound to an account
    member, outsider = factory.user(), factory.user()
    factory.member(project, member, Role.ANNOTATOR)
    with session_scope() as s:
        member_token = sessions.create_api_token(s, member)
        outsider_token = sessions.create_api_token(s, outsider)
    assert client.get(path, headers={"Authorization": f"Token {member_token}"}).content[:4] == b"\x89PNG"
    assert client.get(path, headers={"Authorization": f"Token {outsider_token}"}).status_code == 404


def test_media_paths_cannot_leave_the_upload_folder(client, settings) -> None:
    secret = settings.data_dir / "secret_key"
    settings.signing_key()
    for path in ["/data/upload/../secret_key", "/data/upload/%2e%2e/secret_key", "/data/upload/1/../../secret_key"]:
        response = client.get(local.signed_url(path.replace("%2e%2e", "..")))
        assert response.status_code in (403, 404), path
        assert secret.read_bytes() not in response.content


def test_a_signin_link_opened_in_another_browser_signs_nobody_in(client, factory, settings) -> None:
    """Login CSRF: someone sends their own sign-in link to a victim; the victim's browser
    lacks the ticket's key, so it is not signed in to the sender's account."""
    ticket = _ticket(factory.user(email="mallory@example.com"))
    victim = TestClient(Starlette(routes=routes), base_url="http://localhost", follow_redirects=False)
    opened = victim.get("/session/start", params={"ticket": ticket.ticket})
    assert opened.headers["location"] == "/?signin=elsewhere" and sessions.SESSION_COOKIE not in victim.cookies
    victim.cookies.set(sessions.SIGNIN_COOKIE, "a guess")
    assert victim.get("/session/start", params={"ticket": ticket.ticket}).headers["location"] == "/?signin=expired"
    assert sessions.SESSION_COOKIE not in victim.cookies
    assert _start(client, ticket).status_code == 303  # the browser that signed in still can
    assert client.get("/api/current-user/whoami").json()["email"] == "mallory@example.com"


def test_a_page_of_another_origin_that_plants_the_key_signs_nobody_in(client, factory) -> None:
    """Login CSRF from the same site: a page on another port of this host (or a sibling
    subdomain) can write the sender's key into the victim's cookies, but the browser tells
    the navigation came from another origin (Sec-Fetch-Site), so the link signs nobody in."""
    ticket = _ticket(factory.user(email="mallory@example.com"))
    client.cookies.set(sessions.SIGNIN_COOKIE, ticket.browser_key)  # planted by the other page
    for site in ("same-site", "cross-site", "none"):
        opened = client.get("/session/start", params={"ticket": ticket.ticket}, headers={"Sec-Fetch-Site": site})
        assert opened.headers["location"] == "/?signin=elsewhere", site
        assert sessions.SESSION_COOKIE not in client.cookies
        client.cookies.set(sessions.SIGNIN_COOKIE, ticket.browser_key)
    # labelkit's own page sends the browser there itself: same-origin, and the link works once
    assert client.get("/session/start", params={"ticket": ticket.ticket},
                      headers={"Sec-Fetch-Site": "same-origin"}).status_code == 303
    assert client.get("/api/current-user/whoami").json()["email"] == "mallory@example.com"


def test_a_signin_link_does_not_replace_another_accounts_session(client, factory) -> None:
    _start(client, _ticket(factory.user(email="victim@example.com")))
    ticket = _ticket(factory.user(email="other@example.com"))
    refused = _start(client, ticket)
    assert refused.status_code == 409 and "signed in to another account" in refused.text
    assert client.get("/api/current-user/whoami").json()["email"] == "victim@example.com"
    client.cookies.delete(sessions.SESSION_COOKIE)
    assert _start(client, ticket).status_code == 303  # refused, not used up
    assert client.get("/api/current-user/whoami").json()["email"] == "other@example.com"
