"""Every REST route against every kind of caller, the expected answer generated from the
declaration each route carries (labelkit.api.routing.ACCESS) and the one permission table
(ROLE_CAPABILITIES): 2xx where the role holds the capability, 401 without a valid token
(none, a bad one, a revoked one, a deactivated account's), 403/404 otherwise. Each caller
works on ids of the project they are in (their own task, annotation and prediction). A route
of the app without a declaration, or without a way to call it here, fails.

Cross-project: a member of project A (each role) calls every route with project B's ids and
is refused everywhere, B's data is not in any answer and B is unchanged; the same for B's
uploaded media, cloud storages and model servers through the services. The server's own routes
beside the API (sign-in, invites, media) are declared too (SERVER_ROUTES)."""

from __future__ import annotations

import importlib
import inspect
import io
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from fastapi.routing import APIRoute
from sqlmodel import func, select
from starlette.applications import Starlette
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

import labelkit
from labelkit import importers
from labelkit.api import app as api_app
from labelkit.api.routing import ACCESS, PUBLIC, SIGNED_IN
from labelkit.auth import sessions
from labelkit.auth.accounts import set_active
from labelkit.auth.permissions import PORTAL_CAPABILITIES, ROLE_CAPABILITIES, Capability
from labelkit.db import session_scope
from labelkit.errors import NotFound, PermissionDenied
from labelkit.labeling import predictions, queue, submissions
from labelkit.models import (
    Annotation,
    CloudStorage,
    MLBackend,
    Prediction,
    Project,
    Role,
    Task,
    User,
)
from labelkit.projects import comments
from labelkit.reports.task_table import TaskQuery
from labelkit.server import routes

POSITIVE = [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["Positive"]}}]
CONFIG = """<View><Text name="text" value="$text"/>
<Choices name="sentiment" toName="text"><Choice value="Positive"/><Choice value="Negative"/></Choices></View>"""

UNAUTHENTICATED = ["no token", "bad token", "revoked token", "deactivated"]
MEMBERS = {"annotator": Role.ANNOTATOR, "reviewer": Role.REVIEWER, "manager": Role.MANAGER}
ACCOUNT_ROLE = {"annotator": Role.ANNOTATOR, "reviewer": Role.ANNOTATOR, "manager": Role.MANAGER,
                "portal manager": Role.MANAGER, "admin": Role.ADMIN}
CALLERS = [*UNAUTHENTICATED, *MEMBERS, "portal manager", "admin"]
SECRET_B = "osprey-secret-text"


def app_endpoints() -> set[tuple[str, str]]:
    """(method, path) of every route of the API app, each path without its trailing slash."""
    found = set()
    for prefix, route in _routes(api_app.routes):
        path = (prefix + route.path).rstrip("/") or "/"
        if isinstance(route, APIRoute | Route):
            found |= {(m, path) for m in route.methods if m != "HEAD"}
        elif isinstance(route, Mount):
            found.add(("GET", path))
        else:
            found.add(("?", path))
    return found


def _routes(routes: list, prefix: str = "") -> list:
    """(prefix, route) of every route, included routers opened (FastAPI keeps them whole)."""
    found = []
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            found += _routes(included.routes, prefix + route.include_context.prefix)
        else:
            found.append((prefix, route))
    return found


def held(caller: str) -> set[Capability]:
    """What the permission table gives the caller in project A (and portal-wide)."""
    if caller in UNAUTHENTICATED:
        return set()
    portal = set(ROLE_CAPABILITIES[ACCOUNT_ROLE[caller]] & PORTAL_CAPABILITIES)
    if caller == "admin":
        return set(ROLE_CAPABILITIES[Role.ADMIN])
    in_project = set(ROLE_CAPABILITIES[MEMBERS[caller]] - PORTAL_CAPABILITIES) if caller in MEMBERS else set()
    return portal | in_project


def expected(access: Capability | str, caller: str) -> str:
    if access == PUBLIC:
        return "2xx"
    if caller in UNAUTHENTICATED:
        return "401"
    if access == SIGNED_IN:
        return "2xx"
    return "2xx" if access in held(caller) else "403/404"


