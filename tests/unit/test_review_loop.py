"""The review loop of issue 7: notifications, review required or not, the review queue's orders,
sending tasks back to review, comments with mentions, and a task's history."""

from __future__ import annotations

import pytest

from labelkit import notify
from labelkit.db import session_scope
from labelkit.models import Role


def test_notifications_are_each_persons_own_and_marked_read(factory) -> None:
    ann = factory.user(email="ann@example.com")
    other = factory.user(email="other@example.com")
    with session_scope() as s:
        first = notify.send(s, ann.id, "rejected", "Fix the label").id
        notify.send(s, ann.id, "assigned", "2 new tasks")
        mine_for_other = notify.send(s, other.id, "mention", "hello").id
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
