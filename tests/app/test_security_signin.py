"""The sign-in page under password guessing: the limits of labelkit.auth.ratelimit reach
the page (with the browser's address), and a refusal says how long to wait."""

from __future__ import annotations

import pytest
from sqlmodel import select

from labelkit.db import session_scope
from labelkit.models import SigninFailure

# Page tests: what a page draws and wires; the SQL under it is tested on both databases in tests/unit.
pytestmark = pytest.mark.one_database

PASSWORD = "correct horse battery"


def _attempt(at, email: str, password: str) -> list[str]:
    at.text_input[0].input(email)
    at.text_input[1].input(password)
    next(b for b in at.button if b.label == "Sign in").click()
    at.run()
    return [e.value for e in at.error]


def test_the_sign_in_page_refuses_after_five_failures_even_the_right_password(app_as, factory) -> None:
    factory.user(email="ann@example.com", password=PASSWORD)
    at = app_as(None)
    for _ in range(5):
        assert _attempt(at, "ann@example.com", "a wrong guess") == ["Wrong email or password."]
    assert _attempt(at, "ann@example.com", PASSWORD) == ["Too many failed sign-ins; try again in 15 minutes."]
    assert "lk_ticket_issued" not in at.session_state  # no sign-in ticket was issued
    with session_scope() as s:
        failures = s.exec(select(SigninFailure)).all()
    assert len(failures) == 5 and {f.email for f in failures} == {"ann@example.com"}
    assert all(f.address for f in failures)  # the page passed the browser's address