def status_class(code: int) -> str:
    if 200 <= code < 300:
        return "2xx"
    return {401: "401", 403: "403/404", 404: "403/404"}.get(code, str(code))


# The world: project A with its members, each of whom holds a task, an annotation and a
# prediction of their own; project B with people of its own.


@dataclass
class Ids:
    project: int
    task: int
    annotation: int
    prediction: int


@dataclass
class World:
    factory: object
    admin: User
    a: Project
    b: Project
    users: dict[str, User] = field(default_factory=dict)
    tokens: dict[str, dict] = field(default_factory=dict)
    own: dict[str, Ids] = field(default_factory=dict)
    b_ids: Ids | None = None
    b_storage: int = 0
    b_backend: int = 0
    b_comment: int = 0

    def task_ids(self, project: Project) -> list[int]:
        with session_scope(write=False) as s:
            return list(s.exec(select(Task.id).where(Task.project_id == project.id).order_by(Task.id)).all())

    def work_of(self, user: User, project: Project) -> Ids:
        """A task the user claims and annotates, with a prediction on it."""
        with session_scope() as s:
            task = queue.claim_next(s, user, project.id).task
            annotation = submissions.submit(s, user, task.id, POSITIVE, 1.0).annotation
            prediction = predictions.create_prediction(s, self.admin, task.id, POSITIVE, 0.5, "v1")
            return Ids(project.id, task.id, annotation.id, prediction.id)

    def fresh_project(self, caller: str) -> int:
        project = self.factory.project(self.admin, config=CONFIG, title="Doomed")
        if caller in MEMBERS:
            self.factory.member(project, self.users[caller], MEMBERS[caller])
        return project.id

    def fresh_task(self) -> int:
        payload = b'[{"text": "one more"}]'
        with session_scope() as s:
            importers.import_sources(s, self.admin, self.a.id, [("more.json", io.BytesIO(payload), len(payload))])
        return self.task_ids(self.a)[-1]


def token(user: User) -> dict:
    with session_scope() as s:
        return {"Authorization": f"Token {sessions.create_api_token(s, user)}"}


@pytest.fixture
def world(factory) -> World:
    admin = factory.user(Role.ADMIN, email="admin@example.com")
    a = factory.project(admin, config=CONFIG, title="Heron survey")
    factory.tasks(a, admin, [{"text": f"heron {i}"} for i in range(40)])
    b = factory.project(admin, config=CONFIG, title="Osprey survey")
    factory.tasks(b, admin, [{"text": f"{SECRET_B} {i}"} for i in range(5)])
    w = World(factory, admin, a, b)
    w.users["admin"] = admin
    for caller, role in MEMBERS.items():
        w.users[caller] = factory.user(ACCOUNT_ROLE[caller], email=f"{caller}@example.com")
        factory.member(a, w.users[caller], role)
    w.users["portal manager"] = factory.user(Role.MANAGER, email="portal-manager@example.com")
    for caller, user in w.users.items():
        w.tokens[caller] = token(user)
        if caller != "portal manager":
            w.own[caller] = w.work_of(user, a)
    w.own["portal manager"] = w.own["manager"]  # A's ids, of a project they are not in
    # Callers without a valid token.
    w.tokens["no token"] = {}
    w.tokens["bad token"] = {"Authorization": "Token not-a-token-at-all"}
    revoked = factory.user(email="revoked@example.com")
    factory.member(a, revoked, Role.MANAGER)
    w.tokens["revoked token"] = token(revoked)
    with session_scope() as s:
        sessions.revoke_all(s, revoked, api_tokens=True)
    gone = factory.user(Role.MANAGER, email="deactivated@example.com")
    factory.member(a, gone, Role.MANAGER)
    w.tokens["deactivated"] = token(gone)
    with session_scope() as s:
        set_active(s, admin, gone.id, False)
    for caller in UNAUTHENTICATED:
        w.own[caller] = w.own["manager"]
    # B's own people and work.
    b_manager = factory.user(Role.MANAGER, email="b-manager@example.com")
    factory.member(b, b_manager, Role.MANAGER)
    w.users["b manager"] = b_manager
    w.b_ids = w.work_of(b_manager, b)
    with session_scope() as s:
        storage = CloudStorage(project_id=b.id, kind="source", bucket="osprey-bucket")
        backend = MLBackend(project_id=b.id, url="http://127.0.0.1:9/", title="Osprey model")
        s.add(storage)
        s.add(backend)
        s.flush()
        w.b_storage, w.b_backend = storage.id, backend.id
        w.b_comment = comments.add_comment(s, s.get(User, b_manager.id), w.b_ids.task, "osprey comment").comment.id
    return w


