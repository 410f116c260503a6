"""The REST API (/api, labelkit/api/) through the server's real routes: Label Studio's paths
and JSON, permissions per role, and bad input answered with a clear 4xx that changes nothing."""

from __future__ import annotations

import io
import json

import pytest
from sqlmodel import func, select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from labelkit.auth import sessions
from labelkit.db import session_scope
from labelkit.models import Annotation, AuditEvent, Project, Role, Task, User
from labelkit.server import routes

POSITIVE = [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["Positive"]}}]
NEGATIVE = [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["Negative"]}}]
CONFIG = """<View><Text name="text" value="$text"/>
<Choices name="sentiment" toName="text"><Choice value="Positive"/><Choice value="Negative"/></Choices></View>"""


@pytest.fixture
def client(settings):
    return TestClient(Starlette(routes=routes), base_url="http://localhost", follow_redirects=False)


def token_of(user: User) -> dict:
    with session_scope() as s:
        return {"Authorization": f"Token {sessions.create_api_token(s, user)}"}


@pytest.fixture
def team(factory):
    """A project of 3 tasks with a manager, a reviewer and an annotator, and an outsider (member elsewhere)."""
    manager = factory.user(Role.MANAGER)
    project = factory.project(manager, config=CONFIG)
    factory.tasks(project, manager, 3)
    people = {"manager": manager}
    for role in (Role.REVIEWER, Role.ANNOTATOR):
        people[str(role)] = factory.user()
        factory.member(project, people[str(role)], role)
    people["outsider"] = factory.user(Role.MANAGER)
    factory.project(people["outsider"], config=CONFIG)
    return project, {name: token_of(user) for name, user in people.items()}, people


def count(model, *where) -> int:
    with session_scope(write=False) as s:
        return s.exec(select(func.count()).select_from(model).where(*where)).one()


# Health, version, who am I; tokens


def test_health_version_and_docs_need_no_token(client) -> None:
    assert client.get("/api/health").json() == {"status": "UP"}
    assert client.get("/api/version/").json()["edition"] == "Community"
    schema = client.get("/api/openapi.json").json()
    assert "/projects/{id}/import" in schema["paths"] and schema["servers"] == [{"url": "/api"}]
    docs = client.get("/api/docs")
    assert docs.status_code == 200 and "/api/openapi.json" in docs.text
    assert "cdn." not in docs.text  # its scripts come from here: the docs work without the internet
    assert client.get("/api/docs-assets/swagger-ui-bundle.js").status_code == 200
    odd = client.get("/api/projects/%0A/next")
    assert odd.status_code == 401 and odd.json()["detail"]  # the API answers every path under it, in JSON
    refused = client.put("/api/projects/1", json={})
    assert refused.status_code == 405 and set(refused.headers["allow"].split(", ")) == {"GET", "HEAD", "PATCH", "DELETE"}
    assert schema["components"]["securitySchemes"]["Token"] == {
        "type": "apiKey", "in": "header", "name": "Authorization", "description": schema["components"]["securitySchemes"]["Token"]["description"]}


def test_a_revoked_token_or_a_deactivated_account_is_refused_with_401(client, factory) -> None:
    user = factory.user(email="bot@example.com")
    headers = token_of(user)
    assert client.get("/api/current-user/whoami/", headers=headers).json()["email"] == "bot@example.com"
    for bad in ({}, {"Authorization": "Token forged"}, {"Authorization": "Bearer x"}):
        answer = client.get("/api/projects", headers=bad)
        assert answer.status_code == 401 and "credentials" in answer.json()["detail"]
    with session_scope() as s:
        token_id = sessions.list_api_tokens(s, user)[0].id
        sessions.revoke_api_token(s, user, token_id)
    assert client.get("/api/projects", headers=headers).status_code == 401
    other = factory.user()
    other_headers = token_of(other)
    with session_scope() as s:
        s.get(User, other.id).is_active = False
    assert client.get("/api/current-user/whoami", headers=other_headers).status_code == 401


def test_the_session_cookie_works_like_a_token(client, factory) -> None:
    user = factory.user(Role.MANAGER)
    _signed_in_browser(client, user)
    assert client.get("/api/current-user/whoami").json()["id"] == user.id


