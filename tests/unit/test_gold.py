"""Gold tasks: marking ground truth, serving gold tasks unannounced at a share of each
person's new work, accuracy on them, and pausing below the project's bar."""

from __future__ import annotations

import pytest
from sqlmodel import select

from labelkit import assign, gold, queue, review, work
from labelkit.db import session_scope
from labelkit.errors import InvalidInput, NotFound, PermissionDenied
from labelkit.models import Annotation, AuditEvent, Membership, Project, Role, Task


def choice(label: str) -> list[dict]:
    return [{"id": "c", "from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [label]}}]


def submit(user, task_id: int, label: str = "Positive") -> Annotation:  # noqa: ANN001
    with session_scope() as s:
        return work.submit(s, user, task_id, choice(label)).annotation


def claim(user, project_id: int) -> int | None:  # noqa: ANN001
    with session_scope() as s:
        got = queue.claim_next(s, user, project_id)
        return got.task.id if got else None


def settings_of(project_id: int, **values) -> None:  # noqa: ANN003
    with session_scope() as s:
        project = s.get(Project, project_id)
        for key, value in values.items():
            setattr(project, key, value)
        s.add(project)


def task_ids(project_id: int) -> list[int]:
    with session_scope() as s:
        return list(s.exec(select(Task.id).where(Task.project_id == project_id).order_by(Task.id)).all())


def truths(project_id: int) -> dict[int, int]:
    with session_scope() as s:
        rows = s.exec(select(Annotation.task_id, Annotation.id).where(Annotation.project_id == project_id, Annotation.ground_truth)).all()
        return dict(rows)


@pytest.fixture
def team(factory):  # noqa: ANN001, ANN201
    manager = factory.user(Role.MANAGER)
    project = factory.project(manager, overlap=1)
    factory.tasks(project, manager, 10)
    people = {}
    for role in (Role.REVIEWER, Role.ANNOTATOR, Role.ANNOTATOR, Role.ANNOTATOR):
        user = factory.user(role)
        factory.member(project, user, role)
        people.setdefault(role, []).append(user)
    return manager, project, people[Role.REVIEWER][0], people[Role.ANNOTATOR]


def test_mark_tasks_prefers_the_accepted_annotation(factory) -> None:
    manager = factory.user(Role.MANAGER)
    project = factory.project(manager, overlap=2)
    factory.tasks(project, manager, 3)
    a, b, reviewer = factory.user(), factory.user(), factory.user(Role.REVIEWER)
    for user, role in ((a, Role.ANNOTATOR), (b, Role.ANNOTATOR), (reviewer, Role.REVIEWER)):
        factory.member(project, user, role)
    first, second, third = task_ids(project.id)
    submit(a, first, "Positive")
    accepted = submit(b, first, "Negative")
    latest_a = submit(a, second, "Positive")
    latest_b = submit(b, second, "Negative")
    with session_scope() as s:
        review.accept(s, reviewer, accepted.id)
    with session_scope() as s:
        assert gold.mark_tasks(s, manager, project.id, [first, second, third]) == 2  # the third has no annotation
    assert truths(project.id) == {first: accepted.id, second: max(latest_a.id, latest_b.id)}
    with session_scope() as s:  # marking again changes nothing
        assert gold.mark_tasks(s, manager, project.id, [first, second]) == 0
        assert s.exec(select(AuditEvent).where(AuditEvent.action == "task.gold")).first() is not None


def test_one_truth_per_task_and_unmarking(team) -> None:
    manager, project, _, (a, b, _) = team
    project_id = project.id
    settings_of(project_id, overlap=2)
    first = task_ids(project_id)[0]
    one, two = submit(a, first), submit(b, first, "Negative")
    with session_scope() as s:
        gold.mark_ground_truth(s, manager, one.id)
    with session_scope() as s:
        gold.mark_ground_truth(s, manager, two.id)
    assert truths(project_id) == {first: two.id}
    with session_scope() as s:
        gold.mark_ground_truth(s, manager, two.id, on=False)
    assert truths(project_id) == {}


def test_bad_input_changes_nothing(team, factory) -> None:
    manager, project, _, (a, _, _) = team
    other = factory.project(manager)
    factory.tasks(other, manager, 1)
    first, second = task_ids(project.id)[:2]
    foreign = task_ids(other.id)[0]
    submit(a, first)
    with session_scope() as s, pytest.raises(NotFound):
        gold.mark_tasks(s, manager, project.id, [first, foreign])
    with session_scope() as s, pytest.raises(InvalidInput):
        gold.mark_tasks(s, manager, project.id, [])
    with session_scope() as s, pytest.raises(NotFound):
        gold.mark_ground_truth(s, manager, 999999)
    with session_scope() as s:
        queue.claim_next(s, a, project.id)
        work.save_draft(s, a, second, choice("Neutral"))
    with session_scope() as s:
        draft = s.exec(select(Annotation).where(Annotation.state == "draft")).one()
    with session_scope() as s, pytest.raises(InvalidInput):
        gold.mark_ground_truth(s, manager, draft.id)
    assert truths(project.id) == {}


def test_only_managers_mark_ground_truth(team) -> None:
    manager, project, reviewer, (a, b, _) = team
    first = task_ids(project.id)[0]
    annotation = submit(a, first)
    for person in (reviewer, a, b):
        with session_scope() as s, pytest.raises(PermissionDenied):
            gold.mark_ground_truth(s, person, annotation.id)
        with session_scope() as s, pytest.raises(PermissionDenied):
            gold.mark_tasks(s, person, project.id, [first])
    with session_scope() as s, pytest.raises(PermissionDenied):
        gold.accuracy(s, a, project.id)
    with session_scope() as s:
        assert gold.accuracy(s, reviewer, project.id) == []
    assert truths(project.id) == {}
