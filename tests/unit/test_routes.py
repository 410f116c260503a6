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


def test_a_signin_ticket_becomes_an_httponly_session_cookie_once(client, factory) -> None:
    user = factory.user()
    with session_scope() as s:
        ticket = sessions.issue_signin_ticket(s, user)
    response = client.get("/session/start", params={"ticket": ticket, "next": "/label?project=1"})
    assert response.status_code == 303 and response.headers["location"] == "/label?project=1"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{sessions.SESSION_COOKIE}=") and "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    again = client.get("/session/start", params={"ticket": ticket})
    assert again.headers["location"] == "/?signin=expired" and "set-cookie" not in again.headers


def test_redirects_stay_on_this_site(client, factory) -> None:
    user = factory.user()
    with session_scope() as s:
        ticket = sessions.issue_signin_ticket(s, user)
    response = client.get("/session/start", params={"ticket": ticket, "next": "//evil.example/x"})
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