# How to call each route: (method, path) -> (world, caller, ids) -> (url, request keyword arguments).
Call = Callable[[World, str, Ids], tuple[str, dict]]


def _fresh_annotation(w: World, caller: str, ids: Ids) -> tuple[str, dict]:
    if caller in UNAUTHENTICATED or caller == "portal manager" or ids.project != w.a.id:
        return f"/annotations/{ids.annotation}", {}
    return f"/annotations/{w.work_of(w.users[caller], w.a).annotation}", {}


def _fresh_task(w: World, caller: str, ids: Ids) -> tuple[str, dict]:
    return f"/tasks/{w.fresh_task() if ids.project == w.a.id else ids.task}", {}


def _fresh_project(w: World, caller: str, ids: Ids) -> tuple[str, dict]:
    return f"/projects/{w.fresh_project(caller) if ids.project == w.a.id else ids.project}", {}


CALLS: dict[tuple[str, str], Call] = {
    ("GET", "/health"): lambda w, c, i: ("/health", {}),
    ("GET", "/version"): lambda w, c, i: ("/version", {}),
    ("GET", "/openapi.json"): lambda w, c, i: ("/openapi.json", {}),
    ("GET", "/docs"): lambda w, c, i: ("/docs", {}),
    ("GET", "/docs-assets"): lambda w, c, i: ("/docs-assets/swagger-ui.css", {}),
    ("GET", "/current-user/whoami"): lambda w, c, i: ("/current-user/whoami", {}),
    ("GET", "/projects"): lambda w, c, i: ("/projects", {}),
    ("POST", "/projects"): lambda w, c, i: ("/projects", {"json": {"title": "New", "label_config": CONFIG}}),
    ("GET", "/projects/{id}"): lambda w, c, i: (f"/projects/{i.project}", {}),
    ("PATCH", "/projects/{id}"): lambda w, c, i: (f"/projects/{i.project}", {"json": {"description": "changed"}}),
    ("DELETE", "/projects/{id}"): _fresh_project,
    ("POST", "/projects/{id}/import"): lambda w, c, i: (f"/projects/{i.project}/import", {"json": [{"text": "imported"}]}),
    ("GET", "/projects/{id}/export"): lambda w, c, i: (f"/projects/{i.project}/export", {"params": {"exportType": "JSON"}}),
    ("GET", "/projects/{id}/export/formats"): lambda w, c, i: (f"/projects/{i.project}/export/formats", {}),
    ("GET", "/projects/{id}/next"): lambda w, c, i: (f"/projects/{i.project}/next", {}),
    ("GET", "/projects/{id}/tasks"): lambda w, c, i: (f"/projects/{i.project}/tasks", {}),
    ("GET", "/tasks"): lambda w, c, i: ("/tasks", {"params": {"project": i.project}}),
    ("GET", "/tasks/{id}"): lambda w, c, i: (f"/tasks/{i.task}", {}),
    ("DELETE", "/tasks/{id}"): _fresh_task,
    ("GET", "/tasks/{id}/annotations"): lambda w, c, i: (f"/tasks/{i.task}/annotations", {}),
    ("POST", "/tasks/{id}/annotations"): lambda w, c, i: (f"/tasks/{i.task}/annotations", {"json": {"result": POSITIVE}}),
    ("GET", "/annotations/{id}"): lambda w, c, i: (f"/annotations/{i.annotation}", {}),
    ("PATCH", "/annotations/{id}"): lambda w, c, i: (f"/annotations/{i.annotation}", {"json": {"result": POSITIVE}}),
    ("DELETE", "/annotations/{id}"): _fresh_annotation,
    ("POST", "/predictions"): lambda w, c, i: ("/predictions", {"json": {"task": i.task, "result": POSITIVE, "score": 0.5}}),
    ("GET", "/predictions"): lambda w, c, i: ("/predictions", {"params": {"project": i.project}}),
    ("GET", "/predictions/{id}"): lambda w, c, i: (f"/predictions/{i.prediction}", {}),
}
# Routes that take no id of a project: nothing of B's to try them with.
NO_PROJECT = {("GET", "/health"), ("GET", "/version"), ("GET", "/openapi.json"), ("GET", "/docs"), ("GET", "/docs-assets"),
              ("GET", "/current-user/whoami"), ("GET", "/projects"), ("POST", "/projects")}


