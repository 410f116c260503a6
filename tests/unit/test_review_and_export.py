"""Review (accept, reject, fix) and the exports built on it."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from labelkit import exporters
from labelkit.cli import main
from labelkit.db import session_scope
from labelkit.errors import InvalidInput, PermissionDenied
from labelkit.labeling import queue, review, submissions
from labelkit.models import Role


def choice(value: str) -> list[dict]:
    return [{"id": "r1", "from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [value]}, "origin": "manual"}]


@pytest.fixture
def labeled(factory):
    """3 tasks; ann labeled tasks 1 and 2; rev is a reviewer."""
    admin = factory.user(Role.ADMIN, email="admin@example.com")
    project = factory.project(admin, title="Reviews")
    factory.tasks(project, admin, [{"text": "good"}, {"text": "=HYPERLINK(\"http://evil\")"}, {"text": "unlabeled"}])
    ann = factory.user(email="ann@example.com")
    rev = factory.user(email="rev@example.com")
    factory.member(project, ann, Role.ANNOTATOR)
    factory.member(project, rev, Role.REVIEWER)
    for value in ("Positive", "Negative"):
        with session_scope() as s:
            task = queue.claim_next(s, ann, project.id).task
        with session_scope() as s:
            submissions.submit(s, ann, task.id, choice(value))
    return project, admin, ann, rev


def pending(user, project) -> list[dict]:
    with session_scope() as s:
        return review.review_queue(s, user, project.id)


def export(user, project, fmt: str, only: str = "all") -> bytes:
    out = io.BytesIO()
    with session_scope(write=False) as s:
        exporters.export_project(s, user, project.id, fmt, out, only)
    return out.getvalue()


def test_reviewers_accept_reject_and_fix(labeled) -> None:
    project, _, _ann, rev = labeled
    first, second = pending(rev, project)
    with session_scope() as s:
        review.accept(s, rev, first["annotation_id"])
        with pytest.raises(InvalidInput, match="Say what is wrong"):
            review.reject(s, rev, second["annotation_id"], "  ")
    with session_scope() as s:
        review.fix(s, rev, second["annotation_id"], choice("Neutral"), "It is mixed.")
    assert pending(rev, project) == []
    with session_scope() as s:
        item = review.task_for_review(s, rev, second["task_id"])
    fixed = item.annotations[0].annotation
    assert fixed.result == choice("Negative")  # the annotator's own answer is kept
    assert fixed.reviewed_result == choice("Neutral")
    assert review.effective_result(fixed) == choice("Neutral")
    assert [r.action for r in item.annotations[0].reviews] == ["fix"]


def test_nobody_reviews_their_own_work_and_annotators_do_not_review(labeled, factory) -> None:
    project, admin, ann, rev = labeled
    assert len(pending(admin, project)) == 2
    with session_scope() as s, pytest.raises(PermissionDenied):
        review.review_queue(s, ann, project.id)
    with session_scope() as s:
        task = queue.claim_next(s, rev, project.id).task
    with session_scope() as s:
        mine = submissions.submit(s, rev, task.id, choice("Positive")).annotation
    assert mine.id not in {p["annotation_id"] for p in pending(rev, project)}
    with session_scope() as s, pytest.raises(PermissionDenied, match="your own work"):
        review.accept(s, rev, mine.id)


def test_label_studio_json_export(labeled) -> None:
    project, admin, _, rev = labeled
    with session_scope() as s:
        review.accept(s, rev, pending(rev, project)[0]["annotation_id"])
    tasks = json.loads(export(admin, project, "JSON"))
    assert [t["id"] for t in tasks] == [1, 2, 3]
    assert tasks[0]["data"] == {"text": "good"}
    (annotation,) = tasks[0]["annotations"]
    assert annotation["result"] == choice("Positive")
    assert annotation["completed_by_email"] == "ann@example.com" and annotation["was_cancelled"] is False
    assert tasks[2]["annotations"] == [] and tasks[0]["predictions"] == []
    accepted = json.loads(export(admin, project, "JSON", "accepted"))
    assert [(t["id"], len(t["annotations"])) for t in accepted] == [(1, 1)]
    completed = json.loads(export(admin, project, "JSON", "completed"))
    assert [t["id"] for t in completed] == [1, 2]
    lines = export(admin, project, "JSONL").decode().splitlines()
    assert [json.loads(line)["id"] for line in lines] == [1, 2, 3]


def test_csv_export_has_a_row_per_annotation_and_neutralizes_formulas(labeled) -> None:
    project, admin, _, _ = labeled
    rows = list(csv.DictReader(io.StringIO(export(admin, project, "CSV").decode())))
    assert [(r["id"], r["text"], r["sentiment"], r["annotator"]) for r in rows] == [
        ("1", "good", "Positive", "ann@example.com"),
        ("2", "'=HYPERLINK(\"http://evil\")", "Negative", "ann@example.com"),
        ("3", "unlabeled", "", ""),
    ]
    tsv = export(admin, project, "TSV").decode().splitlines()
    assert tsv[0].split("\t")[:3] == ["id", "text", "sentiment"]


def test_the_fixed_answer_is_what_gets_exported(labeled) -> None:
    project, admin, _, rev = labeled
    target = pending(rev, project)[1]
    with session_scope() as s:
        review.fix(s, rev, target["annotation_id"], choice("Neutral"))
    accepted = json.loads(export(admin, project, "JSON", "accepted"))
    assert accepted[0]["annotations"][0]["result"] == choice("Neutral")


def test_only_managers_export_and_unknown_formats_are_refused(labeled) -> None:
    project, admin, ann, _ = labeled
    with pytest.raises(PermissionDenied):
        export(ann, project, "JSON")
    with pytest.raises(InvalidInput, match="Unknown export format"):
        export(admin, project, "COCO-ISH")


def test_the_cli_writes_the_same_bytes_as_the_export_page(labeled, tmp_path) -> None:
    project, admin, _, rev = labeled
    with session_scope() as s:
        review.accept(s, rev, pending(rev, project)[0]["annotation_id"])
    for fmt, only in [("JSON", "accepted"), ("CSV", "all")]:
        out = tmp_path / f"export.{fmt.lower()}"
        result = CliRunner().invoke(main, ["export", "Reviews", "--format", fmt, "--out", str(out), "--only", only])
        assert result.exit_code == 0, result.output
        assert out.read_bytes() == export(admin, project, fmt, only)
