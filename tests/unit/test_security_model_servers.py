"""A model server gets only what the ML protocol needs, and a manager cannot turn it into a
way to capture anyone's token or stored secrets: the token it receives on /setup is of its
own account (its project's tasks, media and predictions, nothing else, never a person's),
stops working when it is removed or re-pointed, and a new address never receives the
password, headers or token stored for the old one. The model servers are real HTTP servers
on loopback that record what they receive."""

from __future__ import annotations

import base64

import pytest
from sqlmodel import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from labelkit import ml
from labelkit.auth import accounts, sessions
from labelkit.auth.permissions import is_machine
from labelkit.db import session_scope
from labelkit.errors import InvalidInput, NotFound
from labelkit.models import AuthToken, MLBackend, Role, Task, User
from labelkit.projects.crud import list_members, set_member
from labelkit.server import routes
from labelkit.settings import get_settings
from labelkit.storage import local
from tests.mlserver import Running, free_port

IMAGE_CONFIG = '<View><Image name="image" value="$image"/><Choices name="c" toName="image"><Choice value="a"/></Choices></View>'
RESULT = [{"from_name": "c", "to_name": "image", "type": "choices", "value": {"choices": ["a"]}}]


class Recorder:
    """A model server that answers /health and /setup and keeps every request it got."""

    def __init__(self) -> None:
        self.seen: list[dict] = []

    async def handle(self, request: Request) -> JSONResponse:
        body = await request.json() if request.method == "POST" else {}
        self.seen.append({"path": request.url.path, "headers": dict(request.headers), "body": body})
        return JSONResponse({"model_version": "stub-v1"} if request.url.path == "/setup" else {"status": "UP"})

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/health", self.handle), Route("/setup", self.handle, methods=["POST"])])

    def tokens(self) -> list[str]:
        return [r["body"]["access_token"] for r in self.seen if r["path"] == "/setup"]

    def carried(self, secret: str) -> bool:
        """Whether any request carried the secret, in a header or the body, plain or in basic auth."""
        text = repr(self.seen)
        decoded = [base64.b64decode(v.split()[1]).decode() for r in self.seen for k, v in r["headers"].items()
                   if k == "authorization" and v.startswith("Basic ")]
        return secret in text or any(secret in d for d in decoded)


@pytest.fixture
def private_ok(settings, monkeypatch: pytest.MonkeyPatch):
    """The admin setting that lets the server reach loopback (where the test servers are)."""
    monkeypatch.setenv("LABELKIT_ALLOW_PRIVATE_URLS", "true")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def recorders():
    first, second = Recorder(), Recorder()
    with Running(first.app()) as a, Running(second.app()) as b:
        first.url, second.url = a.url, b.url
        yield first, second


@pytest.fixture
def world(factory, private_ok):
    """An admin's two projects with an image task each; a manager of the first only."""
    admin, manager = factory.user(Role.ADMIN), factory.user(Role.MANAGER)
    mine, other = factory.project(admin, config=IMAGE_CONFIG), factory.project(admin, config=IMAGE_CONFIG)
    factory.member(mine, manager, Role.MANAGER)
    for project in (mine, other):
        factory.tasks(project, admin, [{"image": local.save_upload(project.id, "photo.png", b"\x89PNG fake")}])
    return admin, manager, mine, other


@pytest.fixture
def client(settings):
    return TestClient(Starlette(routes=routes), base_url="http://localhost", follow_redirects=False)


def connect(actor, project, url, **kw) -> MLBackend:
    with session_scope() as s:
        return ml.connect(s, actor, project.id, ml.BackendFields(url=url, **kw))


def first_task(project) -> Task:
    with session_scope() as s:
        return s.exec(select(Task).where(Task.project_id == project.id)).one()


