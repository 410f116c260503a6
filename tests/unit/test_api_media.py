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


# --- Paths as an attacker writes them, to a real server on loopback ----------------------

@pytest.fixture
def raw_server(settings):
    """The media routes behind uvicorn on 127.0.0.1, for requests whose path no client
    library has tidied up."""
    import socket
    import threading
    import time

    import uvicorn
    from starlette.applications import Starlette

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(Starlette(routes=routes), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield listener.getsockname()[1]
    server.should_exit = True
    thread.join(10)


def raw_get(port: int, target: str, token: str) -> tuple[int, bytes]:
    """GET with the request target sent byte for byte as written."""
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Token {token}\r\n"
                     "Connection: close\r\n\r\n".encode())
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def test_the_media_route_refuses_paths_that_climb_into_another_project(raw_server, factory, settings, monkeypatch) -> None:
    manager = factory.user(Role.MANAGER)
    mine, theirs = factory.project(manager), factory.project(factory.user(Role.MANAGER))
    member = factory.user(Role.ANNOTATOR)
    factory.member(mine, member, Role.ANNOTATOR)
    secret = local.save_upload(theirs.id, "secret.txt", b"THEIR SECRET")
    name = secret.rsplit("/", 1)[1]
    token = token_for(member)
    monkeypatch.setenv("LABELKIT_LOCAL_FILES_ROOT", str(settings.data_dir))  # a server folder that holds the uploads
    get_settings.cache_clear()
    assert raw_get(raw_server, secret, token)[0] == 404
    for target in [
        f"/data/upload/samples/../{theirs.id}/{name}",
        f"/data/upload/{mine.id}/../{theirs.id}/{name}",
        f"/data/upload/samples/%2e%2e/{theirs.id}/{name}",
        f"/data/upload/samples/%2E%2E/{theirs.id}/{name}",
        f"/data/upload/samples/.%2e/{theirs.id}/{name}",
        f"/data/upload/samples/%252e%252e/{theirs.id}/{name}",
        f"/data/upload/samples/..%2f{theirs.id}/{name}",
        f"/data/upload/{mine.id}/..%5c{theirs.id}/{name}",
        f"/data/local-files/?d=media/upload/{theirs.id}/{name}",
        f"/data/local-files/?d=media/upload/samples/../{theirs.id}/{name}",
        f"/data/local-files/?d=media/upload/samples/%2e%2e/{theirs.id}/{name}",
    ]:
        status, body = raw_get(raw_server, target, token)
        assert status == 404 and b"THEIR SECRET" not in body, (target, status)
    assert raw_get(raw_server, secret, token_for(manager))[0] == 404  # a manager of another project neither
    owner = factory.user(Role.ANNOTATOR)
    factory.member(theirs, owner, Role.ANNOTATOR)
    assert raw_get(raw_server, secret, token_for(owner)) == (200, b"THEIR SECRET")


def test_a_link_given_to_a_member_stops_working_when_they_are_removed(client, factory) -> None:
    """The labeling page's links to a project's files are bound to the account they were made for."""
    from streamlit.testing.v1 import AppTest

    from labelkit.projects.crud import remove_member

    manager, member = factory.user(Role.MANAGER), factory.user(Role.ANNOTATOR)
    project = factory.project(manager, config=IMAGE_CONFIG)
    factory.member(project, member, Role.ANNOTATOR)
    path = local.save_upload(project.id, "photo.png", b"\x89PNG fake")

    def page(project_id: int, user_id: int, value: str) -> None:
        import streamlit as st

        from labelkit.ui import media
        from labelkit.ui.context import USER_KEY

        st.session_state["lk_project"], st.session_state[USER_KEY] = project_id, user_id
        st.text(media.browser_url(value, "http://localhost:8501/label") or "")

    at = AppTest.from_function(page, args=(project.id, member.id, path), default_timeout=30)
    at.run()
    link = at.text[0].value.removeprefix("http://localhost:8501")
    assert link.startswith(path) and client.get(link).content == b"\x89PNG fake"
    with session_scope() as s:
        remove_member(s, s.get(User, manager.id), project.id, member.id)
    assert client.get(link).status_code in (403, 404)
    assert client.get(link).content != b"\x89PNG fake"
    at = AppTest.from_function(page, args=(project.id, manager.id, path), default_timeout=30)
    at.run()
    assert client.get(at.text[0].value.removeprefix("http://localhost:8501")).status_code == 200  # the others keep theirs
    with session_scope() as s:
        s.get(User, manager.id).is_active = False
    assert client.get(at.text[0].value.removeprefix("http://localhost:8501")).status_code == 403
