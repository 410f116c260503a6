"""The Inbox page and the task side panel (comments, history), as people click through."""

from __future__ import annotations

import pytest

from labelkit.db import session_scope
from labelkit.labeling import queue, review, submissions
from labelkit.models import Comment, Role
from labelkit.projects import notify
from tests.app.test_access import count, texts

# Page tests: what a page draws and wires; the SQL under it is tested on both databases in tests/unit.
pytestmark = pytest.mark.one_database

COMMENT = "It is <script>alert(1)</script> **sarcastic**"


def choice(value: str) -> list[dict]:
    return [{"id": "r1", "from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [value]}, "origin": "manual"}]


@pytest.fixture
def sent_back(factory):
    """Ann labeled task 1, Rev rejected it with a comment."""
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin, title="Inbox")
    factory.tasks(project, admin, [{"text": "Great value."}, {"text": "Meh."}])
    ann, rev = factory.user(name="Ann", email="ann@example.com"), factory.user(name="Rev", email="rev@example.com")
    factory.member(project, ann, Role.ANNOTATOR)
    factory.member(project, rev, Role.REVIEWER)
    with session_scope() as s:
        task_id = queue.claim_next(s, ann, project.id).task.id
    with session_scope() as s:
        submissions.submit(s, ann, task_id, choice("Positive"))
    with session_scope() as s:
        (row,) = review.review_queue(s, rev, project.id)
        review.reject(s, rev, row["annotation_id"], COMMENT)
    return project, ann, rev, task_id


def test_the_inbox_shows_work_sent_back_as_text_with_a_link_and_marks_all_read(app_as, sent_back) -> None:
    project, ann, rev, task_id = sent_back
    at = app_as(ann, "inbox")
    assert "1 unread" in texts(at).replace("*", "")
    (shown,) = [t.value for t in at.text]
    assert shown == f"Rev sent task {task_id} back to you: {COMMENT}"  # plain text
    (link,) = at.get("page_link")
    assert (link.proto.page, link.proto.query_string) == ("label", f"project={project.id}&task={task_id}")
    at.button(key="lk_inbox_read").click().run()
    assert "Marked 1 notification read." in texts(at)
    with session_scope() as s:
        assert notify.count_unread(s, ann) == 0
    # the reviewer's inbox is empty
    assert "Nothing here yet" in texts(app_as(rev, "inbox"))


def test_a_link_to_a_task_opens_it_on_the_label_page_with_comments_and_history(app_as, sent_back) -> None:
    project, ann, rev, task_id = sent_back
    at = app_as(ann, "label", project=project.id, task=str(task_id))
    shown = texts(at)
    assert "A reviewer sent this back to you" in shown and f"Task {task_id}" in shown
    assert "it comes right after this one" not in shown  # this is the task sent back
    with session_scope() as s:
        assert notify.count_unread(s, ann) == 0  # opening the task read its notification
    history = [t.value.split(" · ", 1)[1] for t in at.text if " · " in t.value]
    assert history == ["imported the task", "Ann submitted an answer", f"Rev sent back Ann's answer: {COMMENT}"]
    key = f"lk_talk_label_{task_id}_text"
    at.text_area(key=key).input("@rev I think it is positive")  # inside a form: sent with its button
    at.button[[b.label for b in at.button].index("Post comment")].click().run()
    assert "Notified rev@example.com" in texts(at)
    assert count(Comment) == 1
    assert "I think it is positive" in [t.value for t in at.text][-1]
    with session_scope() as s:
        assert [n.kind for n in notify.unread(s, rev)] == ["mention"]