def test_the_token_a_model_server_gets_reaches_only_its_project_and_is_nobodys(world, recorders, client) -> None:
    admin, manager, mine, other = world
    recorder, _ = recorders
    backend = connect(manager, mine, recorder.url)
    [token] = recorder.tokens()
    auth = {"Authorization": f"Token {token}"}
    with session_scope() as s:
        holder = sessions.user_for_api_token(s, token)
        assert holder.id not in (admin.id, manager.id) and is_machine(holder) and holder.password_hash is None
        assert not any(t.user_id in (admin.id, manager.id) for t in s.exec(select(AuthToken).where(AuthToken.kind == "api")))
    # What the ML protocol needs, in its project: tasks, their media, predictions.
    mine_task, other_task = first_task(mine), first_task(other)
    assert client.get(f"/api/projects/{mine.id}/tasks", headers=auth).status_code == 200
    assert client.get(f"/api/tasks/{mine_task.id}", headers=auth).status_code == 200
    assert client.get(mine_task.data["image"], headers=auth).status_code == 200
    created = client.post("/api/predictions", headers=auth, json={"task": mine_task.id, "result": RESULT, "score": 0.5})
    assert created.status_code == 201, created.text
    # Nothing else there, and nothing of another project.
    assert client.get(f"/api/projects/{mine.id}/export", headers=auth).status_code == 403
    assert client.post(f"/api/projects/{mine.id}/import", headers=auth, json=[{"image": "x"}]).status_code == 403
    assert client.get(f"/api/projects/{other.id}", headers=auth).status_code == 404
    assert client.get(f"/api/projects/{other.id}/export", headers=auth).status_code == 404
    assert client.get(f"/api/tasks/{other_task.id}", headers=auth).status_code == 404
    assert client.get(other_task.data["image"], headers=auth).status_code in (403, 404)
    assert client.post("/api/predictions", headers=auth, json={"task": other_task.id, "result": RESULT}).status_code == 404
    assert [p["id"] for p in client.get("/api/projects", headers=auth).json()["results"]] == [mine.id]
    # It is not a person: in no team or user list, no sign-in, no role a manager can give it.
    with session_scope() as s:
        assert {m["user_id"] for m in list_members(s, admin, mine.id)} == {admin.id, manager.id}
        assert holder.id not in {u["id"] for u in accounts.list_users(s, admin)}
        with pytest.raises(NotFound):
            set_member(s, manager, mine.id, holder.email, Role.MANAGER)
    with session_scope() as s, pytest.raises(InvalidInput):
        accounts.authenticate(s, holder.email, "")
    # Removed: the token is dead.
    with session_scope() as s:
        ml.remove(s, manager, backend.id)
    assert client.get(f"/api/projects/{mine.id}/tasks", headers=auth).status_code == 401
    assert client.get(mine_task.data["image"], headers=auth).status_code == 403


def test_a_new_address_gets_none_of_the_stored_secrets_and_the_old_token_dies(world, recorders, client) -> None:
    _, manager, mine, _ = world
    old, new = recorders
    backend = connect(manager, mine, old.url, basic_auth_user="ml", basic_auth_password="pass-for-old",
                      headers={"X-Api-Key": "key-for-old"})
    [old_token] = old.tokens()
    assert old.carried("pass-for-old") and old.carried("key-for-old")
    # An address that does not answer: refused, and the backend stays as it was.
    with session_scope() as s, pytest.raises(ml.ModelServerError, match="enter them again"):
        ml.update(s, manager, backend.id, ml.BackendFields(url=f"http://127.0.0.1:{free_port()}", basic_auth_user="ml"))
    with session_scope() as s:
        kept = s.get(MLBackend, backend.id)
        assert kept.url == old.url and ml.backends.connection_of(kept).basic_auth == ("ml", "pass-for-old")
        assert sessions.user_for_api_token(s, old_token) is not None
    # The manager re-points it without typing the secrets again.
    with session_scope() as s:
        change = ml.update(s, manager, backend.id, ml.BackendFields(url=new.url, basic_auth_user="ml"))
    assert change.cleared == ["basic-auth password", "extra headers"]
    assert new.seen and not new.carried("pass-for-old") and not new.carried("key-for-old")
    assert not new.carried(old_token)
    [new_token] = new.tokens()
    assert new_token != old_token
    assert client.get(f"/api/projects/{mine.id}/tasks", headers={"Authorization": f"Token {old_token}"}).status_code == 401
    assert client.get(f"/api/projects/{mine.id}/tasks", headers={"Authorization": f"Token {new_token}"}).status_code == 200
    with session_scope() as s:
        stored = s.get(MLBackend, backend.id)
        assert (stored.url, ml.backends.headers_of(stored), ml.backends.connection_of(stored).basic_auth) == (new.url, {}, ("ml", ""))
    # Later calls to the new address carry only what was entered for it.
    with session_scope() as s:
        ml.check(s, manager, backend.id)
    assert not new.carried("pass-for-old") and not new.carried("key-for-old") and new.tokens()[-1] == new_token


def test_a_backend_kept_with_a_persons_token_gets_its_own_at_the_next_check(world, recorders) -> None:
    admin, _, mine, _ = world
    recorder, _ = recorders
    backend = connect(admin, mine, recorder.url)
    with session_scope() as s:  # as rows connected before model servers had accounts
        personal = sessions.create_api_token(s, s.get(User, admin.id), "model server old")
        row = s.get(MLBackend, backend.id)
        row.access_token_encrypted = ml.backends.crypto.encrypt_secret(personal)
        row.access_token_id = s.exec(select(AuthToken.id).where(AuthToken.token_hash == ml.backends.crypto.token_hash(personal))).one()
    with session_scope() as s:
        assert ml.check(s, admin, backend.id).state == "connected"
    with session_scope() as s:
        assert sessions.user_for_api_token(s, personal) is None  # the person's token is revoked
        assert recorder.tokens()[-1] != personal and is_machine(sessions.user_for_api_token(s, recorder.tokens()[-1]))
