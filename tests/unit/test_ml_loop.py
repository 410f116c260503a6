"""The model in the labeling loop: webhooks after submit and update (the server retrains and
its predictions change), START_TRAINING, a suggestion when a task opens (a slow server gives a
notice, not a wait), the `labelkit ml` commands, and a backend built with label-studio-ml."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlmodel import select

from labelkit import ml
from labelkit.cli import main
from labelkit.db import session_scope
from labelkit.labeling import submissions
from labelkit.models import MLBackend, Prediction, Role, Task
from tests.mlserver import (
    LabelStudioMLBackend,
    Running,
    TestModelServer,
    label_studio_ml_venv,
)
from tests.support import unavailable
from tests.unit.test_ml_backends import connect, model, private_ok, wait_for  # noqa: F401 - fixtures
from tests.unit.test_predictions import choice


@pytest.fixture
def project_with_tasks(factory, private_ok):  # noqa: F811
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin)
    factory.tasks(project, admin, [{"text": "good great lovely"}, {"text": "awful bad terrible"},
                                   {"text": "good lovely day"}, {"text": "bad awful day"}])
    with session_scope() as s:
        ids = list(s.exec(select(Task.id).where(Task.project_id == project.id).order_by(Task.id)).all())
    return admin, project, ids


def probabilities(project, task_id: int) -> dict:
    with session_scope() as s:
        found = s.exec(select(Prediction).where(Prediction.task_id == task_id).order_by(Prediction.id.desc())).first()
        return found.result[0]["probabilities"]


def test_submits_and_updates_reach_the_server_which_retrains_and_predicts_differently(project_with_tasks, model) -> None:  # noqa: F811
    admin, project, ids = project_with_tasks
    connect(admin, project, model.url)
    with session_scope() as s:
        ml.predict(s, admin, project.id, only_unlabeled=False)
    before = probabilities(project, ids[2])
    assert before["Positive"] == pytest.approx(1 / 3)  # nothing learned yet
    with session_scope() as s:
        submissions.submit(s, admin, ids[0], choice("Positive"))
    with session_scope() as s:
        submissions.submit(s, admin, ids[1], choice("Negative"))
    wait_for(lambda: model.events == ["ANNOTATION_CREATED", "ANNOTATION_CREATED"])
    with session_scope() as s:
        submissions.submit(s, admin, ids[1], choice("Neutral"))  # an update replaces the earlier answer
    wait_for(lambda: len(model.events) == 3)
    assert model.events[-1] == "ANNOTATION_UPDATED"
    learned = next(iter(model.models.values()))
    # The server notes an event when it arrives, then learns and trains: wait for those too.
    wait_for(lambda: learned.model_version == "example-v3")
    assert sorted(label for _, label in learned.examples.values()) == ["Neutral", "Positive"]
    with session_scope() as s:
        summary = ml.predict(s, admin, project.id, only_unlabeled=False)
    assert summary.model_version == "example-v3"
    after = probabilities(project, ids[2])
    assert after["Positive"] > 0.5 > before["Positive"]  # "good lovely day" now reads positive


def test_a_broken_server_never_fails_a_submit(project_with_tasks, model) -> None:  # noqa: F811
    admin, project, ids = project_with_tasks
    backend = connect(admin, project, model.url)
    with session_scope() as s:  # the server goes away
        row = s.get(MLBackend, backend.id)
        row.url = "http://127.0.0.1:9/"
    with session_scope() as s:
        assert submissions.submit(s, admin, ids[0], choice("Positive")).counted
    wait_for(lambda: _state(backend.id)[0] == "error")
    assert "ANNOTATION_CREATED was not delivered" in _state(backend.id)[1]


def _state(backend_id: int) -> tuple[str, str]:
    with session_scope() as s:
        row = s.get(MLBackend, backend_id)
        return row.state, row.last_error


def test_start_training_is_sent_on_request(project_with_tasks, model) -> None:  # noqa: F811
    admin, project, _ = project_with_tasks
    connect(admin, project, model.url)
    with session_scope() as s:
        assert ml.start_training(s, admin, project.id) == 1
    assert model.events == ["START_TRAINING"]
    with session_scope() as s:
        assert ml.check(s, admin, s.exec(select(MLBackend.id)).one()).model_version == "example-v1"


def test_a_task_opening_gets_a_suggestion_and_a_slow_model_gives_a_notice_in_time(project_with_tasks, model) -> None:  # noqa: F811
    admin, project, ids = project_with_tasks
    connect(admin, project, model.url, interactive=True)
    with session_scope() as s:
        found, notice = ml.interactive_prediction(s, admin, project, s.get(Task, ids[0]))
        assert notice is None and found.model_version == "example-v0" and found.ml_backend_id
        assert ml.suggestion_caption(found) == "Suggested by model example-v0 (score 0.33); edit as you like."
    model.delay = 4  # longer than the 3 s a person waits
    with session_scope() as s:
        found, notice = ml.interactive_prediction(s, admin, project, s.get(Task, ids[1]))
    assert found is None and notice == "The model did not answer in 3 s; label without its suggestion."
    asked = model.predict_calls
    with session_scope() as s:  # the next task does not wait for it again
        found, notice = ml.interactive_prediction(s, admin, project, s.get(Task, ids[2]))
    assert found is None and notice == "The model is not answering at the moment; label without its suggestion."
    assert model.predict_calls == asked
    with session_scope() as s:
        assert s.exec(select(Prediction).where(Prediction.task_id == ids[1])).all() == []
        assert "timed out" in s.exec(select(MLBackend)).one().last_error


def test_the_ml_commands(project_with_tasks, model) -> None:  # noqa: F811
    _, project, _ = project_with_tasks
    run = CliRunner().invoke
    done = run(main, ["ml", "connect", project.title, model.url, "--title", "NB", "--header", "X-Team: blue", "--timeout", "5"])
    assert done.exit_code == 0, done.output
    assert "Connected NB to project" in done.output and "example-v0" in done.output
    done = run(main, ["ml", "predict", str(project.id)])
    assert done.exit_code == 0, done.output
    assert "Sent 4 task(s)" in done.output and "stored 4 prediction(s)" in done.output
    assert "Sent 0 task(s)" in run(main, ["ml", "predict", str(project.id)]).output
    model.mode = "500"
    failed = run(main, ["ml", "predict", str(project.id), "--all"])
    assert failed.exit_code == 1 and "answered 500 to /predict" in failed.output
    bad = run(main, ["ml", "connect", str(project.id), "ftp://example.com/model"])
    assert bad.exit_code == 1 and "not an http(s) URL" in bad.output
    with session_scope() as s:
        assert len(s.exec(select(MLBackend)).all()) == 1
        assert len(s.exec(select(Prediction)).all()) == 4


def test_a_backend_built_with_label_studio_ml_from_pypi(project_with_tasks, tmp_path) -> None:
    try:
        venv = label_studio_ml_venv()
    except (RuntimeError, OSError) as e:
        unavailable(f"label-studio-ml could not be installed here: {e}")
    admin, project, ids = project_with_tasks
    with LabelStudioMLBackend(venv, tmp_path) as backend:
        connected = connect(admin, project, backend.url)
        assert connected.model_version == "INITIAL"  # label-studio-ml 1.x names its untrained model so
        with session_scope() as s:
            summary = ml.predict(s, admin, project.id)
        assert (summary.sent, summary.stored) == (4, 4)
        with session_scope() as s:
            rows = {p.task_id: p for p in s.exec(select(Prediction)).all()}
        assert rows[ids[0]].result[0]["value"]["choices"] == ["Positive"]
        assert rows[ids[1]].result[0]["value"]["choices"] == ["Negative"]
        assert {(p.score, p.model_version) for p in rows.values()} == {(0.8, "INITIAL")}
        with session_scope() as s:  # its /webhook takes our annotation events (it trains in a subprocess)
            submissions.submit(s, admin, ids[0], choice("Positive"))
        with session_scope() as s:
            ml.start_training(s, admin, project.id)
        with session_scope() as s:
            assert s.get(MLBackend, connected.id).state == "connected"


def test_the_example_server_refuses_a_config_it_cannot_learn(private_ok, factory) -> None:  # noqa: F811
    from labelkit.config.templates import template

    admin = factory.user(Role.ADMIN)
    boxes = factory.project(admin, config=template("object-detection").config)
    with Running(TestModelServer().app()) as running, \
            pytest.raises(ml.ModelServerError, match="needs a <Choices> control on a <Text>"):
        connect(admin, boxes, running.url)


def _image(project_id: int, name: str, colour: tuple[int, int, int]) -> str:
    import io

    from PIL import Image

    from labelkit.storage import local

    out = io.BytesIO()
    Image.new("RGB", (24, 24), colour).save(out, "PNG")
    return local.save_upload(project_id, name, out.getvalue())


def test_the_example_image_model_downloads_media_with_the_setup_token_and_learns_colours(
    factory, private_ok, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
) -> None:
    from starlette.applications import Starlette

    from labelkit.config.templates import template
    from labelkit.server import routes
    from labelkit.settings import get_settings

    admin = factory.user(Role.ADMIN)
    project = factory.project(admin, config=template("image-classification").config)
    colours = {"red": (230, 20, 20), "blue": (20, 20, 230), "reddish": (200, 60, 40), "bluish": (40, 50, 210)}
    factory.tasks(project, admin, [{"image": _image(project.id, f"{n}.png", c)} for n, c in colours.items()])
    with session_scope() as s:
        ids = list(s.exec(select(Task.id).where(Task.project_id == project.id).order_by(Task.id)).all())
    server = TestModelServer()
    with Running(Starlette(routes=routes)) as portal, Running(server.app()) as running:
        monkeypatch.setenv("LABELKIT_BASE_URL", portal.url)  # the hostname /setup hands over
        get_settings.cache_clear()
        connect(admin, project, running.url)
        with session_scope() as s:
            submissions.submit(s, admin, ids[0], [{"from_name": "class", "to_name": "image", "type": "choices",
                                            "value": {"choices": ["Circle"]}}])
        with session_scope() as s:
            submissions.submit(s, admin, ids[1], [{"from_name": "class", "to_name": "image", "type": "choices",
                                            "value": {"choices": ["Square"]}}])
        wait_for(lambda: len(server.events) == 2 and next(iter(server.models.values())).version == 2)
        with session_scope() as s:
            summary = ml.predict(s, admin, project.id)
        assert (summary.sent, summary.stored) == (2, 2)  # the two unlabeled ones, fetched with the token
        with session_scope() as s:
            found = {p.task_id: p.result[0]["value"]["choices"] for p in s.exec(select(Prediction)).all()}
        assert found == {ids[2]: ["Circle"], ids[3]: ["Square"]}
        with session_scope() as s:  # the token is revoked with the backend: the server can fetch nothing more
            ml.remove(s, admin, s.exec(select(MLBackend.id)).one())
        model = next(iter(server.models.values()))
        with pytest.raises(Exception, match="403"):
            model.media.mean_colour(f"/data/upload/{project.id}/red.png")
