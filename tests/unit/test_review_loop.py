"""The review loop: notifications, review required or not, the review queue's orders,
sending tasks back to review, comments with mentions, and a task's history."""

from __future__ import annotations

import sys
import types

import pytest
from sqlmodel import select

from labelkit.db import session_scope
from labelkit.errors import InvalidInput, NotFound, PermissionDenied
from labelkit.labeling import gold, queue, review, submissions
from labelkit.models import Annotation, Project, Role
from labelkit.projects import comments, history, notify
from tests.conftest import Factory


def test_notifications_are_each_persons_own_and_marked_read(factory) -> None:
    ann = factory.user(email="ann@example.com")
    other = factory.user(email="other@example.com")
    with session_scope() as s:
        first = notify._send(s, ann.id, "rejected", "Fix the label").id
        notify._send(s, ann.id, "assigned", "2 new tasks")
        mine_for_other = notify._send(s, other.id, "mention", "hello").id
    with session_scope() as s:
        assert notify.count_unread(s, ann) == 2
        assert [n.text for n in notify.unread(s, ann)] == ["2 new tasks", "Fix the label"]
        # marking someone else's notification does nothing
        assert notify.mark_read(s, ann, [mine_for_other]) == 0
        assert notify.mark_read(s, ann, [first]) == 1
    with session_scope() as s:
        assert notify.count_unread(s, ann) == 1
        assert notify.count_unread(s, other) == 1
        assert notify.mark_read(s, ann) == 1
    with session_scope() as s:
        assert notify.count_unread(s, ann) == 0
        assert len(notify.recent(s, ann)) == 2
        assert notify.count_unread(s, other) == 1


def test_opening_a_task_reads_only_its_notifications(team) -> None:
    project, _, p = team
    first = label(project, p["ann"], "Positive")
    second = label(project, p["ann"], "Negative")
    with session_scope() as s:
        rows = {r["task_id"]: r["annotation_id"] for r in review.review_queue(s, p["rev"], project.id)}
        review.reject(s, p["rev"], rows[first], "no")
        review.reject(s, p["rev"], rows[second], "no")
    with session_scope() as s:
        assert notify.mark_read(s, p["ann"], task_id=first) == 1
        assert notify.mark_read(s, p["rev"], task_id=second) == 0  # not theirs
    assert [t for _, _, t in inbox(p["ann"])] == [second]


