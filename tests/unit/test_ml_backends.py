"""Model servers attached to a project: connecting (health and setup against a real server on
loopback), who may, which addresses, a broken server's clear errors, pre-labeling in batches."""

from __future__ import annotations

import time

import pytest
from sqlmodel import select

from labelkit import ml
from labelkit.auth.sessions import user_for_api_token
from labelkit.cloud import decrypt_secret
from labelkit.db import session_scope
from labelkit.errors import InvalidInput, LabelkitError, PermissionDenied
from labelkit.labeling import predictions
from labelkit.ml.client import Connection, ModelServerClient, read_predictions
from labelkit.models import AuditEvent, MLBackend, Prediction, Role, Task
from labelkit.settings import get_settings
from tests.mlserver import Running, TestModelServer

# The ML backend protocol and its safety; the rows it keeps are plain inserts and updates.
pytestmark = pytest.mark.one_database


@pytest.fixture
def private_ok(settings, monkeypatch: pytest.MonkeyPatch):
    """The admin setting that lets the server reach loopback addresses (the model server)."""
    monkeypatch.setenv("LABELKIT_ALLOW_PRIVATE_URLS", "true")
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


@pytest.fixture
def model():
    server = TestModelServer()
    with Running(server.app()) as running:
        server.url = running.url
        yield server


@pytest.fixture
def team(factory, private_ok):
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin)
    factory.tasks(project, admin, [{"text": f"review {i} was good" if i % 2 else f"review {i} was awful"} for i in range(1, 21)])
    people = {role: factory.user(role) for role in (Role.MANAGER, Role.REVIEWER, Role.ANNOTATOR)}
    for role, person in people.items():
        factory.member(project, person, role)
    return admin, project, people


def wait_for(condition, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the model server never got it"
        time.sleep(0.05)


def connect(actor, project, url, **kw):
    with session_scope() as s:
        return ml.connect(s, actor, project.id, ml.BackendFields(url=url, **kw))


def test_a_manager_connects_a_server_it_answers_health_and_setup_and_gets_a_token(team, model) -> None:
    _, project, people = team
    backend = connect(people[Role.MANAGER], project, model.url, title="Sentiment NB", headers={"X-Team": "blue"})
    assert model.setups == 1
    with session_scope() as s:
        stored = s.get(MLBackend, backend.id)
        assert (stored.title, stored.model_version, stored.state) == ("Sentiment NB", "example-v0", "connected")
        token = decrypt_secret(stored.access_token_encrypted)
        assert token and token not in stored.access_token_encrypted
        holder = user_for_api_token(s, token)  # the server fetches media as its own account, never as a person
        assert holder.role == Role.MODEL_SERVER and holder.id != people[Role.MANAGER].id
        assert ml.backends.headers_of(stored) == {"X-Team": "blue"}
        assert "blue" not in stored.headers_encrypted
        assert s.exec(select(AuditEvent).where(AuditEvent.action == "ml.connect")).one().project_id == project.id


def test_removing_a_server_revokes_its_token_and_keeps_its_predictions(team, model) -> None:
    admin, project, _ = team
    backend = connect(admin, project, model.url)
    with session_scope() as s:
        ml.predict(s, admin, project.id)
    with session_scope() as s:
        token = decrypt_secret(s.get(MLBackend, backend.id).access_token_encrypted)
        ml.remove(s, admin, backend.id)
    with session_scope() as s:
        assert user_for_api_token(s, token) is None
        assert s.get(MLBackend, backend.id) is None
        assert len(s.exec(select(Prediction)).all()) == 20


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.ANNOTATOR])
def test_reviewers_and_annotators_cannot_attach_or_use_a_model(team, model, role) -> None:
    admin, project, people = team
    with pytest.raises(PermissionDenied):
        connect(people[role], project, model.url)
    backend = connect(admin, project, model.url)
    with session_scope() as s, pytest.raises(PermissionDenied):
        ml.predict(s, people[role], project.id)
    with session_scope() as s, pytest.raises(PermissionDenied):
        ml.remove(s, people[role], backend.id)
    with session_scope() as s, pytest.raises(PermissionDenied):
        ml.start_training(s, people[role], project.id)
    with session_scope() as s, pytest.raises(PermissionDenied):
        ml.list_backends(s, people[role], project.id)
    with session_scope() as s:
        assert len(s.exec(select(MLBackend)).all()) == 1


def test_a_deactivated_manager_cannot_attach_a_model(team, model) -> None:
    from labelkit.models import User

    _, project, people = team
    with session_scope() as s:
        s.get(User, people[Role.MANAGER].id).is_active = False
    with session_scope() as s:
        gone = s.get(User, people[Role.MANAGER].id)
    with pytest.raises(PermissionDenied):
        connect(gone, project, model.url)
    assert model.setups == 0


