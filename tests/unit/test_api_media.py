"""Media over HTTP the way a model server fetches it: a task's uploaded file under
/data/upload/... and a server-folder file under /data/local-files/?d=..., with an API token
(`Authorization: Token ...`, as Label Studio backends send it), a session or a signed link,
and nothing else. (tests/unit/test_routes.py covers signed links and members' tokens on uploads.)"""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from labelkit.auth import sessions
from labelkit.db import session_scope
from labelkit.models import Role, User
from labelkit.server import routes
from labelkit.settings import get_settings
from labelkit.storage import local

IMAGE_CONFIG = '<View><Image name="image" value="$image"/><Choices name="c" toName="image"><Choice value="a"/></Choices></View>'


@pytest.fixture
def client(settings):
    return TestClient(Starlette(routes=routes), base_url="http://localhost", follow_redirects=False)


@pytest.fixture
def folder(settings, tmp_path, monkeypatch):
    root = tmp_path / "server-files"
    (root / "cats").mkdir(parents=True)
    (root / "cats" / "tom 1.jpg").write_bytes(b"\xff\xd8\xff fake jpeg")
    monkeypatch.setenv("LABELKIT_LOCAL_FILES_ROOT", str(root))
    get_settings.cache_clear()
    return root


def token_for(user: User) -> str:
    with session_scope() as s:
        return sessions.create_api_token(s, user)


def test_a_model_server_fetches_an_imported_tasks_image_with_the_token_from_the_task_json(client, factory) -> None:
    manager = factory.user(Role.MANAGER)
    project = factory.project(manager, config=IMAGE_CONFIG)
    path = local.save_upload(project.id, "photo.png", b"\x89PNG fake")
    factory.tasks(project, manager, [{"image": path}])
    token = token_for(manager)
    headers = {"Authorization": f"Token {token}"}
    task = client.get("/api/tasks", headers=headers, params={"project": project.id}).json()["tasks"][0]
    assert task["data"]["image"] == path  # Label Studio's path, which backends join to the server's URL
    answer = client.get(task["data"]["image"], headers=headers)
    assert answer.status_code == 200 and answer.content == b"\x89PNG fake"
    assert client.get(path).status_code == 403
    assert client.get(path, headers={"Authorization": "Token forged"}).status_code == 403
    with session_scope() as s:
        account = s.get(User, manager.id)
        sessions.revoke_api_token(s, account, sessions.list_api_tokens(s, account)[0].id)
    assert client.get(path, headers=headers).status_code == 403


def test_server_folder_files_need_a_token_a_session_or_a_signed_link(client, factory, folder) -> None:
    path = local.local_file_path("cats/tom 1.jpg")
    assert path.startswith("/data/local-files/?d=")
    assert client.get(path).status_code == 403
    assert client.get(path, headers={"Authorization": "Token forged"}).status_code == 403
    user = factory.user(Role.ANNOTATOR)
    assert client.get(path, headers={"Authorization": f"Token {token_for(user)}"}).content == b"\xff\xd8\xff fake jpeg"
    assert client.get(local.signed_url(path)).status_code == 200
    with session_scope() as s:
        ticket = sessions.issue_signin_ticket(s, user)
    client.cookies.set(sessions.SIGNIN_COOKIE, ticket.browser_key)
    client.get("/session/start", params={"ticket": ticket.ticket})
    assert client.get(path).status_code == 200
    client.cookies.clear()
    with session_scope() as s:
        s.get(User, user.id).is_active = False
    assert client.get(path, headers={"Authorization": f"Token {token_for(user)}"}).status_code == 403
    assert client.get("/data/local-files/?d=../secret_key", headers={"Authorization": "Token forged"}).status_code == 403
