"""Annotations inside imported tasks (Label Studio's JSON export, or ours): each keeps its
result, whether it was skipped, its review status, when it was made and how long it took.
Its annotator is matched by email to an account of this portal; without a match it is kept
as an imported annotation of nobody here (it counts toward the task's overlap, and shows
as "imported" in reviews and exports)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import Session, func, select

from labelkit.models import ReviewStatus, User


@dataclass(slots=True)
class ImportedAnnotation:
    result: list
    skipped: bool
    email: str | None
    lead_time: float
    review_status: str | None
    created_at: datetime | None
    updated_at: datetime | None


def read(value: object) -> list[ImportedAnnotation] | str:
    """A task's "annotations" list read, or what is wrong with it."""
    if value in (None, []):
        return []
    if not isinstance(value, list) or not all(isinstance(a, dict) and isinstance(a.get("result", []), list) for a in value):
        return "annotations must be a list of objects with a result list"
    found = []
    for a in value:
        skipped = bool(a.get("was_cancelled"))
        status = a.get("review_status")
        if skipped:
            status = None
        elif status not in (ReviewStatus.ACCEPTED, ReviewStatus.REJECTED):
            status = ReviewStatus.PENDING
        lead_time = a.get("lead_time")
        found.append(ImportedAnnotation(
            result=[] if skipped else list(a.get("result") or []),
            skipped=skipped,
            email=_email(a),
            lead_time=float(lead_time) if isinstance(lead_time, (int, float)) and lead_time >= 0 else 0.0,
            review_status=status,
            created_at=_time(a.get("created_at")),
            updated_at=_time(a.get("updated_at")),
        ))
    return found


def _email(a: dict) -> str | None:
    """Who made it: our export's completed_by_email, or Label Studio's completed_by as an
    object with an email (its plain numeric ids mean nothing here)."""
    for value in (a.get("completed_by_email"), a.get("completed_by")):
        if isinstance(value, dict):
            value = value.get("email")
        if isinstance(value, str) and "@" in value:
            return value.strip().lower()
    return None


def _time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        return None
    return stamp.astimezone(UTC) if stamp.tzinfo else stamp.replace(tzinfo=UTC)  # Label Studio writes UTC


class Annotators:
    """Accounts by email, looked up once each during an import."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.known: dict[str, int | None] = {}

    def user_id(self, email: str | None) -> int | None:
        if email is None:
            return None
        if email not in self.known:
            self.known[email] = self.session.exec(select(User.id).where(func.lower(User.email) == email)).first()
        return self.known[email]
