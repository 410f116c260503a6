"""Deleting goes to a trash an admin restores from; only managers delete."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from labelkit import audit
from labelkit.db import session_scope
from labelkit.errors import PermissionDenied
from labelkit.labeling import queue, submissions
from labelkit.models import Annotation, Project, Role, Task, utcnow
from labelkit.projects import trash
from labelkit.projects.crud import list_projects


@pytest.fixture
def project_with_work(factory):
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin, title="Doomed")
    factory.tasks(project, admin, 3)
    manager, annotator = factory.user(), factory.user()
    factory.member(project, manager, Role.MANAGER)
    factory.member(project, annotator, Role.ANNOTATOR)
    with session_scope() as s:
        task = queue.claim_next(s, annotator, project.id).task
    with session_scope() as s:
        submissions.submit(s, annotator, task.id, [{"id": "x", "from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["Positive"]}}])
    return project, admin, manager, annotator


def test_only_managers_delete_and_the_confirmation_names_what_goes(project_with_work) -> None:
    project, _, manager, annotator = project_with_work
    with session_scope() as s, pytest.raises(PermissionDenied):
        trash.delete_project(s, annotator, project.id)
    with session_scope() as s:
        summary = trash.project_deletion(s, manager, project.id)
    assert summary.sentence().startswith("Project 'Doomed': 3 tasks and 1 annotation go to the trash")
    with session_scope() as s:
        trash.delete_project(s, manager, project.id)
    with session_scope() as s:
        assert list_projects(s, manager) == []
        assert s.get(Project, project.id).deleted_at is not None  # still there, in the trash


def test_an_admin_restores_a_project_from_the_trash(project_with_work) -> None:
    project, admin, manager, _ = project_with_work
    with session_scope() as s:
        trash.delete_project(s, manager, project.id)
    with session_scope() as s, pytest.raises(PermissionDenied):
        trash.list_trash(s, manager)
    with session_scope() as s:
        (item,) = trash.list_trash(s, admin)
        assert (item["kind"], item["what"]) == ("project", "Doomed")
        trash.restore(s, admin, "project", project.id)
    with session_scope() as s:
        assert [p["title"] for p in list_projects(s, manager)] == ["Doomed"]
        actions = [e["action"] for e in audit.recent_events(s, admin)]
    assert "project.delete" in actions and "project.restore" in actions


def test_deleted_tasks_leave_the_queue_and_come_back_on_restore(project_with_work) -> None:
    project, admin, manager, annotator = project_with_work
    with session_scope() as s:
        trash.delete_tasks(s, manager, project.id, [2, 3])
    with session_scope() as s:
        assert queue.claim_next(s, annotator, project.id) is None
    with session_scope() as s:
        trash.restore(s, admin, "task", 2)
    with session_scope() as s:
        assert queue.claim_next(s, annotator, project.id).task.id == 2


def test_deleting_an_annotation_frees_its_place_in_the_overlap(project_with_work) -> None:
    _project, admin, manager, _ = project_with_work
    with session_scope() as s:
        annotation = s.exec(select(Annotation)).one()
        trash.delete_annotation(s, manager, annotation.id)
    with session_scope() as s:
        assert s.get(Task, annotation.task_id).total_annotations == 0
        trash.restore(s, admin, "annotation", annotation.id)
    with session_scope() as s:
        assert s.get(Task, annotation.task_id).total_annotations == 1


def test_the_trash_is_purged_after_the_retention_period(project_with_work) -> None:
    project, _admin, manager, _ = project_with_work
    with session_scope() as s:
        trash.delete_project(s, manager, project.id)
    with session_scope() as s:
        assert trash._purge_expired(s) == 0
        s.get(Project, project.id).deleted_at = utcnow() - timedelta(days=31)
    with session_scope() as s:
        assert trash._purge_expired(s) == 1
    with session_scope() as s:
        assert s.get(Project, project.id) is None
        assert s.exec(select(Task)).all() == []  # its tasks went with it
