"""Gold tasks: marking ground truth, serving gold tasks unannounced at a share of each
person's new work, accuracy on them, and pausing below the project's bar."""

from __future__ import annotations

import pytest
from sqlmodel import select

from labelkit.db import session_scope
from labelkit.errors import InvalidInput, NotFound, PermissionDenied
from labelkit.labeling import assign, gold, queue, review, submissions
from labelkit.models import Annotation, AuditEvent, Membership, Project, Role
from tests.unit.test_distribution import claim, settings_of, task_ids, team  # noqa: F401 - team is a fixture


def choice(label: str) -> list[dict]:
    return [{"id": "c", "from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [label]}}]


def submit(user, task_id: int, label: str = "Positive") -> Annotation:
    with session_scope() as s:
        return submissions.submit(s, user, task_id, choice(label)).annotation


def truths(project_id: int) -> dict[int, int]:
    with session_scope() as s:
        rows = s.exec(select(Annotation.task_id, Annotation.id).where(Annotation.project_id == project_id, Annotation.ground_truth)).all()
        return dict(rows)


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
        submissions.save_draft(s, a, second, choice("Neutral"))
    with session_scope() as s:
        draft = s.exec(select(Annotation).where(Annotation.state == "draft")).one()
    with session_scope() as s, pytest.raises(InvalidInput):
        gold.mark_ground_truth(s, manager, draft.id)
    assert truths(project.id) == {}


def test_only_managers_mark_ground_truth(team) -> None:
    _manager, project, reviewer, (a, b, _) = team
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


def make_gold(manager, project_id: int, truth_user, tasks: list[int], label: str = "Positive") -> None:
    for task_id in tasks:
        submit(truth_user, task_id, label)
    with session_scope() as s:
        assert gold.mark_tasks(s, manager, project_id, tasks) == len(tasks)


def test_gold_tasks_come_first_at_a_hundred_percent_and_never_otherwise(team) -> None:
    manager, project, reviewer, (a, b, _c) = team
    ids = task_ids(project.id)
    gold_ids = [ids[2], ids[6]]
    make_gold(manager, project.id, reviewer, gold_ids)  # overlap 1: these tasks are done
    # No gold share: gold tasks are done, nobody gets them.
    seen = []
    while (t := claim(a, project.id)) is not None:
        seen.append(t)
        submit(a, t)
    assert set(seen) == set(ids) - set(gold_ids)
    settings_of(project.id, gold_percent=100)
    got = [claim(b, project.id)]
    submit(b, got[0], "Negative")
    got.append(claim(b, project.id))
    with session_scope() as s:  # a done task takes the gold answer: it is counted
        outcome = submissions.submit(s, b, got[1], choice("Positive"))
        assert outcome.counted and outcome.annotation.state == "submitted"
    assert sorted(got) == gold_ids
    assert claim(b, project.id) is None  # gold done, the rest of the queue is done
    with session_scope() as s:
        assert s.get(Project, project.id).done_count == 10


def test_gold_is_mixed_in_at_about_the_share(team, factory, monkeypatch) -> None:
    manager, project, reviewer, (a, _, _) = team
    factory.tasks(project, manager, 30)
    ids = task_ids(project.id)
    settings_of(project.id, overlap=2, gold_percent=25)
    gold_ids = ids[-8:]
    make_gold(manager, project.id, reviewer, gold_ids)
    draws = iter([0.1, 0.5, 0.9, 0.3] * 20)  # one in four draws falls under 25%
    monkeypatch.setattr(queue.random, "random", lambda: next(draws))
    got = []
    for _ in range(12):
        t = claim(a, project.id)
        got.append(t)
        submit(a, t)
    assert [t in gold_ids for t in got] == [True, False, False, False] * 3
    assert [t for t in got if t not in gold_ids] == ids[:9]  # gold tasks are not in the normal queue


def test_accuracy_and_automatic_pause(team) -> None:
    manager, project, reviewer, (a, b, _) = team
    ids = task_ids(project.id)
    gold_ids = ids[:4]
    settings_of(project.id, gold_percent=100, gold_min_accuracy=0.75, gold_min_tasks=3)
    make_gold(manager, project.id, reviewer, gold_ids, "Positive")
    answers = {a.id: ["Positive", "Negative", "Negative"], b.id: ["Positive", "Positive", "Negative"]}
    for person in (a, b):
        for label in answers[person.id]:
            t = claim(person, project.id)
            assert t in gold_ids
            submit(person, t, label)
    with session_scope() as s:
        table = {row[0]: row[1:] for row in gold.accuracy(s, manager, project.id)}
    assert table[a.email][0] == 3 and table[a.email][1] == pytest.approx(1 / 3) and table[a.email][2] is True
    assert table[b.email][0] == 3 and table[b.email][1] == pytest.approx(2 / 3) and table[b.email][2] is True
    assert claim(a, project.id) is None
    with session_scope() as s:
        reason = assign.my_pause(s, a, project.id)
        assert "33%" in reason and "75%" in reason
        paused = s.exec(select(Membership).where(Membership.project_id == project.id, Membership.paused_at.is_not(None))).all()
        assert {m.user_id for m in paused} == {a.id, b.id}
        assert s.exec(select(AuditEvent).where(AuditEvent.action == "member.pause")).first() is not None
    with session_scope() as s:
        assign.resume(s, manager, project.id, b.id)
    assert claim(b, project.id) == gold_ids[3]  # the last gold task


def test_no_pause_before_enough_gold_tasks(team) -> None:
    manager, project, reviewer, (a, _, _) = team
    ids = task_ids(project.id)
    settings_of(project.id, gold_percent=100, gold_min_accuracy=0.9, gold_min_tasks=5)
    make_gold(manager, project.id, reviewer, ids[:3])
    for _ in range(3):
        submit(a, claim(a, project.id), "Negative")
    with session_scope() as s:
        assert assign.my_pause(s, a, project.id) is None
        assert gold.accuracy(s, manager, project.id) == [(a.email, 3, 0.0, False)]
    assert claim(a, project.id) == ids[3]  # gold exhausted: the normal queue
