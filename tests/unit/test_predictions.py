"""Predictions and active learning: stored with model version and score, checked against
the config, shown as pre-annotations of the chosen version, and the queue's
least-certain-first order with its re-prediction every N annotations."""

from __future__ import annotations

import importlib
import math
import threading

import pytest
from sqlmodel import select

from labelkit.db import session_scope
from labelkit.errors import InvalidInput, NotFound, PermissionDenied
from labelkit.labeling import active, predictions, queue, submissions
from labelkit.labeling.predictions import NewPrediction
from labelkit.models import MLBackend, Prediction, Role, Task


def choice(value: str, score: float | None = None, probabilities: dict | None = None) -> list[dict]:
    item = {"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [value]}}
    if score is not None:
        item["score"] = score
    if probabilities is not None:
        item["value"]["probabilities"] = probabilities
    return [item]


def task_ids(project) -> list[int]:
    with session_scope(write=False) as s:
        return list(s.exec(select(Task.id).where(Task.project_id == project.id).order_by(Task.id)).all())


def test_uncertainty_comes_from_per_class_entropy_else_the_score() -> None:
    assert predictions.uncertainty(choice("Positive"), 0.9) == pytest.approx(0.1)
    assert predictions.uncertainty(choice("Positive", score=0.6), None) == pytest.approx(0.4)
    assert predictions.uncertainty(choice("Positive"), None) is None
    even = predictions.uncertainty(choice("Positive", probabilities={"Positive": 0.5, "Negative": 0.5}), 0.99)
    sure = predictions.uncertainty(choice("Positive", probabilities={"Positive": 1.0, "Negative": 0.0}), 0.1)
    assert even == pytest.approx(1.0) and sure == pytest.approx(0.0)
    three = predictions.entropy([0.7, 0.2, 0.1])
    expected = -(0.7 * math.log(0.7) + 0.2 * math.log(0.2) + 0.1 * math.log(0.1)) / math.log(3)
    assert three == pytest.approx(expected)
    assert predictions.uncertainty(choice("Positive"), float("nan")) is None


def test_stored_predictions_keep_version_and_score_and_set_the_task_uncertainty(factory) -> None:
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin)
    factory.tasks(project, admin, 3)
    first, second, _ = task_ids(project)
    with session_scope() as s:
        stored = predictions._store(s, project, [NewPrediction(first, choice("Positive"), 0.8, "v1"),
                                                NewPrediction(second, choice("Negative"), 0.3, "v1")])
    assert stored == 2
    with session_scope() as s:
        assert s.get(Task, first).uncertainty == pytest.approx(0.2)
        assert s.get(Task, second).uncertainty == pytest.approx(0.7)
        made = predictions.create_prediction(s, admin, first, choice("Negative"), 0.95, "v2")
        assert (made.model_version, made.score) == ("v2", 0.95)
        assert s.get(Task, first).uncertainty == pytest.approx(0.05)  # the newest prediction counts
        assert predictions.model_versions(s, admin, project.id) == [("v2", 1), ("v1", 2)]
        assert predictions.pre_annotation(s, admin, first, "v1").result[0]["value"]["choices"] == ["Positive"]
        assert predictions.pre_annotation(s, admin, first, "").model_version == "v2"
        assert [p.task_id for p in predictions.list_predictions(s, admin, task_id=second)] == [second]


def test_a_wrong_prediction_is_refused_whole_and_changes_nothing(factory) -> None:
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin)
    factory.tasks(project, admin, 2)
    first, second = task_ids(project)
    wrong = [
        ([NewPrediction(first, choice("Positive"), 0.5), NewPrediction(second, [{"from_name": "mood", "to_name": "text",
          "type": "choices", "value": {"choices": ["x"]}}], 0.5)], InvalidInput, "mood"),
        ([NewPrediction(first, "Positive", 0.5)], InvalidInput, "list"),
        ([NewPrediction(first, choice("Positive"), "high")], InvalidInput, "score"),
        ([NewPrediction(first, choice("Positive"), 0.5), NewPrediction(10**9, choice("Positive"), 0.5)], NotFound, str(10**9)),
    ]
    for rows, error, words in wrong:
        with pytest.raises(error, match=words), session_scope() as s:
            predictions._store(s, project, rows)
    with session_scope(write=False) as s:
        assert s.exec(select(Prediction)).all() == []
        assert s.get(Task, first).uncertainty is None


def test_only_importers_of_the_project_post_predictions(factory) -> None:
    admin = factory.user(Role.ADMIN)
    project, other = factory.project(admin), factory.project(admin)
    factory.tasks(project, admin, 1)
    factory.tasks(other, admin, 1)
    (task,), (other_task,) = task_ids(project), task_ids(other)
    annotator, manager = factory.user(), factory.user(Role.MANAGER)
    factory.member(project, annotator, Role.ANNOTATOR)
    factory.member(project, manager, Role.MANAGER)
    with pytest.raises(PermissionDenied), session_scope() as s:
        predictions.create_prediction(s, annotator, task, choice("Positive"), 0.5, "v1")
    with pytest.raises((NotFound, PermissionDenied)), session_scope() as s:  # a task of a project they are not in
        predictions.create_prediction(s, manager, other_task, choice("Positive"), 0.5, "v1")
    with pytest.raises((NotFound, PermissionDenied)), session_scope() as s:
        predictions.list_predictions(s, manager, task_id=other_task)
    with session_scope() as s:
        predictions.create_prediction(s, manager, task, choice("Positive"), 0.5, "v1")
        assert len(predictions.list_predictions(s, manager, project_id=project.id)) == 1
        assert predictions.list_predictions(s, annotator, project_id=project.id) == []  # not a task they see yet
        queue.claim_next(s, annotator, project.id)
        assert len(predictions.list_predictions(s, annotator, project_id=project.id)) == 1


