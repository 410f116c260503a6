"""The sign-in page under password guessing: the limits of labelkit.auth.ratelimit reach
the page (with the browser's address), a refusal says how long to wait, and the owner gets
in after seconds; a sign-in link opened in another browser says so."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from labelkit.auth import ratelimit
from labelkit.db import session_scope
from labelkit.models import SigninFailure, utcnow

# Page tests: what a page draws and wires; the SQL under it is tested on both databases in tests/unit.
pytestmark = pytest.mark.one_database

PASSWORD = "correct horse battery"


def _attempt(at, email: str, password: str) -> list[str]:
    at.text_input[0].input(email)
    at.text_input[1].input(password)
    next(b for b in at.button if b.label == "Sign in").click()
    at.run()
    return [e.value for e in at.error]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch):
    """clock(seconds) sets the sign-in limits' clock that many seconds past the test's start."""
    start = utcnow()

    def at(seconds: float) -> None:
        monkeypatch.setattr(ratelimit, "utcnow", lambda: start + timedelta(seconds=seconds))

    at(0)
    return at


def test_the_sign_in_page_refuses_after_five_failures_even_the_right_password(app_as, factory, clock) -> None:
    factory.user(email="ann@example.com", password=PASSWORD)
    at = app_as(None)
    for _ in range(5):
        assert _attempt(at, "ann@example.com", "a wrong guess") == ["Wrong email or password."]
    assert _attempt(at, "ann@example.com", PASSWORD) == ["Too many failed sign-ins; try again in 2 seconds."]
    assert "lk_ticket_issued" not in at.session_state  # no sign-in ticket was issued
    with session_scope() as s:
        failures = s.exec(select(SigninFailure)).all()
    assert len(failures) == 5 and {f.email for f in failures} == {"ann@example.com"}
    assert all(f.address for f in failures)  # the page passed the browser's address


def test_the_owner_signs_in_seconds_after_someone_else_guessed_five_times(app_as, factory, clock) -> None:
    factory.user(email="bea@example.com", password=PASSWORD)
    at = app_as(None)
    for _ in range(5):
        _attempt(at, "bea@example.com", "a wrong guess")
    clock(3)
    assert _attempt(at, "bea@example.com", PASSWORD) == []
    assert "lk_ticket_issued" in at.session_state  # signed in: the browser is sent to /session/start


def test_a_sign_in_link_from_another_browser_says_so(app_as) -> None:
    at = app_as(None, signin="elsewhere")
    assert [w.value for w in at.warning] == [
        "That sign-in link belongs to the browser that signed in, not this one. Please sign in here."
    ]