def _signed_in_browser(client, user: User) -> None:
    """The browser that signed in: it holds the ticket's key in a cookie."""
    with session_scope() as s:
        ticket = sessions.issue_signin_ticket(s, user)
    client.cookies.set(sessions.SIGNIN_COOKIE, ticket.browser_key)
    assert client.get("/session/start", params={"ticket": ticket.ticket}).status_code == 303


def test_a_form_on_another_site_cannot_write_with_the_session_cookie(client, factory) -> None:
    """A page on another port or a sibling subdomain is the same site, so the SameSite=Lax
    cookie goes along with its form posts: a form's text/plain body shaped as JSON, or a
    urlencoded one, imports nothing and writes no annotation; a token or the browser header works."""
    manager = factory.user(Role.MANAGER)
    project = factory.project(manager, config=CONFIG)
    factory.tasks(project, manager, 1)
    with session_scope(write=False) as s:
        task = s.exec(select(Task).where(Task.project_id == project.id)).one()
    _signed_in_browser(client, manager)
    forged = b'[{"text": "planted", "x": "=1"}]'  # <input name='[{"text": "planted", "x": "' value='1"}]'>
    url = f"/api/projects/{project.id}/import"
    for headers in ({"Content-Type": "text/plain"}, {"Content-Type": "text/plain", "Origin": "http://localhost:8080"},
                    {"Content-Type": "text/plain", "X-Requested-With": "XMLHttpRequest"},
                    {"Content-Type": "application/x-www-form-urlencoded", "Origin": "http://evil.localhost"},
                    {"Content-Type": "application/json", "Origin": "null"}):
        refused = client.post(url, content=forged, headers=headers)
        assert refused.status_code in (403, 415), (headers, refused.text)
        assert "session cookie" in refused.json()["detail"]
    planted = client.post(f"/api/tasks/{task.id}/annotations", content=json.dumps({"result": POSITIVE}),
                          headers={"Content-Type": "text/plain"})
    assert planted.status_code == 415 and "JSON" in planted.json()["detail"]
    assert client.post(f"/api/tasks/{task.id}/annotations", json={"result": POSITIVE}).status_code == 403
    assert client.patch(f"/api/projects/{project.id}", json={"title": "Owned"}).status_code == 403
    assert count(Task, Task.project_id == project.id) == 1 and count(Annotation) == 0
    assert client.get(f"/api/projects/{project.id}").json()["title"] == project.title  # reading is unchanged

    script = TestClient(Starlette(routes=routes), base_url="http://localhost")
    by_token = script.post(url, content=forged, headers={**token_of(manager), "Content-Type": "text/plain"})
    assert by_token.status_code == 201 and by_token.json()["task_count"] == 1  # label-studio-sdk style: unaffected
    own_page = client.post(url, json=[{"text": "from the portal"}], headers={"X-Requested-With": "XMLHttpRequest"})
    assert own_page.status_code == 201, own_page.text
    swagger = client.post(url, json=[{"text": "from /api/docs"}], headers={"Origin": "http://localhost"})
    assert swagger.status_code == 201, swagger.text
    assert count(Task, Task.project_id == project.id) == 4


# Projects


def test_a_manager_creates_reads_updates_and_trashes_a_project_in_label_studio_json(client, factory) -> None:
    headers = token_of(factory.user(Role.MANAGER))
    created = client.post("/api/projects/", headers=headers, json={
        "title": "Reviews", "label_config": CONFIG, "expert_instruction": "Read it all", "maximum_annotations": 2,
        "sampling": "Uniform sampling", "color": "#ff0000",  # an LS setting we do not have: ignored
    })
    assert created.status_code == 201, created.text
    project = created.json()
    assert project["title"] == "Reviews" and project["maximum_annotations"] == 2 and project["sampling"] == "Uniform sampling"
    assert project["expert_instruction"] == "Read it all" and project["task_number"] == 0
    pid = project["id"]
    changed = client.patch(f"/api/projects/{pid}", headers=headers, json={"title": "Film reviews", "maximum_annotations": 1})
    assert changed.status_code == 200 and changed.json()["title"] == "Film reviews"
    assert client.get(f"/api/projects/{pid}/", headers=headers).json()["maximum_annotations"] == 1
    assert client.delete(f"/api/projects/{pid}", headers=headers).status_code == 204
    assert client.get(f"/api/projects/{pid}", headers=headers).status_code == 404
    with session_scope(write=False) as s:
        assert s.get(Project, pid).deleted_at is not None  # in the trash, restorable