def choice(value: str) -> list[dict]:
    return [{"id": "r1", "from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [value]}, "origin": "manual"}]


@pytest.fixture
def team(factory):
    """A project of 4 tasks with an annotator, a second annotator, a reviewer and a manager."""
    admin = factory.user(Role.ADMIN, email="admin@example.com")
    project = factory.project(admin, title="Loop")
    factory.tasks(project, admin, 4)
    people = {}
    for key, role in (("ann", Role.ANNOTATOR), ("bob", Role.ANNOTATOR), ("rev", Role.REVIEWER), ("man", Role.MANAGER)):
        people[key] = factory.user(email=f"{key}@example.com", name=key.capitalize())
        factory.member(project, people[key], role)
    return project, admin, people


def label(project, user, value: str) -> int:
    """Claim the next task and submit `value`; the task's id."""
    with session_scope() as s:
        task_id = queue.claim_next(s, user, project.id).task.id
    with session_scope() as s:
        submissions.submit(s, user, task_id, choice(value))
    return task_id


def set_project(project, **values) -> None:
    with session_scope() as s:
        row = s.get(Project, project.id)
        for key, value in values.items():
            setattr(row, key, value)
        s.add(row)


def waiting(user, project) -> list[int]:
    with session_scope() as s:
        return [row["task_id"] for row in review.review_queue(s, user, project.id)]


def inbox(user) -> list[tuple[str, str, int | None]]:
    with session_scope() as s:
        return [(n.kind, n.text, n.task_id) for n in notify.unread(s, user)]


def test_without_review_required_submissions_skip_the_queue_until_sent_to_review(team) -> None:
    project, _, p = team
    set_project(project, review_required=False)
    first = label(project, p["ann"], "Positive")
    assert waiting(p["rev"], project) == []
    with session_scope() as s:
        status = s.exec(select(Annotation.review_status).where(Annotation.task_id == first)).one()
    assert status is None  # not reviewed: the "accepted" export filter keeps meaning "a reviewer accepted it"
    # only managers send tasks back to review
    for who in ("ann", "rev"):
        with session_scope() as s, pytest.raises(PermissionDenied):
            review.send_to_review(s, p[who], project.id, [first])
    with session_scope() as s:
        assert review.send_to_review(s, p["man"], project.id, [first]) == 1
    with session_scope() as s, pytest.raises(InvalidInput):
        review.send_to_review(s, p["man"], project.id, [])
    assert waiting(p["rev"], project) == [first]
    # rejected work resubmitted goes back to review although review is not required
    with session_scope() as s:
        (row,) = review.review_queue(s, p["rev"], project.id)
        review.reject(s, p["rev"], row["annotation_id"], "Wrong sentiment")
    with session_scope() as s:
        submissions.submit(s, p["ann"], first, choice("Negative"))
    assert waiting(p["rev"], project) == [first]


def test_send_to_review_requeues_accepted_work_and_keeps_a_fix(team) -> None:
    project, admin, p = team
    task_id = label(project, p["ann"], "Positive")
    with session_scope() as s:
        (row,) = review.review_queue(s, p["rev"], project.id)
        review.fix(s, p["rev"], row["annotation_id"], choice("Neutral"), "mixed")
    assert waiting(p["rev"], project) == []
    with session_scope() as s:
        assert review.send_to_review(s, admin, project.id, [task_id, task_id]) == 1
        # already waiting: nothing more to send
        assert review.send_to_review(s, admin, project.id, [task_id]) == 0
    assert waiting(p["rev"], project) == [task_id]
    with session_scope() as s:
        annotation = s.exec(select(Annotation).where(Annotation.task_id == task_id)).one()
        assert annotation.reviewed_result == choice("Neutral") and annotation.result == choice("Positive")


def test_review_orders(team, monkeypatch) -> None:
    project, _, p = team
    tasks = [label(project, p["ann"], "Positive") for _ in range(3)]
    assert waiting(p["rev"], project) == tasks  # oldest first, the default
    set_project(project, review_order="newest")
    assert waiting(p["rev"], project) == tasks[::-1]
    set_project(project, review_order="random")
    assert sorted(waiting(p["rev"], project)) == tasks
    set_project(project, review_order="disagreement")
    scores = {tasks[0]: 0.9, tasks[1]: None, tasks[2]: 0.1}
    import labelkit

    stub = types.ModuleType("labelkit.agreement")
    stub._task_agreement = lambda session, project, task_id: scores[task_id]
    monkeypatch.setitem(sys.modules, "labelkit.agreement", stub)
    monkeypatch.setattr(labelkit, "agreement", stub, raising=False)
    # least agreement first; tasks with nothing to compare last
    assert waiting(p["rev"], project) == [tasks[2], tasks[0], tasks[1]]


def test_reject_and_fix_notify_the_annotator_with_the_comment(team) -> None:
    project, _, p = team
    first = label(project, p["ann"], "Positive")
    second = label(project, p["ann"], "Negative")
    with session_scope() as s:
        rows = {r["task_id"]: r["annotation_id"] for r in review.review_queue(s, p["rev"], project.id)}
        review.reject(s, p["rev"], rows[first], "It is <b>sarcastic</b>")
        review.fix(s, p["rev"], rows[second], choice("Neutral"))
    notes = inbox(p["ann"])
    assert notes[0][0] == "fixed" and notes[0][2] == second
    assert notes[1] == ("rejected", f"Rev sent task {first} back to you: It is <b>sarcastic</b>", first)
    assert inbox(p["bob"]) == [] and inbox(p["rev"]) == []
    with session_scope() as s:
        assert review.review_queue(s, p["rev"], project.id) == []
    # accepting tells nobody
    third = label(project, p["bob"], "Positive")
    with session_scope() as s:
        (row,) = [r for r in review.review_queue(s, p["rev"], project.id) if r["task_id"] == third]
        review.accept(s, p["rev"], row["annotation_id"])
    assert inbox(p["bob"]) == []


def test_comments_mentions_and_who_sees_them(team) -> None:
    project, _, p = team
    task_id = label(project, p["ann"], "Positive")
    with session_scope() as s:
        posted = comments.add_comment(s, p["rev"], task_id, "@ann are you sure? cc @man@example.com @bob @nobody")
    assert posted.mentioned == ["ann@example.com", "man@example.com"]
    assert posted.not_told == ["bob@example.com"]  # bob never saw this task
    assert posted.unknown == ["nobody"]
    assert [k for k, _, _ in inbox(p["ann"])] == ["mention"]
    assert [k for k, _, _ in inbox(p["man"])] == ["mention"]
    assert inbox(p["bob"]) == []
    # the annotator of the task hears about a comment even unmentioned
    with session_scope() as s:
        comments.add_comment(s, p["man"], task_id, "Looks fine to me")
    assert [k for k, _, _ in inbox(p["ann"])] == ["comment", "mention"]
    # the annotator, reviewer and manager see the comments; another annotator does not
    for who in ("ann", "rev", "man"):
        with session_scope() as s:
            assert [c.text for c in comments.list_comments(s, p[who], task_id)][1] == "Looks fine to me"
    with session_scope() as s, pytest.raises(PermissionDenied):
        comments.list_comments(s, p["bob"], task_id)
    with session_scope() as s, pytest.raises(PermissionDenied):
        comments.add_comment(s, p["bob"], task_id, "hi")
    outsider = Factory().user(email="out@example.com")
    with session_scope() as s, pytest.raises(PermissionDenied):
        comments.list_comments(s, outsider, task_id)
    # bad input changes nothing
    with session_scope() as s:
        for text in ("   ", "x" * 5001):
            with pytest.raises(InvalidInput):
                comments.add_comment(s, p["ann"], task_id, text)
        with pytest.raises(NotFound):
            comments.add_comment(s, p["ann"], 999999, "hi")
    with session_scope() as s:
        assert len(comments.list_comments(s, p["ann"], task_id)) == 2
    # resolving: the author, a reviewer or a manager; not another annotator's comment
    with session_scope() as s:
        first = comments.list_comments(s, p["ann"], task_id)[0]
        with pytest.raises(PermissionDenied):
            comments.resolve(s, p["ann"], first.id)
    with session_scope() as s:
        comments.resolve(s, p["rev"], first.id)
    with session_scope() as s:
        assert comments.list_comments(s, p["ann"], task_id)[0].resolved is True


def test_history_lists_what_happened_in_order_and_hides_others_work_from_annotators(team) -> None:
    project, _, p = team
    set_project(project, overlap=2)
    task_id = label(project, p["ann"], "Positive")
    assert label(project, p["bob"], "Negative") == task_id
    with session_scope() as s:
        rows = {r["annotator"]: r["annotation_id"] for r in review.review_queue(s, p["rev"], project.id)}
        review.reject(s, p["rev"], rows["ann@example.com"], "Not positive")
        review.accept(s, p["rev"], rows["bob@example.com"])
    with session_scope() as s:
        comments.add_comment(s, p["ann"], task_id, "Fixed it")
        submissions.submit(s, p["ann"], task_id, choice("Negative"))
    with session_scope() as s:
        review.send_to_review(s, p["man"], project.id, [task_id])
    with session_scope() as s:
        full = [(e.who, e.what, e.detail) for e in history.task_history(s, p["man"], task_id)]
        mine = [(e.who, e.what, e.detail) for e in history.task_history(s, p["ann"], task_id)]
    assert full == [
        ("", "imported the task", ""),
        ("Ann", "submitted an answer", ""),
        ("Bob", "submitted an answer", ""),
        ("Rev", "sent back Ann's answer", "Not positive"),
        ("Rev", "accepted Bob's answer", ""),
        ("Ann", "commented", "Fixed it"),
        ("Ann", "updated their answer", ""),
        ("Man", "sent the task to review again", ""),
    ]
    assert mine == [e for e in full if "Bob" not in e[0] + e[1]]
    with session_scope() as s:
        assert [e.what for e in history.task_history(s, p["rev"], task_id)] == [e[1] for e in full]
    other = label(project, p["ann"], "Positive")
    with session_scope() as s, pytest.raises(PermissionDenied):
        history.task_history(s, p["bob"], other)


def test_disagreement_order_puts_the_task_annotators_disagree_on_first(team) -> None:
    project, _, p = team
    set_project(project, overlap=2, review_order="disagreement")
    agreed = label(project, p["ann"], "Positive")
    disputed = label(project, p["ann"], "Positive")
    assert label(project, p["bob"], "Positive") == agreed
    assert label(project, p["bob"], "Negative") == disputed
    single = label(project, p["ann"], "Neutral")  # one answer: nothing to compare, last
    assert waiting(p["rev"], project) == [disputed, disputed, agreed, agreed, single]


def test_history_shows_gold_marks_and_who_holds_the_task(team) -> None:
    project, _, p = team
    set_project(project, overlap=2)
    task_id = label(project, p["ann"], "Positive")
    with session_scope() as s:
        assert gold.mark_tasks(s, p["man"], project.id, [task_id]) == 1
    with session_scope() as s:
        assert queue.claim_next(s, p["bob"], project.id).task.id == task_id
    with session_scope() as s:
        seen = [(e.who, e.what) for e in history.task_history(s, p["man"], task_id)]
        annotators_view = [(e.who, e.what) for e in history.task_history(s, p["ann"], task_id)]
    assert seen == [
        ("", "imported the task"),
        ("Ann", "submitted an answer"),
        ("Man", "made the task a gold task"),
        ("Bob", "claimed the task"),
    ]
    assert ("Bob", "claimed the task") not in annotators_view