def test_private_addresses_are_refused_without_the_admin_setting(factory, model) -> None:
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin)
    for url in (model.url, "http://169.254.169.254/latest", "http://10.0.0.7:9090"):
        with pytest.raises(InvalidInput, match="private network"):
            connect(admin, project, url)
    with pytest.raises(InvalidInput, match="not an http"):
        connect(admin, project, "file:///etc/passwd")
    assert model.setups == 0
    with session_scope() as s:
        assert s.exec(select(MLBackend)).all() == []


def test_bad_fields_are_refused_and_change_nothing(team, model) -> None:
    admin, project, _ = team
    for kw, message in [({"timeout": 0}, "timeout"), ({"predict_every": -1}, "Predict every"),
                        ({"headers": {"Bad Header": "x"}}, "header"), ({"basic_auth_password": "p"}, "user name")]:
        with pytest.raises(InvalidInput, match=message):
            connect(admin, project, model.url, **kw)
    with pytest.raises(InvalidInput, match="Name: value"):
        ml.parse_header("no colon here")
    assert ml.parse_header("Authorization: Bearer x:y") == ("Authorization", "Bearer x:y")
    with session_scope() as s:
        assert s.exec(select(MLBackend)).all() == []


def test_a_server_that_does_not_answer_is_not_kept_and_says_why(team, model) -> None:
    admin, project, _ = team
    from tests.mlserver import free_port

    with pytest.raises(ml.ModelServerError, match="Could not reach the model server"):
        connect(admin, project, f"http://127.0.0.1:{free_port()}")
    model.mode = "500"
    # /setup still answers; /predict does not: connecting works, pre-labeling says why
    backend = connect(admin, project, model.url)
    with session_scope() as s, pytest.raises(ml.PredictionStopped, match="answered 500 to /predict: model exploded") as stopped:
        ml.predict(s, admin, project.id)
    assert stopped.value.summary.stored == 0
    with session_scope() as s:
        stored = s.get(MLBackend, backend.id)
        assert stored.state == "error" and "model exploded" in stored.last_error
        assert s.exec(select(AuditEvent.detail).where(AuditEvent.action == "ml.predict")).one()["failed"] == 16


def test_pre_labeling_unlabeled_tasks_goes_in_batches_with_progress_and_keeps_version_and_score(team, model) -> None:
    admin, project, people = team
    connect(admin, project, model.url)
    with session_scope() as s:
        first = s.exec(select(Task.id).where(Task.project_id == project.id).order_by(Task.id)).first()
    from labelkit.labeling import submissions
    from tests.unit.test_predictions import choice

    with session_scope() as s:  # one task is labeled: "unlabeled" leaves it out
        submissions.submit(s, admin, first, choice("Positive"))
    wait_for(lambda: model.events == ["ANNOTATION_CREATED"])  # the server learned from it: example-v1
    seen = []
    with session_scope() as s:
        summary = ml.predict(s, people[Role.MANAGER], project.id, progress=lambda done, total: seen.append((done, total)))
    assert (summary.total, summary.sent, summary.stored, summary.failed) == (19, 19, 19, 0)
    assert model.batches == [16, 3]
    assert seen == [(0, 19), (16, 19), (19, 19)]
    with session_scope() as s:
        rows = s.exec(select(Prediction).where(Prediction.project_id == project.id)).all()
        assert {p.model_version for p in rows} == {"example-v1"} and all(p.ml_backend_id for p in rows)
        assert all(p.score is not None and p.result[0]["from_name"] == "sentiment" for p in rows)
        assert first not in {p.task_id for p in rows}
        assert all(0 < t.uncertainty < 1 for t in s.exec(select(Task).where(Task.id != first)).all())
        assert predictions.model_versions(s, admin, project.id) == [("example-v1", 19)]
    with session_scope() as s:  # again: nothing left unlabeled by this version
        assert ml.predict(s, admin, project.id).sent == 0
    with session_scope() as s:  # all: every task again
        assert ml.predict(s, admin, project.id, only_unlabeled=False).stored == 20


def test_a_failing_batch_keeps_the_batches_before_it(team, model) -> None:
    admin, project, _ = team
    connect(admin, project, model.url)
    model.fail_after = 1
    with session_scope() as s, pytest.raises(ml.PredictionStopped, match="16 of 20 tasks were pre-labeled") as stopped:
        ml.predict(s, admin, project.id, only_unlabeled=False)
    assert (stopped.value.summary.stored, stopped.value.summary.failed) == (16, 4)
    with session_scope() as s:
        assert len(s.exec(select(Prediction)).all()) == 16
    model.fail_after = None
    with session_scope() as s:  # the rest, when the server is well again
        assert ml.predict(s, admin, project.id).stored == 4
        assert s.exec(select(MLBackend)).one().state == "connected"


@pytest.mark.parametrize("mode, message", [("garbage", "did not answer JSON"), ("short", "answered 15 results for 16 tasks")])
def test_an_unusable_answer_is_a_clear_error_and_stores_nothing(team, model, mode, message) -> None:
    admin, project, _ = team
    connect(admin, project, model.url)
    model.mode = mode
    with session_scope() as s, pytest.raises(ml.ModelServerError, match=message):
        ml.predict(s, admin, project.id)
    with session_scope() as s:
        assert s.exec(select(Prediction)).all() == []