def test_bad_project_input_is_a_400_that_creates_nothing(client, factory) -> None:
    headers = token_of(factory.user(Role.MANAGER))
    cases = [
        ({"title": "No config"}, "label_config"),
        ({"title": "Bad", "label_config": "<View><Nope/></View>"}, "Nope"),
        ({"title": "Bad", "label_config": CONFIG, "maximum_annotations": "many"}, "maximum_annotations"),
        ({"title": "Bad", "label_config": CONFIG, "maximum_annotations": True}, "maximum_annotations"),
        ({"title": "Bad", "label_config": CONFIG, "sampling": "Whatever"}, "sampling"),
        ({"title": "x" * 500, "label_config": CONFIG}, "title"),
    ]
    for body, word in cases:
        answer = client.post("/api/projects", headers=headers, json=body)
        assert answer.status_code == 400 and word in answer.json()["detail"], (body, answer.text)
    answer = client.post("/api/projects", headers={**headers, "Content-Type": "application/json"}, content=b"{not json")
    assert answer.status_code == 400 and "detail" in answer.json()
    assert count(Project) == 0


def test_roles_decide_who_creates_edits_and_deletes_projects(client, team) -> None:
    project, tokens, _ = team
    assert client.post("/api/projects", headers=tokens["annotator"], json={"title": "Mine", "label_config": CONFIG}).status_code == 403
    for who in ("annotator", "reviewer"):
        assert client.patch(f"/api/projects/{project.id}", headers=tokens[who], json={"title": "Taken"}).status_code == 403
        assert client.delete(f"/api/projects/{project.id}", headers=tokens[who]).status_code == 403
        assert client.get(f"/api/projects/{project.id}", headers=tokens[who]).json()["task_number"] == 3
    # Someone outside the project cannot tell it from one that does not exist.
    for method in ("get", "patch", "delete"):
        outside = client.request(method, f"/api/projects/{project.id}", headers=tokens["outsider"], json={"title": "x"})
        missing = client.request(method, "/api/projects/999999", headers=tokens["outsider"], json={"title": "x"})
        assert outside.status_code == missing.status_code == 404
    assert count(Project, Project.title == "Taken") == 0


def test_the_project_list_is_paged_as_label_studio_pages_it(client, factory) -> None:
    manager = factory.user(Role.MANAGER)
    for _ in range(3):
        factory.project(manager, config=CONFIG)
    factory.project(factory.user(Role.MANAGER), config=CONFIG)  # not theirs
    headers = token_of(manager)
    first = client.get("/api/projects", headers=headers, params={"page_size": 2}).json()
    assert first["count"] == 3 and len(first["results"]) == 2 and first["previous"] is None and "page=2" in first["next"]
    second = client.get("/api/projects", headers=headers, params={"page_size": 2, "page": 2}).json()
    assert len(second["results"]) == 1 and second["next"] is None
    assert client.get("/api/projects", headers=headers, params={"page": 3, "page_size": 2}).status_code == 404
    for params in ({"page_size": 10**9}, {"page": 0}, {"page": "two"}):
        answer = client.get("/api/projects", headers=headers, params=params)
        assert answer.status_code == 400 and answer.json()["detail"]


# Import