@pytest.fixture
def client(settings):
    return TestClient(Starlette(routes=routes), base_url="http://localhost", follow_redirects=False)


def test_every_route_declares_who_may_call_it() -> None:
    endpoints = app_endpoints()
    assert endpoints - set(ACCESS) == set(), "routes without an entry in labelkit.api.routing.ACCESS"
    assert set(ACCESS) - endpoints == set(), "entries in ACCESS without a route"
    assert all(v in (PUBLIC, SIGNED_IN) or isinstance(v, Capability) for v in ACCESS.values())
    assert endpoints - set(CALLS) == set(), "routes this test does not know how to call: add them to CALLS"
    # The declaration is in the OpenAPI description too, for people writing clients.
    for path, operations in api_app.openapi()["paths"].items():
        for method, operation in operations.items():
            assert operation["x-labelkit-access"] == str(ACCESS[(method.upper(), path)]), (method, path)


def test_each_route_answers_each_caller_as_the_permission_table_says(client, world: World) -> None:
    wrong = []
    for caller in CALLERS:
        wrong += calls_as(client, world, caller)
    assert not wrong, "\n".join(wrong)


def calls_as(client, world: World, caller: str) -> list[str]:
    """Every route as the caller, with their ids: what differs from the table."""
    wrong = []
    for endpoint in sorted(app_endpoints()):
        method, _ = endpoint
        url, kwargs = CALLS[endpoint](world, caller, world.own[caller])
        answer = client.request(method, f"/api{url}", headers=world.tokens[caller], **kwargs)
        want, got = expected(ACCESS[endpoint], caller), status_class(answer.status_code)
        if want != got:
            wrong.append(f"{method} {url} as {caller}: {answer.status_code} {answer.text[:120]!r}, expected {want}")
        if got == "401" and answer.headers.get("www-authenticate") != "Token":
            wrong.append(f"{method} {url} as {caller}: a 401 without WWW-Authenticate: Token")
    return wrong


def b_state() -> tuple:
    with session_scope(write=False) as s:
        b = s.exec(select(Project).where(Project.title == "Osprey survey")).one()
        return (b.title, b.description, b.deleted_at,
                s.exec(select(func.count()).select_from(Task).where(Task.project_id == b.id, Task.deleted_at.is_(None))).one(),
                tuple(s.exec(select(Annotation.id, Annotation.result, Annotation.deleted_at).where(Annotation.project_id == b.id)).all()),
                s.exec(select(func.count()).select_from(Prediction).where(Prediction.project_id == b.id)).one())


def test_a_member_of_one_project_is_refused_everything_of_another(client, world: World) -> None:
    before = b_state()
    wrong = []
    for caller in MEMBERS:
        wrong += b_calls_as(client, world, caller)
    assert not wrong, "\n".join(wrong)
    assert b_state() == before, "project B changed"
    # B's own manager still reads it all: the ids were right.
    b_token = token(world.users["b manager"])
    assert client.get(f"/api/tasks/{world.b_ids.task}", headers=b_token).json()["data"]["text"].startswith(SECRET_B)
    # And B's uploaded media.
    from labelkit.storage import local

    path = local.save_upload(world.b.id, "secret.png", b"\x89PNG\r\n\x1a\nsecret")
    assert client.get(path, headers=b_token).status_code == 200
    for caller in (*MEMBERS, "portal manager"):
        answer = client.get(path, headers=world.tokens[caller])
        assert answer.status_code in (403, 404), (caller, answer.status_code)
        assert b"secret" not in answer.content
    climbing = path.replace(f"/upload/{world.b.id}/", f"/upload/{world.a.id}/../{world.b.id}/")
    assert client.get(climbing, headers=world.tokens["manager"]).status_code in (400, 403, 404)
    assert client.get(path).status_code in (401, 403, 404)