def test_a_slow_server_times_out_with_a_message_that_says_so(team, model) -> None:
    admin, project, _ = team
    connect(admin, project, model.url, timeout=1)
    model.delay = 3
    with session_scope() as s, pytest.raises(ml.ModelServerError, match="timed out after 1 s"):
        ml.predict(s, admin, project.id)


def test_both_answer_shapes_are_read() -> None:
    item = {"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["Positive"]}}
    v2 = {"results": [{"result": [item], "score": 0.9, "model_version": "m2"}, [{"result": [item], "score": 0.4}], []]}
    found = read_predictions(v2, [1, 2, 3])
    assert [(t.task_id, [(p["score"], p["model_version"]) for p in t.predictions]) for t in found] == [
        (1, [(0.9, "m2")]), (2, [(0.4, "")]), (3, [])]
    v1 = {"results": [{"result": [item], "score": 0.7}], "model_version": "INITIAL"}
    assert read_predictions(v1, [5])[0].predictions[0]["model_version"] == "INITIAL"
    with pytest.raises(ml.ModelServerError, match="not a prediction"):
        read_predictions({"results": ["nope"]}, [1])
    with pytest.raises(ml.ModelServerError, match="no list of results"):
        read_predictions({"error": "x"}, [1])


def test_basic_auth_and_headers_are_sent(private_ok) -> None:
    seen = {}

    async def health(request):
        from starlette.responses import JSONResponse

        seen.update(request.headers)
        return JSONResponse({"status": "UP"})

    from starlette.applications import Starlette
    from starlette.routing import Route

    with Running(Starlette(routes=[Route("/health", health)])) as running:
        ModelServerClient(Connection(running.url, 5, ("ml", "s3cret"), {"X-Team": "blue"})).health()
    assert seen["authorization"].startswith("Basic ") and seen["x-team"] == "blue"


def test_choosing_the_shown_model_version(team, model) -> None:
    admin, project, people = team
    connect(admin, project, model.url)
    with session_scope() as s:
        ml.predict(s, admin, project.id)
    with session_scope() as s:
        assert ml.choose_model_version(s, people[Role.MANAGER], project.id, "example-v0").model_version == "example-v0"
    with session_scope() as s, pytest.raises(InvalidInput, match="no predictions of model version"):
        ml.choose_model_version(s, admin, project.id, "v99")
    with session_scope() as s, pytest.raises(PermissionDenied):
        ml.choose_model_version(s, people[Role.ANNOTATOR], project.id, "")
    with session_scope() as s, pytest.raises(LabelkitError):
        ml.check(s, people[Role.ANNOTATOR], 1)


def test_a_manager_changes_a_server_and_a_check_keeps_its_state(team, model, monkeypatch: pytest.MonkeyPatch) -> None:
    admin, project, people = team
    backend = connect(admin, project, model.url, basic_auth_user="ml", basic_auth_password="s3cret", headers={"X-A": "1"})
    fields = ml.BackendFields(url=model.url, title="Renamed", basic_auth_user="ml", timeout=5, interactive=True, predict_every=10)
    with session_scope() as s:
        ml.update(s, people[Role.MANAGER], backend.id, fields)
    with session_scope() as s:
        row = s.get(MLBackend, backend.id)
        assert (row.title, row.timeout, row.is_interactive, row.predict_every) == ("Renamed", 5, True, 10)
        assert ml.backends.connection_of(row).basic_auth == ("ml", "s3cret")  # "" kept the password
        assert ml.backends.headers_of(row) == {"X-A": "1"}  # None kept the headers
    from tests.mlserver import free_port

    gone = f"http://127.0.0.1:{free_port()}"
    with session_scope() as s, pytest.raises(ml.ModelServerError, match="Could not reach"):
        ml.update(s, admin, backend.id, ml.BackendFields(url=gone))
    with session_scope() as s:
        assert s.get(MLBackend, backend.id).url == model.url  # a new address must answer first
        row = s.get(MLBackend, backend.id)
        row.url = gone
    with session_scope() as s:
        checked = ml.check(s, admin, backend.id)
    assert checked.state == "error" and "Could not reach" in checked.last_error
    with session_scope() as s:
        s.get(MLBackend, backend.id).url = model.url
    with session_scope() as s:
        assert ml.check(s, admin, backend.id).state == "connected"
    # The admin stops allowing private addresses: the server is not called any more.
    monkeypatch.setenv("LABELKIT_ALLOW_PRIVATE_URLS", "false")
    get_settings.cache_clear()
    before = model.setups
    with session_scope() as s:
        checked = ml.check(s, admin, backend.id)
    assert checked.state == "error" and "private network" in checked.last_error and model.setups == before
