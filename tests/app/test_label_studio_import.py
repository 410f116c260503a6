"""labelkit's Label Studio JSON export imports into Label Studio itself.

A real Label Studio (tests/lsserver.py: its own virtualenv, SQLite, loopback only) gets a
project with our label config and our export file posted to its import API, exactly as a
user uploads it; then Label Studio's own JSON export of that project is compared with ours:
the data of every task, every annotation's result (from_name, to_name, type, value, and
the ids relations point at), lead times, and the predictions with
their scores and model versions."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest

from labelkit import exporters
from labelkit.config.templates import template
from labelkit.db import session_scope
from labelkit.labeling import queue, submissions
from labelkit.models import Role
from tests.lsserver import LabelStudio, Offline, venv
from tests.support import unavailable

# Page tests: what a page draws and wires; the SQL under it is tested on both databases in tests/unit. It starts a real Label Studio.
pytestmark = [pytest.mark.one_database, pytest.mark.e2e]


@pytest.fixture(scope="session")
def label_studio() -> Iterator[LabelStudio]:
    try:
        folder = venv()
    except Offline as e:
        unavailable(f"Label Studio could not be installed: pip cannot reach PyPI ({e})")
    server = LabelStudio().start(folder)
    try:
        yield server
    finally:
        server.stop()


def region(rid: str, control: str, obj: str, kind: str, value: dict, **extra) -> dict:
    return {"id": rid, "from_name": control, "to_name": obj, "type": kind, "origin": "manual", "value": value, **extra}


TEXT = "Grace Hopper joined the Eckert-Mauchly Computer Corporation in Philadelphia in 1949."
PROJECTS = {
    "text classification": (
        template("text-classification").config,
        [{"text": "The new phone ships with a faster chip."}, {"text": "The match went to extra time."},
         {"text": "Nobody labeled this one."}],
        [[region("c1", "category", "text", "choices", {"choices": ["Technology"]})],
         [region("c2", "category", "text", "choices", {"choices": ["Sports"]})]],
        {2: [region("p1", "category", "text", "choices", {"choices": ["Politics"]})]},
    ),
    "named entities with a relation": (
        template("named-entities").config,
        [{"text": TEXT}, {"text": "Ada Lovelace lived in London."}],
        [[region("n1", "entities", "text", "labels", {"start": 0, "end": 12, "text": "Grace Hopper", "labels": ["Person"]}),
          region("n2", "entities", "text", "labels",
                 {"start": 24, "end": 59, "text": "Eckert-Mauchly Computer Corporation", "labels": ["Organisation"]}),
          {"from_id": "n1", "to_id": "n2", "type": "relation", "direction": "right", "labels": ["works for"]}]],
        {1: [region("p2", "entities", "text", "labels", {"start": 0, "end": 12, "text": "Ada Lovelace", "labels": ["Person"]})]},
    ),
    "image boxes": (
        template("object-detection").config,
        [{"image": "/data/upload/1/street.png"}, {"image": "https://example.com/crossing.jpg"}],
        [[region("b1", "objects", "image", "rectanglelabels",
                 {"x": 10.5, "y": 20, "width": 30, "height": 40.25, "rotation": 0, "rectanglelabels": ["Car"]},
                 original_width=640, original_height=480, image_rotation=0),
          region("b2", "objects", "image", "rectanglelabels",
                 {"x": 50, "y": 5, "width": 12, "height": 30, "rotation": 15, "rectanglelabels": ["Pedestrian"]},
                 original_width=640, original_height=480, image_rotation=0)],
         [region("b3", "objects", "image", "rectanglelabels",
                 {"x": 0, "y": 60, "width": 100, "height": 40, "rotation": 0, "rectanglelabels": ["Cyclist"]},
                 original_width=1024, original_height=768, image_rotation=0)]],
        {0: [region("p3", "objects", "image", "rectanglelabels",
                    {"x": 11, "y": 21, "width": 29, "height": 39, "rotation": 0, "rectanglelabels": ["Car"]},
                    original_width=640, original_height=480, image_rotation=0)]},
    ),
}


def labeled_project(factory, config: str, rows: list[dict], results: list, predictions: dict) -> tuple:
    """A project whose tasks are `rows` (with the predictions given by row index), the first
    tasks submitted in the queue's order with `results`."""
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin, config=config)
    rows = [{"data": row, **({"predictions": [{"result": predictions[i], "score": 0.75, "model_version": "m-1"}]}
                            if i in predictions else {})} for i, row in enumerate(rows)]
    factory.tasks(project, admin, rows)
    ann = factory.user(email="ann@example.com")
    factory.member(project, ann, Role.ANNOTATOR)
    for number, result in enumerate(results):
        with session_scope() as s:
            task = queue.claim_next(s, ann, project.id).task
        with session_scope() as s:
            submissions.submit(s, ann, task.id, result, lead_time=2.5 + number)
    return project, admin


