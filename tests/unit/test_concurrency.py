"""Many annotators at once: no task gets more annotations than its overlap, none is lost."""

from __future__ import annotations

import threading

import pytest
from sqlmodel import func, select

from labelkit.db import session_scope
from labelkit.labeling import queue, submissions
from labelkit.models import Annotation, AnnotationState, Role, Task, TaskLock

WORKERS = 8
TASKS = 40


def _work(user, project_id: int, errors: list) -> None:
    result = [{"id": "r", "from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["Neutral"]}}]
    try:
        while True:
            with session_scope() as s:
                found = queue.claim_next(s, user, project_id)
            if found is None:
                return
            with session_scope() as s:
                outcome = submissions.submit(s, user, found.task.id, result)
            assert outcome.counted, outcome.message
    except Exception as e:  # noqa: BLE001 - reported by the test
        errors.append(repr(e))


@pytest.mark.parametrize("overlap", [1, 2])
def test_eight_annotators_at_once_respect_the_overlap(factory, overlap: int) -> None:
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin, overlap=overlap)
    factory.tasks(project, admin, TASKS)
    people = [factory.user() for _ in range(WORKERS)]
    for person in people:
        factory.member(project, person, Role.ANNOTATOR)

    errors: list[str] = []
    threads = [threading.Thread(target=_work, args=(p, project.id, errors)) for p in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert errors == []

    with session_scope() as s:
        counts = dict(
            s.exec(
                select(Annotation.task_id, func.count(Annotation.id))
                .where(Annotation.state == AnnotationState.SUBMITTED)
                .group_by(Annotation.task_id)
            ).all()
        )
        stored = dict(s.exec(select(Task.id, Task.total_annotations)).all())
    assert len(counts) == TASKS
    assert set(counts.values()) == {overlap}  # none over the overlap, none missing
    assert stored == counts  # the queue's counter matches the real count


def test_one_person_in_several_tabs_claims_without_errors(factory) -> None:
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin)
    factory.tasks(project, admin, 10)
    person = factory.user()
    factory.member(project, person, Role.ANNOTATOR)
    errors: list[str] = []
    claimed: list[int] = []

    def tab() -> None:
        try:
            for _ in range(20):
                with session_scope() as s:
                    claimed.append(queue.claim_next(s, person, project.id).task.id)
        except Exception as e:  # noqa: BLE001 - reported by the test
            errors.append(repr(e))

    tabs = [threading.Thread(target=tab) for _ in range(6)]
    for t in tabs:
        t.start()
    for t in tabs:
        t.join(timeout=120)
    assert errors == []
    with session_scope() as s:
        locks = s.exec(select(func.count()).select_from(TaskLock).where(TaskLock.user_id == person.id)).one()
    assert locks >= 1 and len(claimed) == 120
