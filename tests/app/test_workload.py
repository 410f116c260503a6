"""The Workload tab (managers), the paused note on the label page, and the ground-truth toggle."""

from __future__ import annotations

import pytest
from sqlmodel import select

from labelkit.db import session_scope
from labelkit.labeling import assign, queue, submissions
from labelkit.models import Annotation, Role, TaskAssignment

# Page tests: what a page draws and wires; the SQL under it is tested on both databases in tests/unit.
pytestmark = pytest.mark.one_database

CHOICE = [{"id": "c", "from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["Positive"]}}]


def test_workload_tab_assigns_releases_and_resumes(factory, app_as) -> None:
    manager = factory.user(Role.MANAGER)
    project = factory.project(manager)
    factory.tasks(project, manager, 5)
    a = factory.user(email="ann@example.com")
    factory.member(project, a, Role.ANNOTATOR)
    with session_scope() as s:
        held = queue.claim_next(s, a, project.id).task.id
    with session_scope() as s:
        assign.pause(s, manager, project.id, a.id, "Please reread the guidelines.")
    at = app_as(manager, "projects", project=project.id)
    assert not at.exception
    text = " ".join(m.value for m in at.markdown).replace("\\", "")  # names and emails are escaped Markdown
    assert f"Task {held}" in text and "ann@example.com" in text and "Please reread the guidelines." in text
    at.button(key=f"lk_release_{project.id}_{held}_{a.id}").click().run()
    assert any("back in the queue" in m.value for m in at.success)
    at.button(key=f"lk_resume_{project.id}_{a.id}").click().run()
    assert any("can label again" in m.value for m in at.success)
    with session_scope() as s:
        assert assign.holders(s, manager, project.id) == [] and assign.paused_people(s, manager, project.id) == []
    # The next 3 unassigned tasks to Ann.
    next(n for n in at.number_input if n.label == "Tasks").set_value(3)
    next(m for m in at.multiselect if m.label.startswith("People (each")).set_value([a.id])
    next(b for b in at.button if b.label == "Assign").click().run()
    assert not at.exception
    assert any("Assigned 3 tasks" in m.value for m in at.success), [e.value for e in at.error]
    with session_scope() as s:
        assert len(s.exec(select(TaskAssignment).where(TaskAssignment.user_id == a.id)).all()) == 3


def test_only_managers_get_the_workload_tab(factory, app_as) -> None:
    manager = factory.user(Role.MANAGER)
    project = factory.project(manager)
    reviewer = factory.user(Role.REVIEWER)
    factory.member(project, reviewer, Role.REVIEWER)
    at = app_as(reviewer, "projects", project=project.id)
    assert not any(t.label == "Workload" for t in at.tabs)


def test_review_page_marks_ground_truth(factory, app_as) -> None:
    manager = factory.user(Role.MANAGER)
    project = factory.project(manager, overlap=2)
    factory.tasks(project, manager, 1)
    a, b = factory.user(), factory.user()
    for person in (a, b):
        factory.member(project, person, Role.ANNOTATOR)
        with session_scope() as s:
            task_id = queue.claim_next(s, person, project.id).task.id
        with session_scope() as s:
            submissions.submit(s, person, task_id, CHOICE)
    with session_scope() as s:
        first = s.exec(select(Annotation).where(Annotation.user_id == a.id)).one()
    at = app_as(manager, "review", project=project.id)
    assert not at.exception
    at.toggle(key=f"lk_truth_{first.id}_0").set_value(True).run()
    assert not at.exception
    with session_scope() as s:
        assert s.get(Annotation, first.id).ground_truth
    reviewer = factory.user(Role.REVIEWER)
    factory.member(project, reviewer, Role.REVIEWER)
    at = app_as(reviewer, "review", project=project.id)
    assert not [t for t in at.toggle if t.label == "Ground truth"]


def test_label_page_says_why_a_paused_person_gets_nothing(factory, app_as) -> None:
    manager = factory.user(Role.MANAGER)
    project = factory.project(manager)
    factory.tasks(project, manager, 2)
    a = factory.user()
    factory.member(project, a, Role.ANNOTATOR)
    with session_scope() as s:
        assign.pause(s, manager, project.id, a.id, "Let's talk first.")
    at = app_as(a, "label", project=project.id)
    assert not at.exception
    notes = " ".join(i.value for i in at.info)
    assert "paused" in notes and "Let's talk first." in notes
    assert not at.success
