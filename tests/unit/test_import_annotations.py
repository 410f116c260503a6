"""Label Studio JSON with annotations imports with nothing lost: a labelkit export imports
into a new project unchanged (annotators matched by email, review states, times), Label
Studio's own export keeps annotations by people who have no account here, and the queue
and progress count what came in."""

from __future__ import annotations

import io
import json

import pytest
from sqlmodel import select

from labelkit import exporters, importers
from labelkit.db import session_scope
from labelkit.errors import InvalidInput
from labelkit.labeling import queue, review, submissions
from labelkit.models import Annotation, AnnotationState, Project, Role, Task


def choice(value: str) -> list[dict]:
    return [{"id": "r1", "from_name": "sentiment", "to_name": "text", "type": "choices",
             "value": {"choices": [value]}, "origin": "manual"}]


def export(user, project, fmt: str = "JSON") -> list[dict]:
    out = io.BytesIO()
    with session_scope(write=False) as s:
        exporters.export_project(s, user, project.id, fmt, out)
    return json.loads(out.getvalue())


def run_import(user, project, payload) -> importers.ImportReport:
    content = json.dumps(payload).encode()
    with session_scope() as s:
        return importers.import_sources(s, user, project.id, [("export.json", io.BytesIO(content), len(content))])


def comparable(tasks: list[dict]) -> list[dict]:
    """What must survive a round trip: the data, and each annotation's result, annotator,
    state, review and timing (ids are new in the new project)."""
    keep = ("result", "completed_by_email", "was_cancelled", "review_status", "lead_time", "created_at", "updated_at")
    return [{"data": t["data"], "annotations": [{k: a[k] for k in keep} for a in t["annotations"]]} for t in tasks]


@pytest.fixture
def labeled(factory):
    admin = factory.user(Role.ADMIN, email="admin@example.com")
    project = factory.project(admin, title="Source")
    factory.tasks(project, admin, [{"text": "good"}, {"text": "bad"}, {"text": "unlabeled"}])
    ann, rev = factory.user(email="ann@example.com"), factory.user(email="rev@example.com")
    factory.member(project, ann, Role.ANNOTATOR)
    factory.member(project, rev, Role.REVIEWER)
    for value in ("Positive", "Negative"):
        with session_scope() as s:
            task = queue.claim_next(s, ann, project.id).task
        with session_scope() as s:
            submissions.submit(s, ann, task.id, choice(value), lead_time=4.5)
    with session_scope() as s:
        first = s.exec(select(Annotation).order_by(Annotation.id)).first()
        review.accept(s, rev, first.id)
    return project, admin, ann


def test_a_labelkit_export_imports_into_a_new_project_with_nothing_lost(labeled, factory) -> None:
    project, admin, ann = labeled
    exported = export(admin, project)
    copy = factory.project(admin, title="Copy")
    factory.member(copy, ann, Role.ANNOTATOR)

    report = run_import(admin, copy, exported)

    assert (report.created, report.annotations, report.unmatched) == (3, 2, 0)
    assert comparable(export(admin, copy)) == comparable(exported)
    with session_scope(write=False) as s:
        stored = s.exec(select(Annotation).where(Annotation.project_id == copy.id)).all()
        assert {a.user_id for a in stored} == {ann.id}
        assert sorted(a.review_status for a in stored) == ["accepted", "pending"]
        moved = s.get(Project, copy.id)
        assert (moved.task_count, moved.done_count) == (3, 2)
    # The annotator's finished work is not handed out again: only the unlabeled task is left.
    with session_scope() as s:
        left = queue.claim_next(s, ann, copy.id)
        assert left is not None and left.task.data == {"text": "unlabeled"}


def test_label_studios_export_keeps_annotations_of_people_without_an_account(factory) -> None:
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin, overlap=2)
    ls_export = [
        {"id": 41, "data": {"text": "first"}, "annotations": [
            {"id": 7, "completed_by": 3, "result": choice("Positive"), "was_cancelled": False, "lead_time": 2.0,
             "created_at": "2021-03-09T22:16:08.728353Z", "updated_at": "2021-03-09T22:16:09.000000Z"},
            {"id": 8, "completed_by": {"id": 4, "email": "Someone@Elsewhere.org"}, "result": [], "was_cancelled": True},
        ]},
        {"id": 42, "data": {"text": "second"}, "annotations": [
            {"id": 9, "completed_by": 3, "result": choice("Negative")},
            {"id": 10, "completed_by": 5, "result": choice("Negative")},
        ], "predictions": [{"result": choice("Positive"), "score": 0.5, "model_version": "m"}]},
    ]

    report = run_import(admin, project, ls_export)

    assert (report.created, report.annotations, report.unmatched, report.predictions) == (2, 4, 4, 1)
    assert "4 annotations by people without an account here were kept as imported" in report.summary()
    with session_scope(write=False) as s:
        tasks = s.exec(select(Task).where(Task.project_id == project.id).order_by(Task.id)).all()
        # Overlap 2: the first task has one submission (the other was a skip), the second two.
        assert [(t.total_annotations, t.done) for t in tasks] == [(1, False), (2, True)]
        first = s.exec(select(Annotation).where(Annotation.task_id == tasks[0].id).order_by(Annotation.id)).all()
        assert [(a.state, a.user_id) for a in first] == [(AnnotationState.SUBMITTED, None), (AnnotationState.SKIPPED, None)]
        assert first[0].created_at.year == 2021 and first[0].lead_time == 2.0
        assert s.get(Project, project.id).done_count == 1


@pytest.mark.parametrize("annotations", [{"result": []}, ["not an object"], [{"result": "Positive"}]])
def test_malformed_annotations_refuse_the_whole_file(factory, annotations) -> None:
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin)
    payload = [{"data": {"text": "fine"}}, {"data": {"text": "broken"}, "annotations": annotations}]
    with pytest.raises(InvalidInput) as refused:
        run_import(admin, project, payload)
    assert "export.json, task 2: annotations must be a list of objects with a result list" in str(refused.value)
    with session_scope(write=False) as s:
        assert s.exec(select(Task).where(Task.project_id == project.id)).all() == []