def b_calls_as(client, world: World, caller: str) -> list[str]:
    """Every route as a member of A with B's ids: what is not refused or shows B's data."""
    wrong = []
    for endpoint in sorted(app_endpoints()):
        method, _ = endpoint
        url, kwargs = CALLS[endpoint](world, caller, world.b_ids)
        answer = client.request(method, f"/api{url}", headers=world.tokens[caller], **kwargs)
        if SECRET_B in answer.text or "Osprey" in answer.text:
            wrong.append(f"{method} {url}: shows project B's data")
        if endpoint in NO_PROJECT:
            continue
        if status_class(answer.status_code) != "403/404":
            wrong.append(f"{method} {url} as {caller} of A: {answer.status_code} {answer.text[:120]!r}")
    # The other spellings of the query routes, with B's task.
    for url, params in (("/predictions", {"task": world.b_ids.task}),):
        answer = client.get(f"/api{url}", headers=world.tokens[caller], params=params)
        if status_class(answer.status_code) != "403/404":
            wrong.append(f"GET {url} {params} as {caller} of A: {answer.status_code}")
    return wrong


# The services: every function of labelkit that takes (session, actor, <an id>...), called by
# A's manager (who holds every project capability in A) with B's ids, is refused.

ID_PARAMS = {"project_id", "task_id", "annotation_id", "storage_id", "backend_id", "prediction_id", "comment_id",
             "project_ids", "ref", "project", "task", "tasks"}
# Functions of that shape that are not a door into a project, and why.
NOT_GUARDS = {
    "labelkit.audit.record": "writes an audit event about what the caller did; callers check first",
    "labelkit.projects.notify.mark_read": "marks only the caller's own notifications read",
}


def service_functions() -> list[tuple[str, Callable, list[inspect.Parameter]]]:
    found = []
    for info in pkgutil.walk_packages(labelkit.__path__, "labelkit."):
        if any(part in info.name.split(".") for part in ("ui", "api", "cli", "server")):
            continue
        module = importlib.import_module(info.name)
        for name, fn in vars(module).items():
            if name.startswith("_") or not inspect.isfunction(fn) or fn.__module__ != module.__name__:
                continue
            params = list(inspect.signature(fn).parameters.values())
            names = [p.name for p in params]
            if names[:2] == ["session", "actor"] and set(names) & ID_PARAMS:
                found.append((f"{info.name}.{name}", fn, params))
    return found


def b_arguments(w: World) -> dict:
    """A value for each parameter a service may require, naming B's things."""
    from labelkit.cloud import StorageFields
    from labelkit.ml.backends import BackendFields
    from labelkit.projects.crud import ProjectFields

    payload = b'[{"text": "smuggled"}]'
    with session_scope(write=False) as s:  # B's rows, for services that take them loaded (as a checked call gave them)
        b_project, b_task = s.get(Project, w.b.id), s.get(Task, w.b_ids.task)
    return {
        "project_ids": [w.b.id], "ref": str(w.b.id), "project": b_project, "task": b_task, "tasks": [b_task],
        "value": f"s3://b-bucket/{SECRET_B}.png", "query": TaskQuery(), "cursor": None, "size": 10,
        "project_id": w.b.id, "task_id": w.b_ids.task, "annotation_id": w.b_ids.annotation, "prediction_id": w.b_ids.prediction,
        "storage_id": w.b_storage, "backend_id": w.b_backend, "comment_id": w.b_comment,
        "task_ids": [w.b_ids.task], "user_ids": [w.users["b manager"].id], "user_id": w.users["b manager"].id,
        "result": POSITIVE, "text": "hello", "comment": "ok", "email": "new@example.com", "role": Role.ANNOTATOR,
        "reason": "", "model_version": "v1", "format_name": "JSON", "out": io.BytesIO(), "count": 1, "on": True,
        "resolved": True, "lead_time": 1.0, "threshold": 0.5, "score": 0.5, "ids": [],
        "sources": [("t.json", io.BytesIO(payload), len(payload))],
        "fields": None,  # per module, below
        "_fields": {"labelkit.cloud": StorageFields(kind="source", bucket="a-bucket"),
                    "labelkit.ml.backends": BackendFields(url="http://127.0.0.1:9/"),
                    "labelkit.projects.crud": ProjectFields(title="Taken over", label_config=CONFIG)},
    }