def test_import_takes_a_json_list_one_task_or_uploaded_files(client, team) -> None:
    project, tokens, _ = team
    url = f"/api/projects/{project.id}/import"
    answer = client.post(url, headers=tokens["manager"], json=[{"text": "one"}, {"data": {"text": "two"}}])
    assert answer.status_code == 201 and answer.json()["task_count"] == 2
    assert client.post(url, headers=tokens["manager"], json={"text": "three"}).json()["task_count"] == 1
    files = {"FILE": ("more.csv", io.BytesIO(b"text\nfour\nfive\n"), "text/csv"),
             "other": ("tasks.json", io.BytesIO(json.dumps([{"text": "six"}]).encode()), "application/json")}
    answer = client.post(url + "/", headers=tokens["manager"], files=files)
    assert answer.status_code == 201 and answer.json()["task_count"] == 3
    assert client.get(f"/api/projects/{project.id}", headers=tokens["manager"]).json()["task_number"] == 9


def test_a_bad_import_is_refused_whole_with_the_importers_message(client, team) -> None:
    project, tokens, _ = team
    url = f"/api/projects/{project.id}/import"
    before = count(Task)
    answer = client.post(url, headers=tokens["manager"], json=[{"text": "fine"}, {"other": "no text"}])
    assert answer.status_code == 400 and "missing key 'text'" in answer.json()["detail"]
    for body in (b"[{", b'"a string"', b"[]"):
        answer = client.post(url, headers={**tokens["manager"], "Content-Type": "application/json"}, content=body)
        assert answer.status_code == 400 and answer.json()["detail"], body
    answer = client.post(url, headers=tokens["manager"], files={"file": ("tasks.exe", io.BytesIO(b"MZ"), "application/octet-stream")})
    assert answer.status_code == 400 and "cannot import" in answer.json()["detail"]
    assert client.post(url, headers=tokens["annotator"], json=[{"text": "x"}]).status_code == 403
    assert client.post(url, headers=tokens["outsider"], json=[{"text": "x"}]).status_code == 404
    assert count(Task) == before


# Tasks


def test_tasks_are_listed_a_page_at_a_time_with_filters(client, team) -> None:
    project, tokens, _people = team
    headers = tokens["manager"]
    first = client.get("/api/tasks", headers=headers, params={"project": project.id, "page_size": 2}).json()
    assert first["total"] == 3 and [t["data"]["text"] for t in first["tasks"]] == ["Task text number 1", "Task text number 2"]
    second = client.get("/api/tasks/", headers=headers, params={"project": project.id, "page_size": 2, "page": 2}).json()
    assert [t["id"] for t in second["tasks"]] == [first["tasks"][1]["id"] + 1]
    assert client.get("/api/tasks", headers=headers, params={"project": project.id, "page_size": 2, "page": 3}).status_code == 404
    task_id = first["tasks"][0]["id"]
    client.post(f"/api/tasks/{task_id}/annotations", headers=tokens["annotator"], json={"result": POSITIVE})  # 404: not theirs
    assert client.post(f"/api/tasks/{task_id}/annotations", headers=headers, json={"result": POSITIVE}).status_code == 201
    labeled = client.get("/api/tasks", headers=headers, params={"project": project.id, "only_annotated": True}).json()
    assert [t["id"] for t in labeled["tasks"]] == [task_id] and labeled["total"] == 1 and labeled["total_annotations"] == 1
    assert labeled["tasks"][0]["annotations"][0]["result"] == POSITIVE and labeled["tasks"][0]["is_labeled"]
    found = client.get("/api/tasks", headers=headers, params={"project": project.id, "search": "number 3"}).json()
    assert [t["data"]["text"] for t in found["tasks"]] == ["Task text number 3"]
    plain = client.get(f"/api/projects/{project.id}/tasks/", headers=headers, params={"page_size": 1}).json()
    assert isinstance(plain, list) and plain[0]["id"] == task_id


def test_who_may_list_and_read_tasks(client, team) -> None:
    project, tokens, _ = team
    params = {"project": project.id}
    assert client.get("/api/tasks", headers=tokens["reviewer"], params=params).status_code == 200
    assert client.get("/api/tasks", headers=tokens["annotator"], params=params).status_code == 403
    assert client.get("/api/tasks", headers=tokens["outsider"], params=params).status_code == 404
    tasks = client.get("/api/tasks", headers=tokens["manager"], params=params).json()["tasks"]
    task_id = tasks[0]["id"]
    assert client.get(f"/api/tasks/{task_id}", headers=tokens["manager"]).json()["data"] == {"text": "Task text number 1"}
    # An annotator reads the tasks they hold or worked on, nothing else; an outsider nothing.
    assert client.get(f"/api/tasks/{task_id}", headers=tokens["annotator"]).status_code == 404
    assert client.get(f"/api/tasks/{task_id}", headers=tokens["outsider"]).status_code == 404
    assert client.get("/api/tasks/2147483647", headers=tokens["manager"]).status_code == 404
    for bad in ("/api/tasks/99999999999999999999", "/api/tasks/abc", "/api/tasks?project=abc", "/api/tasks"):
        answer = client.get(bad, headers=tokens["manager"])
        assert answer.status_code == 400 and answer.json()["detail"], bad


