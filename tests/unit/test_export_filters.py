"""Export filters: one person's work, with or without the models' predictions, and one
annotation per task (the reviewed one, else the majority's answer, else the latest)."""

from __future__ import annotations

import io
import json

import pytest
from click.testing import CliRunner

from labelkit import exporters
from labelkit.cli import main
from labelkit.db import session_scope
from labelkit.exporters import choose
from labelkit.labeling import queue, review, submissions
from labelkit.models import Prediction, Role


def choice(value: str, region: str = "r1") -> list[dict]:
    return [{"id": region, "from_name": "sentiment", "to_name": "text", "type": "choices",
             "value": {"choices": [value]}, "origin": "manual"}]


def export(user, project, **options) -> list[dict]:
    out = io.BytesIO()
    with session_scope(write=False) as s:
        exporters.export_project(s, user, project.id, "JSON", out, **options)
    return json.loads(out.getvalue())


@pytest.fixture
def voted(factory):
    """One task, three annotators: ann and bob say Positive (with different region ids),
    cy says Negative; a model predicted Neutral; rev reviews."""
    admin = factory.user(Role.ADMIN, email="admin@example.com")
    project = factory.project(admin, overlap=3)
    factory.tasks(project, admin, [{"text": "the only task"}, {"text": "nobody's"}])
    people = {}
    for name, value in (("ann", "Positive"), ("bob", "Positive"), ("cy", "Negative")):
        person = people[name] = factory.user(email=f"{name}@example.com")
        factory.member(project, person, Role.ANNOTATOR)
        with session_scope() as s:
            task = queue.claim_next(s, person, project.id).task
        with session_scope() as s:
            submissions.submit(s, person, task.id, choice(value, region=f"id-{name}"))
    rev = factory.user(email="rev@example.com")
    factory.member(project, rev, Role.REVIEWER)
    with session_scope() as s:
        s.add(Prediction(task_id=task.id, project_id=project.id, result=choice("Neutral"), model_version="m"))
    return project, admin, people, rev


def test_one_annotation_per_task_is_the_majority_answer_until_one_is_reviewed(voted) -> None:
    project, admin, _people, rev = voted
    (first, _) = export(admin, project, one_per_task=True)
    (kept,) = first["annotations"]
    assert kept["result"][0]["value"]["choices"] == ["Positive"] and kept["completed_by_email"] == "bob@example.com"

    cy_annotation = next(a for a in export(admin, project)[0]["annotations"] if a["completed_by_email"] == "cy@example.com")
    with session_scope() as s:
        review.accept(s, rev, cy_annotation["id"])
    (first, _) = export(admin, project, one_per_task=True)
    assert [a["completed_by_email"] for a in first["annotations"]] == ["cy@example.com"]
    assert len(export(admin, project)[0]["annotations"]) == 3  # all of them, unless asked


def test_one_persons_work_and_no_predictions(voted) -> None:
    project, admin, _, _ = voted
    everything = export(admin, project)
    assert [len(t["predictions"]) for t in everything] == [1, 0]
    only_cy = export(admin, project, annotator="CY@example.com", predictions=False)
    assert [t["data"]["text"] for t in only_cy] == ["the only task"]  # the task cy did not annotate is left out
    assert [a["completed_by_email"] for a in only_cy[0]["annotations"]] == ["cy@example.com"]
    assert only_cy[0]["predictions"] == []
    with session_scope(write=False) as s:
        assert exporters.count_tasks(s, admin, project.id, annotator="cy@example.com") == 1
        assert exporters.annotators(s, admin, project.id) == ["ann@example.com", "bob@example.com", "cy@example.com"]


def test_the_cli_takes_the_same_filters(voted, tmp_path) -> None:
    project, admin, _, _ = voted
    out = tmp_path / "one.json"
    result = CliRunner().invoke(main, ["export", str(project.id), "--format", "JSON", "--out", str(out), "--one-per-task",
                                       "--no-predictions", "--annotator", "ann@example.com", "--as", admin.email])
    assert result.exit_code == 0, result.output
    (task,) = json.loads(out.read_text())
    assert [a["completed_by_email"] for a in task["annotations"]] == ["ann@example.com"] and task["predictions"] == []


def test_equal_answers_are_equal_whatever_their_region_ids() -> None:
    assert choose.answer_key(json.dumps(choice("A", "x1"))) == choose.answer_key(json.dumps(choice("A", "y2")))
    assert choose.answer_key(json.dumps(choice("A"))) != choose.answer_key(json.dumps(choice("B")))