def test_a_member_of_one_project_is_refused_every_service_of_another(world: World) -> None:
    functions = service_functions()
    assert len(functions) > 50, "the walk found too few services"
    values = b_arguments(world)
    manager = world.users["manager"]
    before = b_state()
    wrong = []
    for qualified, fn, params in functions:
        if qualified in NOT_GUARDS:
            continue
        module = qualified.rsplit(".", 1)[0]
        kwargs = {}
        for p in params[2:]:
            if p.default is not inspect.Parameter.empty and p.name not in ID_PARAMS:
                continue
            if p.name == "fields":
                kwargs["fields"] = values["_fields"][module]
            elif p.name in values:
                kwargs[p.name] = values[p.name]
            elif p.default is inspect.Parameter.empty:
                wrong.append(f"{qualified}: no value for its parameter {p.name!r}; add one to b_arguments")
                break
        else:
            try:
                with session_scope() as s:
                    fn(s, s.get(User, manager.id), **kwargs)
            except (PermissionDenied, NotFound):
                continue
            except Exception as error:  # noqa: BLE001 - anything but a refusal is reported
                wrong.append(f"{qualified}: {type(error).__name__}: {error}")
                continue
            wrong.append(f"{qualified}: not refused")
    assert not wrong, "\n".join(wrong)
    assert b_state() == before, "project B changed"
    with session_scope(write=False) as s:
        assert s.get(CloudStorage, world.b_storage) is not None and s.get(MLBackend, world.b_backend) is not None


# The server's routes beside the API (labelkit/server.py): each one's rule, checked for a
# caller without a session, and with a token where a signed link is what it takes.
SERVER_ROUTES = {
    "/session/start": "public: trades a one-time sign-in ticket for a session cookie",
    "/session/logout": "public: ends the caller's own session",
    "/invite/{token}": "public: keeps an invite token in a cookie across a sign-in",
    "/session/invite-done": "public: forgets that invite cookie",
    "/data/upload/{path:path}": "project.view of the file's project, or a signed link",
    "/data/local-files/": "signed-in: the server folder an admin shares with every account, or a signed link",
    "/data/storage/{storage_id:int}/{key:path}": "a signed link only",
    "/api": "the REST API: labelkit.api.routing.ACCESS",
}


def test_the_servers_own_routes_are_declared_and_refuse_strangers(client, world: World) -> None:
    assert {route.path for route in routes} == set(SERVER_ROUTES), "a server route without an entry in SERVER_ROUTES"
    from labelkit.storage import local

    path = local.save_upload(world.a.id, "a.png", b"\x89PNG\r\n\x1a\nheron")
    assert client.get(path).status_code == 403
    assert client.get(path, headers=world.tokens["annotator"]).status_code == 200
    assert client.get(path, headers=world.tokens["revoked token"]).status_code == 403
    assert client.get(path, headers=world.tokens["deactivated"]).status_code == 403
    assert client.get("/data/local-files/", params={"d": "x.png"}).status_code == 403
    assert client.get("/data/storage/1/x.png", headers=world.tokens["admin"]).status_code == 403  # no signature
    assert client.get("/data/storage/1/x.png", params={"exp": "9999999999", "sig": "forged"}).status_code == 403
    ticket = client.get("/session/start", params={"ticket": "forged", "next": "//evil.example/"})
    assert ticket.status_code == 303 and ticket.headers["location"].startswith("/?")  # the sign-in page, not //evil...
    assert f"{sessions.SESSION_COOKIE}=" not in ticket.headers.get("set-cookie", "")