def test_only_managers_delete_tasks_and_they_go_to_the_trash(client, team) -> None:
    project, tokens, _ = team
    task_id = client.get("/api/tasks", headers=tokens["manager"], params={"project": project.id}).json()["tasks"][0]["id"]
    assert client.delete(f"/api/tasks/{task_id}", headers=tokens["reviewer"]).status_code == 403
    assert client.delete(f"/api/tasks/{task_id}", headers=tokens["outsider"]).status_code == 404
    assert client.delete(f"/api/tasks/{task_id}/", headers=tokens["manager"]).status_code == 204
    assert client.get(f"/api/tasks/{task_id}", headers=tokens["manager"]).status_code == 404
    assert client.get(f"/api/projects/{project.id}", headers=tokens["manager"]).json()["task_number"] == 2
    with session_scope(write=False) as s:
        assert s.get(Task, task_id).deleted_at is not None


# The queue and annotations


def test_next_claims_the_task_as_the_labeling_page_does_and_annotations_follow(client, team) -> None:
    project, tokens, people = team
    headers = tokens["annotator"]
    task = client.get(f"/api/projects/{project.id}/next", headers=headers).json()
    assert task["queue"] == "new" and task["annotations"] == [] and task["data"] == {"text": "Task text number 1"}
    again = client.get(f"/api/projects/{project.id}/next/", headers=headers).json()
    assert again["id"] == task["id"] and again["queue"] == "locked"  # still held, as on the labeling page
    # Another annotator gets another task (the first is held).
    other = client.get(f"/api/projects/{project.id}/next", headers=tokens["reviewer"]).json()
    assert other["id"] != task["id"]
    url = f"/api/tasks/{task['id']}/annotations"
    assert client.post(url, headers=headers, json={"result": [{"type": "choices"}]}).status_code == 400
    created = client.post(url, headers=headers, json={"result": POSITIVE, "lead_time": 4.5})
    assert created.status_code == 201, created.text
    annotation = created.json()
    assert annotation["result"] == POSITIVE and annotation["completed_by"] == people["annotator"].id and not annotation["was_cancelled"]
    assert client.get(url, headers=headers).json() == [annotation]
    assert client.get(f"/api/tasks/{task['id']}", headers=headers).json()["annotations"] == [annotation]
    # Update: the earlier version is kept.
    updated = client.patch(f"/api/annotations/{annotation['id']}", headers=headers, json={"result": NEGATIVE})
    assert updated.status_code == 200 and updated.json()["result"] == NEGATIVE
    with session_scope(write=False) as s:
        from labelkit.models import AnnotationVersion

        assert [v.result for v in s.exec(select(AnnotationVersion)).all()] == [POSITIVE]
    # Others: a manager reads it, may not rewrite it, deletes it (to the trash); an annotator may not delete.
    assert client.get(f"/api/annotations/{annotation['id']}", headers=tokens["manager"]).json()["result"] == NEGATIVE
    assert client.patch(f"/api/annotations/{annotation['id']}", headers=tokens["manager"], json={"result": POSITIVE}).status_code == 403
    assert client.get(f"/api/annotations/{annotation['id']}", headers=tokens["outsider"]).status_code == 404
    assert client.delete(f"/api/annotations/{annotation['id']}", headers=headers).status_code == 403
    assert client.delete(f"/api/annotations/{annotation['id']}", headers=tokens["manager"]).status_code == 204
    assert client.get(f"/api/annotations/{annotation['id']}", headers=tokens["manager"]).status_code == 404
    with session_scope(write=False) as s:
        assert s.get(Annotation, annotation["id"]).deleted_at is not None


