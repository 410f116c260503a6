"""Counts that two app servers change at once (tests/e2e/test_multi_server.py runs the real
thing): a write reads the task row as it locked it, never a copy its request read before."""

from __future__ import annotations

import pytest
from sqlmodel import select

from labelkit import db as lkdb
from labelkit.labeling import queue, submissions
from labelkit.models import Annotation, Project, Role, Task
from labelkit.projects import trash
from labelkit.reports import task_detail

ANSWER = [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["Positive"]}}]


def _two_holders(factory):
    """A task with overlap 2 that two annotators hold at once (their claims committed)."""
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin, overlap=2)
    one, two = factory.user(), factory.user()
    for person in (one, two):
        factory.member(project, person, Role.ANNOTATOR)
    factory.tasks(project, admin, 1)
    for person in (one, two):
        with lkdb.session_scope() as s:
            task_id = queue.claim_next(s, person, project.id).task.id
    return admin, project, one, two, task_id


def test_a_submit_counts_from_the_locked_row_not_a_copy_read_before(factory, database_url) -> None:
    """Annotator one's request reads the task (as the REST API does) while annotator two's
    submit commits on another server; one's submit must count from 1, not from the 0 it read:
    the task ends with 2 and is done, so nobody else is handed it."""
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite serializes writers from their first statement: nothing can commit in between")
    _, project, one, two, task_id = _two_holders(factory)
    with lkdb.session_scope() as first:
        read, _ = task_detail.visible_task(first, one, task_id)  # read (and kept) before the other submit commits
        with lkdb.session_scope() as second:
            assert submissions.submit(second, two, task_id, ANSWER).counted
        assert submissions.submit(first, one, task_id, ANSWER).counted
        assert read.total_annotations == 2
    with lkdb.session_scope(write=False) as s:
        task = s.get(Task, task_id)
        assert (task.total_annotations, task.done) == (2, True)
        assert s.get(Project, project.id).done_count == 1
    third = factory.user()
    factory.member(project, third, Role.ANNOTATOR)
    with lkdb.session_scope() as s:
        assert queue.claim_next(s, third, project.id) is None


def test_deleting_an_annotation_counts_from_the_locked_row(factory, database_url) -> None:
    """A manager's delete read the task before an annotator's submit committed elsewhere: the
    task ends with the one annotation it really has, still open for one more."""
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite serializes writers from their first statement: nothing can commit in between")
    admin, project, one, two, task_id = _two_holders(factory)
    with lkdb.session_scope() as s:
        submissions.submit(s, one, task_id, ANSWER)
    with lkdb.session_scope() as s:
        first_id = s.exec(select(Annotation.id).where(Annotation.task_id == task_id)).one()
    with lkdb.session_scope() as manager:
        read = manager.get(Task, task_id)  # read (and kept) before the other submit commits
        with lkdb.session_scope() as other:
            assert submissions.submit(other, two, task_id, ANSWER).counted
        trash.delete_annotation(manager, admin, first_id)
        assert read.total_annotations == 1
    with lkdb.session_scope(write=False) as s:
        task = s.get(Task, task_id)
        assert (task.total_annotations, task.done) == (1, False)
        assert s.get(Project, project.id).done_count == 0
