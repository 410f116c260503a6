"""The Projects page's Model tab (managers), and the label page with a model's suggestion or a
slow model's notice; the model server is the example server on loopback."""

from __future__ import annotations

import pytest
from sqlmodel import select

from labelkit.db import session_scope
from labelkit.models import Annotation, MLBackend, Prediction, Role
from labelkit.settings import get_settings
from tests.app.test_access import texts
from tests.mlserver import Running, TestModelServer

# Page tests: what a page draws and wires; the SQL under it is tested on both databases in tests/unit.
pytestmark = pytest.mark.one_database


@pytest.fixture
def model(settings, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("LABELKIT_ALLOW_PRIVATE_URLS", "true")
    get_settings.cache_clear()
    server = TestModelServer()
    with Running(server.app()) as running:
        server.url = running.url
        yield server
    get_settings.cache_clear()


@pytest.fixture
def team(factory):
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin, title="Reviews")
    factory.tasks(project, admin, [{"text": "good food"}, {"text": "bad service"}, {"text": "fine"}])
    manager, annotator = factory.user(Role.MANAGER, name="Meg"), factory.user(name="Ann")
    factory.member(project, manager, Role.MANAGER)
    factory.member(project, annotator, Role.ANNOTATOR)
    return project, manager, annotator


def model_tab(at):
    return next(t for t in at.tabs if t.label == "Model")


def test_a_manager_connects_a_model_pre_labels_and_removes_it(app_as, team, model) -> None:
    project, manager, _ = team
    at = app_as(manager, "projects", project=project.id)
    tab = model_tab(at)
    tab.text_input[0].input("ftp://nowhere")
    tab.button[0].click().run()  # the form's Connect
    assert "ftp://nowhere is not an http(s) URL" in texts(at)
    tab = model_tab(at)
    tab.text_input[0].input(model.url)
    tab.text_input[1].input("Naive Bayes")
    tab.checkbox[0].check()
    tab.button[0].click().run()
    assert "Connected Naive Bayes (model version example-v0)." in texts(at)
    with session_scope() as s:
        backend = s.exec(select(MLBackend)).one()
        assert backend.is_interactive and backend.created_by == manager.id
    at.button(key=f"lk_ml_{backend.id}_unlabeled").click().run()
    assert "Pre-labeled 3 task(s): 3 prediction(s) of model version example-v0." in texts(at)
    assert "example-v0" in texts(at)
    at.button(key=f"lk_ml_{backend.id}_train").click().run()
    assert "Training was started." in texts(at) and model.events == ["START_TRAINING"]
    at.button(key=f"lk_ml_{backend.id}_check").click().run()
    assert "Naive Bayes answers (model version example-v1)." in texts(at)
    model.mode = "500"
    at.button(key=f"lk_ml_{backend.id}_all").click().run()
    assert "answered 500 to /predict" in texts(at)
    assert at.button(key=f"lk_ml_{backend.id}_remove").disabled
    at.checkbox(key=f"lk_ml_{backend.id}_sure").check().run()
    at.button(key=f"lk_ml_{backend.id}_remove").click().run()
    assert "Removed Naive Bayes." in texts(at)
    with session_scope() as s:
        assert s.exec(select(MLBackend)).all() == [] and len(s.exec(select(Prediction)).all()) == 3


def test_a_new_address_clears_the_stored_credentials_and_the_page_asks_for_them(app_as, team, model) -> None:
    from labelkit import ml

    project, manager, _ = team
    with session_scope() as s:
        backend = ml.connect(s, manager, project.id, ml.BackendFields(
            url=model.url, title="NB", basic_auth_user="ml", basic_auth_password="s3cret", headers={"X-Key": "k"}))
    other = TestModelServer()
    with Running(other.app()) as running:
        at = app_as(manager, "projects", project=project.id)
        at.text_input(key=f"lk_ml_change_{backend.id}_url").input(running.url)
        at.button(key=f"lk_ml_change_{backend.id}_save").click().run()
        assert ("Saved NB. Its address changed, so its stored basic-auth password and extra headers were cleared (they "
                "are never sent to a new address): if the new server needs them, enter them again under Change.") in texts(at)
        assert other.setups == 1
    with session_scope() as s:
        row = s.get(MLBackend, backend.id)
        assert row.url == running.url and ml.backends.headers_of(row) == {} and ml.backends.connection_of(row).basic_auth == ("ml", "")


def test_annotators_never_see_the_model_tab(app_as, team) -> None:
    project, _, annotator = team
    at = app_as(annotator, "projects", project=project.id)
    assert not any(t.label == "Model" for t in at.tabs)


def test_the_label_page_says_which_model_suggested_and_a_slow_model_gives_a_notice(app_as, team, model) -> None:
    project, manager, annotator = team
    at = app_as(manager, "projects", project=project.id)
    tab = model_tab(at)
    tab.text_input[0].input(model.url)
    tab.checkbox[0].check()
    tab.button[0].click().run()
    at = app_as(annotator, "label", project=project.id)
    assert "Suggested by model example-v0 (score 0.33); edit as you like." in texts(at)
    model.delay = 4
    at.button(key="lk_submit").click().run()  # the suggestion answers the required choice
    assert "Task 1: Submitted." in texts(at)
    with session_scope() as s:
        (stored,) = s.exec(select(Annotation)).all()
        assert stored.result[0]["value"] == {"choices": ["Positive"]}
    assert "The model did not answer in 3 s; label without its suggestion." in texts(at)
    assert "bad service" in texts(at)  # labeling goes on