def test_was_cancelled_skips_and_an_empty_queue_is_a_clear_404(client, factory) -> None:
    manager = factory.user(Role.MANAGER)
    project = factory.project(manager, config=CONFIG)
    factory.tasks(project, manager, 1)
    headers = token_of(manager)
    task = client.get(f"/api/projects/{project.id}/next", headers=headers).json()
    skipped = client.post(f"/api/tasks/{task['id']}/annotations", headers=headers, json={"was_cancelled": True})
    assert skipped.status_code == 201 and skipped.json()["was_cancelled"] is True
    empty = client.get(f"/api/projects/{project.id}/next", headers=headers)
    assert empty.status_code == 404 and "no more tasks" in empty.json()["detail"]


def test_a_full_task_keeps_the_answer_as_a_draft_and_says_so(client, team) -> None:
    project, tokens, _ = team
    task_id = client.get(f"/api/projects/{project.id}/next", headers=tokens["annotator"]).json()["id"]
    assert client.post(f"/api/tasks/{task_id}/annotations", headers=tokens["annotator"], json={"result": POSITIVE}).status_code == 201
    late = client.post(f"/api/tasks/{task_id}/annotations", headers=tokens["manager"], json={"result": NEGATIVE})
    assert late.status_code == 409 and "draft" in late.json()["detail"]
    with session_scope(write=False) as s:
        kept = s.exec(select(Annotation).where(Annotation.task_id == task_id, Annotation.state == "draft")).one()
        assert kept.result == NEGATIVE


# Predictions


def test_predictions_are_created_listed_and_checked_against_the_config(client, team) -> None:
    project, tokens, _ = team
    task_id = client.get("/api/tasks", headers=tokens["manager"], params={"project": project.id}).json()["tasks"][0]["id"]
    body = {"task": task_id, "result": POSITIVE, "score": 0.75, "model_version": "v1"}
    created = client.post("/api/predictions/", headers=tokens["manager"], json=body)
    assert created.status_code == 201, created.text
    prediction = created.json()
    assert prediction["score"] == 0.75 and prediction["model_version"] == "v1" and prediction["task"] == task_id
    assert client.get(f"/api/predictions/{prediction['id']}", headers=tokens["manager"]).json() == prediction
    assert client.get("/api/predictions", headers=tokens["manager"], params={"task": task_id}).json() == [prediction]
    assert client.get("/api/predictions", headers=tokens["reviewer"], params={"project": project.id}).json() == [prediction]
    assert client.get(f"/api/tasks/{task_id}", headers=tokens["manager"]).json()["predictions"] == [prediction]
    wrong = [{**POSITIVE[0], "from_name": "nope"}]
    for bad in ({**body, "result": wrong}, {**body, "score": "high"}, {**body, "score": False}, {**body, "task": 0},
                {**body, "task": str(task_id)}, {"task": task_id}):
        answer = client.post("/api/predictions", headers=tokens["manager"], json=bad)
        assert answer.status_code == 400 and answer.json()["detail"], bad
    assert client.post("/api/predictions", headers=tokens["annotator"], json=body).status_code == 404  # not a task of theirs
    assert client.post("/api/predictions", headers=tokens["reviewer"], json=body).status_code == 403
    assert client.post("/api/predictions", headers=tokens["outsider"], json=body).status_code == 404
    assert client.get(f"/api/predictions/{prediction['id']}", headers=tokens["outsider"]).status_code == 404
    assert client.get("/api/predictions", headers=tokens["manager"]).status_code == 400
    # The model version annotators see is chosen among those with predictions.
    url = f"/api/projects/{project.id}"
    assert client.patch(url, headers=tokens["manager"], json={"model_version": "v9"}).status_code == 400
    assert client.patch(url, headers=tokens["manager"], json={"model_version": "v1"}).json()["model_version"] == "v1"
    assert client.patch(url, headers=tokens["reviewer"], json={"model_version": ""}).status_code == 403
    assert len(client.get("/api/predictions", headers=tokens["manager"], params={"task": task_id}).json()) == 1
    # A project's predictions come a page at a time (never the whole project at once).
    second = client.post("/api/predictions", headers=tokens["manager"], json={**body, "model_version": "v2"}).json()
    paged = [client.get("/api/predictions", headers=tokens["manager"],
                        params={"project": project.id, "page": n, "page_size": 1}).json() for n in (1, 2, 3)]
    assert paged == [[prediction], [second], []]
    assert client.get("/api/predictions", headers=tokens["manager"],
                      params={"project": project.id, "page_size": 1001}).status_code == 400