def our_export(project, admin) -> bytes:
    out = io.BytesIO()
    with session_scope(write=False) as s:
        exporters.export_project(s, admin, project.id, "JSON", out)
    return out.getvalue()


def comparable(tasks: list[dict]) -> list[dict]:
    """What a Label Studio user relies on after the import, in task order."""

    def result(items: list[dict]) -> list[dict]:
        keep = ("id", "from_name", "to_name", "type", "value", "from_id", "to_id", "direction", "labels",
                "original_width", "original_height", "image_rotation")
        return [{k: r[k] for k in keep if k in r} for r in items]

    return [
        {
            "data": t["data"],
            "annotations": [{"result": result(a["result"]), "was_cancelled": a["was_cancelled"], "lead_time": a["lead_time"]}
                            for a in sorted(t["annotations"], key=lambda a: a["id"])],
            "predictions": [{"result": result(p["result"]), "score": p["score"], "model_version": p["model_version"]}
                            for p in t["predictions"]],
        }
        for t in sorted(tasks, key=lambda t: t["id"])
    ]


@pytest.mark.parametrize("kind", list(PROJECTS))
def test_our_label_studio_json_export_imports_into_label_studio_unchanged(label_studio, factory, kind) -> None:
    config, rows, results, predictions = PROJECTS[kind]
    project, admin = labeled_project(factory, config, rows, results, predictions)
    exported = our_export(project, admin)
    ours = json.loads(exported)
    assert sum(len(t["annotations"]) for t in ours) == len(results), "the export has the annotations to check"

    with label_studio.client() as ls:
        created = ls.post("/api/projects/", json={"title": f"labelkit {kind}", "label_config": config})
        assert created.status_code == 201, created.text
        ls_project = created.json()["id"]
        imported = ls.post(f"/api/projects/{ls_project}/import",
                           files={"file": ("labelkit-export.json", exported, "application/json")})
        assert imported.status_code == 201, f"{imported.text}\n{label_studio.log_tail()}"
        counts = imported.json()
        assert (counts["task_count"], counts["annotation_count"], counts["prediction_count"]) == (
            len(rows), len(results), len(predictions))
        exported_there = ls.get(f"/api/projects/{ls_project}/export",
                                params={"exportType": "JSON", "download_all_tasks": "true"})
        assert exported_there.status_code == 200, exported_there.text
        # Its export lists a task's predictions by id: they are read from its predictions API.
        listed = ls.get("/api/predictions/", params={"project": ls_project})
        assert listed.status_code == 200, listed.text
        me = ls.get("/api/current-user/whoami").json()["id"]

    theirs = exported_there.json()
    for task in theirs:
        task["predictions"] = sorted((p for p in listed.json() if p["task"] == task["id"]), key=lambda p: p["id"])
    assert comparable(theirs) == comparable(ours)
    # Our ids mean nothing there: the annotations are the importing person's (completed_by is left out).
    assert {a["completed_by"] for t in theirs for a in t["annotations"]} == {me}
