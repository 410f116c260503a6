"""A model in the loop, as a manager and an annotator live it (on SQLite: conftest says why):
the manager attaches a model server on the Projects page and pre-labels the project; the
annotator finds each task pre-filled with the model's answer and its version, corrects one
and accepts another; the server hears of both (webhooks), retrains, and after every second
annotation labelkit asks it again; a script reads it all back over the REST API."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.servers import Server, running_server
from tests.e2e.steps import chosen, click, fill, goto, pick, see, settled, sign_in
from tests.mlserver import Running, TestModelServer

pytestmark = pytest.mark.e2e

CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text" choice="single" required="true">
    <Choice value="Positive"/>
    <Choice value="Negative"/>
  </Choices>
</View>"""
TEXTS = ["Terrible, it broke in a day.", "Great value, I love it.", "Great, works well.", "Awful and terrible.",
         "I love the colour.", "Terrible support."]


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    # The model server runs on loopback: the admin setting for private addresses is on.
    with running_server(request, "sqlite", settings={"LABELKIT_ALLOW_PRIVATE_URLS": "true"}) as running:
        yield running


@pytest.fixture
def model() -> Iterator[TestModelServer]:
    found = TestModelServer()
    with Running(found.app()) as running:
        found.url = running.url
        yield found


def wait_for(condition, what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"still waiting for {what}"
        time.sleep(0.2)


def test_a_manager_attaches_a_model_and_annotators_label_from_its_suggestions(server: Server, model, new_page) -> None:
    project_id = server.project("Reviews with a model", CONFIG, [{"text": t} for t in TEXTS])
    page = new_page()
    sign_in(page, server, path=f"/projects?project={project_id}")
    click(page, page.get_by_role("tab", name="Model"), run="none")
    fill(page, page.get_by_placeholder("http://model-server:9090"), model.url)  # a form: nothing runs until Connect
    fill(page, page.get_by_placeholder("Sentiment model"), "Sentiment model")
    fill(page, "Predict again every N annotations (0: never)", "2")
    click(page, page.get_by_text("Suggest an answer when a task opens"), run="none")
    click(page, "Connect")
    see(page, "Connected Sentiment model (model version example-v0)")
    click(page, page.get_by_role("tab", name="Model"), run="none")
    click(page, "Pre-label unlabeled")
    see(page, "Pre-labeled 6 task(s): 6 prediction(s) of model version example-v0.")

    goto(page, f"{server.url}/label?project={project_id}")
    see(page, "Suggested by model example-v0")
    chosen(page, "Positive").or_(chosen(page, "Negative")).first.wait_for()  # the model's answer is filled in
    settled(page)
    shown = "Positive" if chosen(page, "Positive").count() else "Negative"
    first = "Negative" if shown == "Positive" else "Positive"
    pick(page, first)  # the annotator corrects the model
    click(page, "Submit")
    see(page, "Submitted.")
    see(page, "Suggested by model")
    click(page, "Submit")  # and takes its answer on the next task as it is
    see(page, "Submitted.")

    wait_for(lambda: model.events.count("ANNOTATION_CREATED") == 2, "two webhooks")
    api = httpx.Client(base_url=f"{server.url}/api", headers={"Authorization": f"Token {server.admin_token()}"}, timeout=30)
    tasks = api.get("/tasks", params={"project": project_id, "page_size": 100}).json()["tasks"]
    labeled = sorted((t for t in tasks if t["total_annotations"]), key=lambda t: t["id"])
    assert len(labeled) == 2
    answers = [api.get(f"/tasks/{t['id']}/annotations").json()[0]["result"][0]["value"]["choices"] for t in labeled]
    assert answers[0] == [first]
    first_prediction = api.get("/predictions", params={"task": labeled[1]["id"]}).json()[0]
    assert answers[1] == first_prediction["result"][0]["value"]["choices"]  # the accepted suggestion, unchanged

    # Two new annotations: labelkit asks the retrained model again about the open tasks.
    def repredicted() -> bool:
        found = api.get("/predictions", params={"project": project_id}).json()
        return any(p["model_version"] not in ("", "example-v0") for p in found)

    wait_for(repredicted, "predictions of the retrained model")
    exported = api.get(f"/projects/{project_id}/export", params={"exportType": "JSON"}).json()
    by_id = {t["id"]: t for t in exported}
    assert by_id[labeled[0]["id"]]["annotations"][0]["result"][0]["value"]["choices"] == [first]
    assert all(t["predictions"] for t in exported)
    assert {p["model_version"] for t in exported for p in t["predictions"]} >= {"example-v0"}
