"""The labeling queue: who gets which task, drafts, skips, updates, locks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from labelkit.db import session_scope
from labelkit.errors import InvalidInput
from labelkit.labeling import progress, queue, review, submissions
from labelkit.models import Annotation, AnnotationState, AnnotationVersion, Role, Task, TaskLock, utcnow


def choice(value: str = "Positive") -> list[dict]:
    return [{"id": "r1", "from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [value]}, "origin": "manual"}]


@pytest.fixture
def setup(factory):
    """A project of 4 tasks with overlap 1, and two annotators."""

    def make(overlap: int = 1, tasks: int = 4, sampling: str = "sequential"):
        admin = factory.user(Role.ADMIN)
        project = factory.project(admin, overlap=overlap, sampling=sampling)
        factory.tasks(project, admin, tasks)
        people = [factory.user() for _ in range(2)]
        for p in people:
            factory.member(project, p, Role.ANNOTATOR)
        return project, people, admin

    return make


def claim(user, project):
    with session_scope() as s:
        found = queue.claim_next(s, user, project.id)
    return found.task.id if found else None


def submit(user, task_id: int, result=None):
    with session_scope() as s:
        return submissions.submit(s, user, task_id, result or choice())


def test_tasks_come_in_order_and_nobody_gets_a_claimed_task(setup) -> None:
    project, (ann, bob), _ = setup()
    assert claim(ann, project) == 1
    assert claim(ann, project) == 1  # the same task again until it is done
    assert claim(bob, project) == 2
    submit(ann, 1)
    assert claim(ann, project) == 3


def test_random_order_still_gives_each_task_once(setup) -> None:
    project, (ann, _), _ = setup(sampling="random", tasks=6)
    seen = []
    while (task_id := claim(ann, project)) is not None:
        seen.append(task_id)
        submit(ann, task_id)
    assert sorted(seen) == [1, 2, 3, 4, 5, 6]


def test_overlap_gives_a_task_to_that_many_different_people(setup, factory) -> None:
    project, (ann, bob), _ = setup(overlap=2, tasks=1)
    carol = factory.user()
    factory.member(project, carol, Role.ANNOTATOR)
    assert claim(ann, project) == 1
    assert claim(bob, project) == 1
    assert claim(carol, project) is None  # two people are on it already
    submit(ann, 1)
    submit(bob, 1)
    assert claim(carol, project) is None
    with session_scope() as s:
        assert s.get(Task, 1).total_annotations == 2


def test_a_skipped_task_is_not_shown_again_but_others_get_it(setup) -> None:
    project, (ann, bob), _ = setup(tasks=1)
    claim(ann, project)
    with session_scope() as s:
        submissions.skip(s, ann, 1)
    assert claim(ann, project) is None
    assert claim(bob, project) == 1


def test_a_draft_survives_a_refresh(setup) -> None:
    project, (ann, _), _ = setup()
    task_id = claim(ann, project)
    with session_scope() as s:
        submissions.save_draft(s, ann, task_id, choice("Negative"))
    with session_scope() as s:  # a new page load
        found = queue.claim_next(s, ann, project.id)
    assert found.task.id == task_id
    assert found.annotation.state == AnnotationState.DRAFT
    assert found.annotation.result == choice("Negative")


def test_a_draft_comes_back_after_its_lock_expired(setup) -> None:
    project, (ann, _), _ = setup()
    task_id = claim(ann, project)
    with session_scope() as s:
        submissions.save_draft(s, ann, task_id, choice("Negative"))
        for lock in s.exec(select(TaskLock)).all():
            s.delete(lock)
    with session_scope() as s:
        found = queue.claim_next(s, ann, project.id)
    assert (found.task.id, found.reason) == (task_id, "draft")


def test_an_expired_lock_lets_someone_else_take_the_task(setup) -> None:
    project, (ann, bob), _ = setup(tasks=1)
    claim(ann, project)
    assert claim(bob, project) is None
    with session_scope() as s:
        lock = s.exec(select(TaskLock)).one()
        lock.expires_at = utcnow() - timedelta(seconds=1)
        s.add(lock)
    assert claim(bob, project) == 1


def test_work_submitted_after_the_task_filled_up_is_kept_as_a_draft(setup) -> None:
    project, (ann, bob), _ = setup(tasks=1)
    claim(ann, project)
    with session_scope() as s:
        s.exec(select(TaskLock)).one().expires_at = utcnow() - timedelta(seconds=1)
    claim(bob, project)
    assert submit(bob, 1).counted
    late = submit(ann, 1)
    assert not late.counted and "kept as a draft" in late.message
    with session_scope() as s:
        assert s.get(Task, 1).total_annotations == 1
        kept = s.exec(select(Annotation).where(Annotation.user_id == ann.id)).one()
    assert kept.state == AnnotationState.DRAFT and kept.result == choice()


def test_required_controls_are_enforced_and_nothing_is_stored(setup) -> None:
    project, (ann, _), _ = setup()
    task_id = claim(ann, project)
    comment_only = [{"id": "c", "from_name": "comment", "to_name": "text", "type": "textarea", "value": {"text": ["hm"]}}]
    with pytest.raises(InvalidInput, match="Please answer sentiment"):
        submit(ann, task_id, comment_only)
    with session_scope() as s:
        assert s.get(Task, task_id).total_annotations == 0
        assert s.exec(select(Annotation)).all() == []


def test_updating_a_submitted_annotation_keeps_the_earlier_version(setup) -> None:
    project, (ann, _), _ = setup()
    task_id = claim(ann, project)
    submit(ann, task_id, choice("Positive"))
    with session_scope() as s:
        opened = queue.open_task(s, ann, task_id)
    assert opened.annotation.result == choice("Positive")
    submit(ann, task_id, choice("Neutral"))
    with session_scope() as s:
        annotation = s.exec(select(Annotation)).one()
        versions = s.exec(select(AnnotationVersion)).all()
        assert s.get(Task, task_id).total_annotations == 1
    assert annotation.result == choice("Neutral")
    assert [v.result for v in versions] == [choice("Positive")]


def test_rejected_work_returns_to_its_annotator_first_with_the_comment(setup, factory) -> None:
    project, (ann, _), _admin = setup()
    reviewer = factory.user()
    factory.member(project, reviewer, Role.REVIEWER)
    for _ in range(2):
        submit(ann, claim(ann, project))
    with session_scope() as s:
        first = s.exec(select(Annotation).where(Annotation.task_id == 1)).one()
        review.reject(s, reviewer, first.id, "Read the last sentence again.")
    with session_scope() as s:
        back = queue.claim_next(s, ann, project.id)
        mine = progress.progress(s, ann, project.id)
    assert (back.task.id, back.reason, back.review_comment) == (1, "rejected", "Read the last sentence again.")
    assert mine["rejected"] == 1 and mine["submitted"] == 2
    submit(ann, 1, choice("Negative"))
    with session_scope() as s:
        assert s.exec(select(Annotation).where(Annotation.task_id == 1)).one().review_status == "pending"
        assert queue.claim_next(s, ann, project.id).task.id == 3


def test_history_and_progress(setup) -> None:
    project, (ann, _), _ = setup()
    submit(ann, claim(ann, project))
    with session_scope() as s:
        submissions.skip(s, ann, claim(ann, project) or 0)
    with session_scope() as s:
        rows = progress.history(s, ann, project.id)
        mine = progress.progress(s, ann, project.id)
    assert [(r["task_id"], r["state"]) for r in rows] == [(2, "skipped"), (1, "submitted")]
    assert (mine["submitted"], mine["skipped"], mine["project_done"], mine["project_total"]) == (1, 1, 1, 4)


def test_annotators_can_only_go_back_to_their_own_tasks(setup) -> None:
    project, (ann, bob), _ = setup()
    task_id = claim(ann, project)
    from labelkit.errors import PermissionDenied

    with session_scope() as s, pytest.raises(PermissionDenied):
        queue.open_task(s, bob, task_id)


def test_outsiders_cannot_claim(setup, factory) -> None:
    project, _, _ = setup()
    outsider = factory.user()
    from labelkit.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        claim(outsider, project)