def test_imported_predictions_set_the_uncertainty_too(factory) -> None:
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin)
    factory.tasks(project, admin, [{"data": {"text": "a"}, "predictions": [{"result": choice("Positive"), "score": 0.25}]},
                                   {"data": {"text": "b"}}])
    with session_scope(write=False) as s:
        assert [t.uncertainty for t in s.exec(select(Task).order_by(Task.id))] == [pytest.approx(0.75), None]


def claim(user, project) -> int | None:
    with session_scope() as s:
        found = queue.claim_next(s, user, project.id)
    return found.task.id if found else None


def test_uncertainty_sampling_serves_the_least_certain_first_then_the_rest(factory) -> None:
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin, sampling="uncertainty", overlap=1)
    factory.tasks(project, admin, 5)
    ids = task_ids(project)
    with session_scope() as s:
        predictions._store(s, project, [NewPrediction(ids[1], choice("Positive"), 0.9, "v1"),
                                       NewPrediction(ids[3], choice("Positive"), 0.2, "v1"),
                                       NewPrediction(ids[4], choice("Positive", probabilities={"Positive": 0.6, "Negative": 0.4}), 0.6, "v1")])
    served = []
    for _ in range(5):
        person = factory.user()
        factory.member(project, person, Role.ANNOTATOR)
        served.append(claim(person, project))
    # entropy(0.6, 0.4) ~ 0.97 > 1 - 0.2 > 1 - 0.9; then the unpredicted ones in import order
    assert served == [ids[4], ids[3], ids[1], ids[0], ids[2]]


def test_every_n_submits_start_one_re_prediction(factory, monkeypatch: pytest.MonkeyPatch) -> None:
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin)
    factory.tasks(project, admin, 5)
    with session_scope() as s:
        backend = MLBackend(project_id=project.id, url="http://127.0.0.1:9/", predict_every=2)
        s.add(backend)
        s.flush()
        backend_id = backend.id
    runs: list[int] = []
    ran = threading.Event()

    def fake_run(found: int) -> int:
        runs.append(found)
        ran.set()
        return 0

    monkeypatch.setattr(active, "repredict", fake_run)
    person = factory.user()
    factory.member(project, person, Role.ANNOTATOR)
    for n in range(3):
        task = claim(person, project)
        with session_scope() as s:
            submissions.submit(s, person, task, choice("Positive"))
        if n == 0:
            assert runs == []
    assert ran.wait(10)
    assert runs == [backend_id]
    with session_scope(write=False) as s:
        assert s.get(MLBackend, backend_id).annotations_at_predict == 1  # one new since the run


def test_a_re_prediction_asks_for_the_open_tasks_least_certain_first(factory, monkeypatch: pytest.MonkeyPatch) -> None:
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin)
    factory.tasks(project, admin, 4)
    ids = task_ids(project)
    with session_scope() as s:
        predictions._store(s, project, [NewPrediction(ids[2], choice("Positive"), 0.1, "v1"),
                                       NewPrediction(ids[0], choice("Positive"), 0.7, "v1")])
        backend = MLBackend(project_id=project.id, url="http://127.0.0.1:9/", predict_every=1)
        s.add(backend)
        s.flush()
        backend_id = backend.id
    with session_scope() as s:
        assert active._open_task_ids(s, project.id) == [ids[2], ids[0], ids[1], ids[3]]
        assert active._open_task_ids(s, project.id, limit=3) == [ids[2], ids[0], ids[1]]
    asked: list[list[int]] = []
    ml_predict = importlib.import_module("labelkit.ml.predict")  # the package's `predict` is the service function
    monkeypatch.setattr(ml_predict, "_predict_tasks", lambda session, backend, batch: asked.append(list(batch)) or len(batch))
    monkeypatch.setattr(active, "BATCH", 3)
    assert active.repredict(backend_id) == 4
    assert asked == [[ids[2], ids[0], ids[1]], [ids[3]]]


def test_annotators_see_the_predictions_of_the_tasks_they_see_and_no_others(factory) -> None:
    """Through the REST API, as a script with an annotator's token would ask: the same tasks
    as the task detail shows them (worked on or held), not the project's every prediction."""
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from labelkit.auth import sessions
    from labelkit.server import routes

    manager, annotator = factory.user(Role.MANAGER), factory.user()
    project = factory.project(manager)
    factory.member(project, annotator, Role.ANNOTATOR)
    factory.tasks(project, manager, 3)
    ids = task_ids(project)
    with session_scope() as s:
        made = [predictions.create_prediction(s, manager, t, choice("Positive"), 0.9, f"model-{t}").id for t in ids]
        held = queue.claim_next(s, annotator, project.id).task.id
        tokens = {who.id: sessions.create_api_token(s, who) for who in (manager, annotator)}
    client = TestClient(Starlette(routes=routes), base_url="http://localhost")

    def get(who, url: str, **params):
        return client.get(url, params=params, headers={"Authorization": f"Token {tokens[who.id]}"})

    listed = get(annotator, "/api/predictions", project=project.id).json()
    assert [p["task"] for p in listed] == [held]
    others = [p for p, t in zip(made, ids, strict=True) if t != held]
    for prediction_id in others:
        assert get(annotator, f"/api/predictions/{prediction_id}").status_code == 404
    assert get(annotator, "/api/predictions", task=next(t for t in ids if t != held)).status_code == 404
    assert get(annotator, f"/api/predictions/{made[ids.index(held)]}").status_code == 200
    assert len(get(manager, "/api/predictions", project=project.id).json()) == 3
    assert all(get(manager, f"/api/predictions/{p}").status_code == 200 for p in made)
