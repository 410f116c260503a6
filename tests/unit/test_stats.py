"""The dashboard's numbers, checked by hand on a small project (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import text
from sqlmodel import select

from labelkit.db import session_scope
from labelkit.errors import InvalidInput, PermissionDenied
from labelkit.models import (
    Annotation,
    AnnotationState,
    Review,
    ReviewAction,
    Role,
    Task,
)
from labelkit.reports import stats

DAY1, DAY2, DAY3 = date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3)


def choice(label: str) -> list[dict]:
    return [{"id": "c", "from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [label]}}]


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


@pytest.fixture
def team(factory):
    """Overlap 2, four tasks. alice: t1 Positive (day 1, 10 s, accepted), t2 Negative (day 1, 20 s,
    rejected), t3 Positive (day 2, 30 s, pending), skipped t4 (day 2). bob: t1 Positive (day 2, 40 s,
    fixed to Negative by a reviewer), t2 Positive (day 3, 100 s, not reviewed). t1 and t2 are done."""
    manager = factory.user(Role.MANAGER)
    alice, bob, reviewer, annotator = (factory.user(Role.ANNOTATOR) for _ in range(4))
    project = factory.project(manager, overlap=2)
    for person in (alice, bob, annotator):
        factory.member(project, person, Role.ANNOTATOR)
    factory.member(project, reviewer, Role.REVIEWER)
    factory.tasks(project, manager, 4)
    with session_scope() as s:
        t1, t2, t3, t4 = s.exec(select(Task.id).where(Task.project_id == project.id).order_by(Task.id)).all()

        def add(user, task_id, label, when, lead, status, state=AnnotationState.SUBMITTED, fixed=None):
            a = Annotation(task_id=task_id, project_id=project.id, user_id=user.id, state=state,
                           result=choice(label) if label else [], review_status=status, reviewed_result=fixed,
                           lead_time=lead, created_at=when, updated_at=when,
                           submitted_at=when if state == AnnotationState.SUBMITTED else None)
            s.add(a)
            s.flush()
            return a

        add(alice, t1, "Positive", at(DAY1, 9), 10, "accepted")
        add(alice, t2, "Negative", at(DAY1, 11), 20, "rejected")
        add(alice, t3, "Positive", at(DAY2, 9), 30, "pending")
        add(alice, t4, None, at(DAY2, 12), 0, None, AnnotationState.SKIPPED)
        fixed = add(bob, t1, "Positive", at(DAY2, 23), 40, "accepted", fixed=choice("Negative"))
        s.add(Review(annotation_id=fixed.id, reviewer_id=reviewer.id, action=ReviewAction.FIX, result=choice("Negative")))
        add(bob, t2, "Positive", at(DAY3, 0), 100, None)
        for task_id, n, done in ((t1, 2, True), (t2, 2, True), (t3, 1, False)):
            task = s.get(Task, task_id)
            task.total_annotations, task.done = n, done
            s.add(task)
    return {"project": project, "manager": manager, "reviewer": reviewer, "annotator": annotator, "alice": alice, "bob": bob}


def board(team, **filters):
    with session_scope(write=False) as s:
        return stats.dashboard(s, team["manager"], team["project"].id, stats.Filters(**filters))


def test_progress_over_time_counts_submissions_and_done_tasks_per_day(team) -> None:
    d = board(team)
    assert d.progress == [
        {"day": "2026-11-01", "submissions": 2, "done": 0, "cumulative_submissions": 2, "cumulative_done": 0},
        # t1 is done on day 2 (bob's answer at 23:00 UTC, its last)
        {"day": "2026-11-02", "submissions": 2, "done": 1, "cumulative_submissions": 4, "cumulative_done": 1},
        {"day": "2026-11-03", "submissions": 1, "done": 1, "cumulative_submissions": 5, "cumulative_done": 2},
    ]
    alice, bob = team["alice"].email, team["bob"].email
    assert d.throughput == [
        {"day": "2026-11-01", "annotator": alice, "submissions": 2},
        {"day": "2026-11-02", "annotator": alice, "submissions": 1},
        {"day": "2026-11-02", "annotator": bob, "submissions": 1},
        {"day": "2026-11-03", "annotator": bob, "submissions": 1},
    ]
    assert d.tiles["submitted"] == 5 and d.tiles["skipped"] == 1 and d.tiles["people"] == 2


def test_lead_time_quantiles_skip_rate_and_review_outcomes_per_person(team) -> None:
    d = board(team)
    people = {row["annotator"]: row for row in d.people}
    alice, bob = people[team["alice"].email], people[team["bob"].email]
    # alice 10, 20, 30: p10 at rank 1.2 -> 10 + 0.2 * 10 = 12; median 20; p90 at rank 2.8 -> 20 + 0.8 * 10 = 28
    assert (alice["lead_p10"], alice["lead_median"], alice["lead_p90"]) == pytest.approx((12, 20, 28))
    # bob 40, 100: p10 = 40 + 0.1 * 60 = 46; median 70; p90 = 40 + 0.9 * 60 = 94
    assert (bob["lead_p10"], bob["lead_median"], bob["lead_p90"]) == pytest.approx((46, 70, 94))
    # everyone 10, 20, 30, 40, 100: p10 at rank 1.4 -> 14; median 30; p90 at rank 4.6 -> 40 + 0.6 * 60 = 76
    assert (d.tiles["lead_p10"], d.tiles["lead_median"], d.tiles["lead_p90"]) == pytest.approx((14, 30, 76))
    assert alice["skip_rate"] == pytest.approx(0.25) and bob["skip_rate"] == 0
    assert {k: alice[k] for k in ("submitted", "skipped", "accepted", "fixed", "rejected", "pending", "not reviewed")} == {
        "submitted": 3, "skipped": 1, "accepted": 1, "fixed": 0, "rejected": 1, "pending": 1, "not reviewed": 0}
    assert {k: bob[k] for k in ("accepted", "fixed", "rejected", "pending", "not reviewed")} == {
        "accepted": 0, "fixed": 1, "rejected": 0, "pending": 0, "not reviewed": 1}
    assert d.tiles["skip_rate"] == pytest.approx(1 / 6)
    assert d.tiles["accept_rate"] == pytest.approx(2 / 3)  # accepted + fixed over reviewed (accepted, fixed, rejected)


def test_quantiles_match_postgresql_percentile_cont(team, database_url) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("percentile_cont is PostgreSQL's")
    with session_scope(write=False) as s:
        expected = s.connection().execute(text(
            "SELECT percentile_cont(0.1) WITHIN GROUP (ORDER BY lead_time), percentile_cont(0.5) WITHIN GROUP "
            "(ORDER BY lead_time), percentile_cont(0.9) WITHIN GROUP (ORDER BY lead_time) FROM annotations "
            "WHERE project_id = :p AND state = 'submitted'"), {"p": team["project"].id}).one()
    d = board(team)
    assert (d.tiles["lead_p10"], d.tiles["lead_median"], d.tiles["lead_p90"]) == pytest.approx(tuple(expected))


def test_label_distribution_counts_the_reviewers_fix(team) -> None:
    d = board(team)
    # Positive: alice t1, alice t3, bob t2; Negative: alice t2 and bob t1 (fixed from Positive)
    assert d.labels == [
        {"control": "sentiment", "value": "Positive", "count": 3},
        {"control": "sentiment", "value": "Negative", "count": 2},
    ]
    assert not d.labels_sampled
    with session_scope(write=False) as s:
        rows, sampled = stats._label_distribution(s, team["project"].id, team["project"].label_config, stats.Filters(), sample=2)
    # the newest two: bob t2 (Positive) and bob t1 (fixed to Negative)
    assert sampled and sorted((r["value"], r["count"]) for r in rows) == [("Negative", 1), ("Positive", 1)]


def test_date_and_person_filters(team) -> None:
    d = board(team, since=DAY2, until=DAY2)
    assert d.progress == [{"day": "2026-11-02", "submissions": 2, "done": 1, "cumulative_submissions": 2, "cumulative_done": 1}]
    people = {row["annotator"]: row for row in d.people}
    assert people[team["alice"].email]["submitted"] == 1 and people[team["alice"].email]["skipped"] == 1
    assert people[team["bob"].email]["submitted"] == 1
    assert [(r["value"], r["count"]) for r in d.labels] == [("Negative", 1), ("Positive", 1)]

    d = board(team, user_id=team["bob"].id)
    assert [r["annotator"] for r in d.people] == [team["bob"].email]
    assert [(r["day"], r["submissions"], r["done"]) for r in d.progress] == [("2026-11-02", 1, 1), ("2026-11-03", 1, 1)]
    assert d.tiles["lead_median"] == pytest.approx(70)

    d = board(team, since=date(2026, 12, 1))
    assert d.progress == [] and d.people == [] and d.labels == [] and d.tiles["lead_median"] is None


def test_bad_dates_are_refused(team) -> None:
    with pytest.raises(InvalidInput, match="after the end date"):
        board(team, since=DAY3, until=DAY1)


def test_who_may_see_the_dashboard(team) -> None:
    with session_scope(write=False) as s:
        assert stats.dashboard(s, team["reviewer"], team["project"].id).tiles["submitted"] == 5
        with pytest.raises(PermissionDenied):
            stats.dashboard(s, team["annotator"], team["project"].id)
        with pytest.raises(PermissionDenied):
            stats.people_choices(s, team["alice"], team["project"].id)
        assert set(stats.people_choices(s, team["manager"], team["project"].id).values()) == {team["alice"].email, team["bob"].email}
