"""Saving while the database restarts: a unit of work is tried again on a fresh connection
(labelkit.db.retry_unavailable) and the page says so meanwhile, so an annotator's Submit waits
the restart out instead of failing; what they answered stays in the page until it is saved."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import streamlit as st
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlmodel import Session

from labelkit.db import retry_unavailable
from labelkit.errors import LabelkitError
from labelkit.settings import get_settings

T = TypeVar("T")
RETRYING = "Saving… the database is not reachable; retrying"
LOADING = "Loading… the database is not reachable; retrying"
DRAFT_KEPT = "Your draft is kept on this page; it is saved when the database is back."
NOT_SKIPPED = "The database is not reachable, so the task was not skipped; try again in a moment."


class NotSavedYet(LabelkitError):
    """The database stayed away for every attempt; the page keeps what was to be saved."""


def with_retry(work: Callable[[Session], T], *, saying: str = RETRYING) -> T:
    """work(session) in one transaction, retried while the database is unreachable (waits of
    0.5 s doubling to 3 s, LABELKIT_SAVE_RETRY_ATTEMPTS tries), with a notice on the page
    during the wait. Raises NotSavedYet when it never came back."""
    status = st.empty()

    def say(attempt: int, _error: BaseException) -> None:
        status.warning(f"{saying} (attempt {attempt + 1})…", icon=":material/sync_problem:")

    try:
        return retry_unavailable(work, attempts=max(1, get_settings().save_retry_attempts), on_retry=say)
    except (OperationalError, DisconnectionError):
        raise NotSavedYet(
            "Not saved yet: the database is still not reachable. What you answered is kept on this page; "
            "press Try again in a moment."
        ) from None
    finally:
        status.empty()


def try_once(work: Callable[[Session], object]) -> bool:
    """work(session) once, for what can wait (a draft): False when the database is unreachable."""
    try:
        retry_unavailable(work, attempts=1)
    except (OperationalError, DisconnectionError):
        return False
    return True