# Export


def test_export_streams_each_format_with_label_studios_parameters(client, team) -> None:
    project, tokens, _ = team
    headers = tokens["manager"]
    task = client.get(f"/api/projects/{project.id}/next", headers=headers).json()
    client.post(f"/api/tasks/{task['id']}/annotations", headers=headers, json={"result": POSITIVE})
    url = f"/api/projects/{project.id}/export"
    completed = client.get(url, headers=headers, params={"exportType": "JSON"})
    assert completed.status_code == 200 and "attachment" in completed.headers["content-disposition"]
    assert [t["id"] for t in completed.json()] == [task["id"]]
    everything = client.get(url, headers=headers, params={"export_type": "JSON", "download_all_tasks": "true"}).json()
    assert len(everything) == 3 and everything[0]["annotations"][0]["result"] == POSITIVE
    csv = client.get(url, headers=headers, params={"exportType": "CSV", "download_all_tasks": True})
    assert csv.headers["content-type"].startswith("text/csv") and csv.text.count("\n") == 4
    chosen = [("exportType", "JSON_MIN"), ("ids[]", task["id"]), ("ids[]", task["id"] + 1)]
    assert len(client.get(url, headers=headers, params=chosen).json()) == 1  # of those, the completed one
    assert len(client.get(url, headers=headers, params=[*chosen, ("download_all_tasks", "true")]).json()) == 2
    with session_scope(write=False) as s:
        assert s.exec(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "project.export")).one() == 5
    formats = {f["name"]: f for f in client.get(f"{url}/formats", headers=headers).json()}
    assert not formats["JSON"]["disabled"] and formats["YOLO"]["disabled"] and formats["YOLO"]["why_disabled"]


def test_export_refusals_are_json_errors(client, team) -> None:
    project, tokens, _ = team
    url = f"/api/projects/{project.id}/export"
    answer = client.get(url, headers=tokens["manager"], params={"exportType": "NOPE"})
    assert answer.status_code == 400 and "Unknown export format" in answer.json()["detail"]
    answer = client.get(url, headers=tokens["manager"], params={"exportType": "YOLO"})
    assert answer.status_code == 400 and "cannot export" in answer.json()["detail"]
    assert client.get(url, headers=tokens["annotator"]).status_code == 403
    assert client.get(url, headers=tokens["outsider"]).status_code == 404
    assert client.get(url).status_code == 401


def test_text_the_database_cannot_store_is_a_400_on_both_databases(client, team) -> None:
    project, tokens, _ = team
    headers = tokens["manager"]
    answer = client.post("/api/projects", headers=headers, json={"title": "a\u0000b", "label_config": CONFIG})
    assert answer.status_code == 400 and "NUL" in answer.json()["detail"]
    answer = client.get("/api/tasks", headers=headers, params={"project": project.id, "search": "a\u0000"})
    assert answer.status_code == 400 and "NUL" in answer.json()["detail"]
    assert count(Project) == 2


def test_every_route_but_health_and_version_refuses_a_missing_or_forged_token(client, team) -> None:
    from labelkit.api import app

    project, _, _ = team
    for path, operations in app.openapi()["paths"].items():
        if path in ("/health", "/version"):
            continue
        url = "/api" + path.replace("{id}", str(project.id))
        for method in operations:
            for headers in ({}, {"Authorization": "Token forged"}):
                answer = client.request(method, url, headers=headers, params={"project": project.id, "task": 1}, json={})
                assert answer.status_code == 401 and answer.json()["detail"], (method, path, headers)
    assert count(Task) == 3 and count(Project) == 2
