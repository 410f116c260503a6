"""The project dashboard's numbers: progress over time, throughput, lead time, skip
rate, label distribution and review outcomes, per project and per person, between two dates.

Everything is aggregated in SQL (GROUP BY day / person) so a page reads a few hundred rows
however big the project is. Lead time quantiles are computed the same way on SQLite and
PostgreSQL: a window function numbers each person's lead times in order, only the rows at
the 10th, 50th and 90th percentile positions come back, and they are interpolated as
PostgreSQL's percentile_cont does. The label distribution is the one figure that reads
results: it streams the submitted annotations in the date range (at most LABEL_SAMPLE of
them, newest first) and counts each control's values with results.values_of.

Days are UTC calendar days. A task counts as done on the day of its last submission.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, case, exists, literal, or_, true
from sqlmodel import Session, col, func, select

from labelkit.auth.permissions import Capability
from labelkit.config import parse_config
from labelkit.errors import InvalidInput
from labelkit.models import (
    Annotation,
    AnnotationState,
    Review,
    ReviewAction,
    ReviewStatus,
    Task,
    User,
)
from labelkit.projects.crud import get_project
from labelkit.results.items import REGIONS, RELATIONS, values_of

LABEL_SAMPLE = 50_000  # annotations read for the label distribution (newest first)
QUANTILES = (1, 5, 9)  # tenths: p10, median, p90


@dataclass(frozen=True)
class Filters:
    """Which work the dashboard counts: submitted (or skipped) between two UTC days, inclusive,
    and by one person (None: everyone)."""

    since: date | None = None
    until: date | None = None
    user_id: int | None = None

    def check(self) -> Filters:
        if self.since and self.until and self.since > self.until:
            raise InvalidInput(f"The start date {self.since} is after the end date {self.until}.")
        return self


@dataclass
class Dashboard:
    project_id: int
    filters: Filters
    tiles: dict
    progress: list[dict]  # day, submissions, done, cumulative_submissions, cumulative_done
    throughput: list[dict]  # day, annotator, submissions
    people: list[dict]  # annotator, submitted, skipped, skip_rate, lead times, review outcomes
    labels: list[dict]  # control, value, count
    labels_sampled: bool = False
    notes: list[str] = field(default_factory=list)


def _day(session: Session, column):
    """A timestamp's UTC day as 'YYYY-MM-DD' text, on either database."""
    if session.get_bind().dialect.name == "sqlite":
        return func.strftime("%Y-%m-%d", column)
    return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")


def _bounds(filters: Filters) -> tuple[datetime | None, datetime | None]:
    low = datetime.combine(filters.since, time.min, UTC) if filters.since else None
    high = datetime.combine(filters.until + timedelta(days=1), time.min, UTC) if filters.until else None
    return low, high


def period(filters: Filters) -> tuple[datetime | None, datetime | None]:
    """The filter's days as [since, until) instants in UTC (for services that take instants)."""
    return _bounds(filters)


def _in_range(column, filters: Filters):
    low, high = _bounds(filters)
    conditions = []
    if low is not None:
        conditions.append(column >= low)
    if high is not None:
        conditions.append(column < high)
    return and_(true(), *conditions)


def _live(project_id: int):
    return and_(Annotation.project_id == project_id, Annotation.deleted_at.is_(None), Task.deleted_at.is_(None))


def _submitted(project_id: int, filters: Filters):
    condition = and_(_live(project_id), Annotation.state == AnnotationState.SUBMITTED,
                     _in_range(col(Annotation.submitted_at), filters))
    if filters.user_id is not None:
        condition = and_(condition, Annotation.user_id == filters.user_id)
    return condition


def _who(user_id: int | None, emails: dict[int, str]) -> str:
    return emails.get(user_id, "(deleted account)") if user_id is not None else "(deleted account)"


def _progress_over_time(session: Session, project_id: int, filters: Filters) -> list[dict]:
    """Per day: submissions and tasks done (on the day of their last submission), with running totals."""
    day = _day(session, Annotation.submitted_at)
    submissions = dict(session.exec(
        select(day, func.count(Annotation.id)).join(Task, Task.id == Annotation.task_id)
        .where(_submitted(project_id, filters)).group_by(day)
    ).all())
    # Done tasks: the day each one got its last submission (everyone's, whoever the filter names).
    last = (
        select(Annotation.task_id, func.max(Annotation.submitted_at).label("last"))
        .join(Task, Task.id == Annotation.task_id)
        .where(_live(project_id), Annotation.state == AnnotationState.SUBMITTED, col(Task.done))
    )
    if filters.user_id is not None:
        last = last.where(exists().where(
            Annotation.task_id == Task.id, Annotation.user_id == filters.user_id,
            Annotation.state == AnnotationState.SUBMITTED, Annotation.deleted_at.is_(None),
        ).correlate(Task))
    low, _ = _bounds(filters)
    if low is not None:  # a task's last submission is on or after `since` iff one of them is: read only those
        last = last.where(col(Annotation.submitted_at) >= low)
    last = last.group_by(Annotation.task_id).subquery()
    done_day = _day(session, last.c.last)
    done = dict(session.exec(
        select(done_day, func.count()).select_from(last).where(_in_range(last.c.last, filters)).group_by(done_day)
    ).all())
    rows, total_submissions, total_done = [], 0, 0
    for day_text in sorted(set(submissions) | set(done)):
        total_submissions += submissions.get(day_text, 0)
        total_done += done.get(day_text, 0)
        rows.append({
            "day": day_text, "submissions": submissions.get(day_text, 0), "done": done.get(day_text, 0),
            "cumulative_submissions": total_submissions, "cumulative_done": total_done,
        })
    return rows


def _throughput(session: Session, project_id: int, filters: Filters, emails: dict[int, str]) -> list[dict]:
    """Submissions per person per day."""
    day = _day(session, Annotation.submitted_at)
    rows = session.exec(
        select(day, Annotation.user_id, func.count(Annotation.id)).join(Task, Task.id == Annotation.task_id)
        .where(_submitted(project_id, filters)).group_by(day, Annotation.user_id).order_by(day, Annotation.user_id)
    ).all()
    return [{"day": d, "annotator": _who(u, emails), "submissions": n} for d, u, n in rows]


def _interpolate(rows: dict[int, float], n: int, tenths: int) -> float:
    """PostgreSQL's percentile_cont over n sorted values, from the values at the two ranks around it."""
    position = tenths * (n - 1)
    low_rank = 1 + position // 10
    fraction = (position % 10) / 10
    low = rows[low_rank]
    high = rows.get(low_rank + 1, low)
    return low + (high - low) * fraction


def _lead_times(session: Session, project_id: int, filters: Filters) -> dict[int | None, dict]:
    """Per person (and None: everyone): count, p10, median and p90 of lead time in seconds."""
    out: dict[int | None, dict] = {}
    for per_person in (True, False):
        partition = [Annotation.user_id] if per_person else None
        who = Annotation.user_id if per_person else literal(-1)
        ranked = (
            select(
                who.label("who"),
                Annotation.lead_time.label("lead"),
                func.row_number().over(partition_by=partition, order_by=(Annotation.lead_time, Annotation.id)).label("rn"),
                func.count().over(partition_by=partition).label("n"),
            )
            .join(Task, Task.id == Annotation.task_id)
            .where(_submitted(project_id, filters))
            .subquery()
        )
        # Only the ranks around each quantile come back: 1 + floor(q * (n - 1)) and the next.
        ranks = [ranked.c.rn == 1 + (q * (ranked.c.n - 1)) // 10 + extra for q in QUANTILES for extra in (0, 1)]
        picked = session.exec(select(ranked.c.who, ranked.c.rn, ranked.c.n, ranked.c.lead).where(or_(*ranks))).all()
        found: dict[int, tuple[int, dict[int, float]]] = {}
        for who_id, rn, n, lead in picked:
            found.setdefault(who_id, (n, {}))[1][int(rn)] = float(lead or 0.0)
        for who_id, (n, values) in found.items():
            key = who_id if per_person else None
            out[key] = {"count": n, **{name: _interpolate(values, n, q) for name, q in zip(("p10", "median", "p90"), QUANTILES, strict=True)}}
    return out


def _people(session: Session, project_id: int, filters: Filters, emails: dict[int, str]) -> list[dict]:
    """Per person: submitted, skipped, skip rate, lead time quantiles and review outcomes."""
    when = func.coalesce(Annotation.submitted_at, Annotation.updated_at)
    base = and_(_live(project_id), _in_range(when, filters))
    if filters.user_id is not None:
        base = and_(base, Annotation.user_id == filters.user_id)
    states = session.exec(
        select(Annotation.user_id, Annotation.state, func.count(Annotation.id)).join(Task, Task.id == Annotation.task_id)
        .where(base, col(Annotation.state).in_([AnnotationState.SUBMITTED, AnnotationState.SKIPPED]))
        .group_by(Annotation.user_id, Annotation.state)
    ).all()
    fixed = exists().where(Review.annotation_id == Annotation.id, Review.action == ReviewAction.FIX)
    outcome = case(
        (and_(Annotation.review_status == ReviewStatus.ACCEPTED, fixed), literal("fixed")),
        else_=func.coalesce(Annotation.review_status, literal("not reviewed")),
    )
    reviews = session.exec(
        select(Annotation.user_id, outcome, func.count(Annotation.id)).join(Task, Task.id == Annotation.task_id)
        .where(_submitted(project_id, filters)).group_by(Annotation.user_id, outcome)
    ).all()
    leads = _lead_times(session, project_id, filters)
    table: dict[int | None, dict] = defaultdict(lambda: {"submitted": 0, "skipped": 0, "accepted": 0, "fixed": 0,
                                                         "rejected": 0, "pending": 0, "not reviewed": 0})
    for user_id, state, n in states:
        table[user_id][str(state)] = n
    for user_id, status, n in reviews:
        table[user_id][str(status)] = table[user_id].get(str(status), 0) + n
    rows = []
    for user_id, counts in table.items():
        seen = counts["submitted"] + counts["skipped"]
        lead = leads.get(user_id, {})
        rows.append({
            "annotator": _who(user_id, emails), **counts,
            "skip_rate": counts["skipped"] / seen if seen else None,
            "lead_p10": lead.get("p10"), "lead_median": lead.get("median"), "lead_p90": lead.get("p90"),
        })
    return sorted(rows, key=lambda r: r["annotator"])


def _label_distribution(session: Session, project_id: int, label_config: str, filters: Filters,
                       sample: int = LABEL_SAMPLE) -> tuple[list[dict], bool]:
    """How often each control's values appear in submitted answers (the reviewer's fix where
    there is one); regions count by their labels. Returns (rows, whether it was a sample)."""
    config = parse_config(label_config)
    counts: Counter[tuple[str, str]] = Counter()
    query = (
        select(Annotation.result, Annotation.reviewed_result).join(Task, Task.id == Annotation.task_id)
        .where(_submitted(project_id, filters))
        .order_by(col(Annotation.submitted_at).desc(), col(Annotation.id).desc())
        .limit(sample + 1)
        .execution_options(yield_per=1000)
    )
    read = 0
    for result, fixed in session.exec(query):
        read += 1
        if read > sample:
            break
        values = values_of(fixed if fixed is not None else result, config)
        for region in values.pop(REGIONS, []) or []:
            labels = region.get("labels") or {}
            if not labels:
                counts[(region.get("tool") or "regions", "(no label)")] += 1
            for name, chosen in labels.items():
                for label in chosen or []:
                    counts[(name, str(label))] += 1
        values.pop(RELATIONS, None)
        for name, value in values.items():
            for item in _flat(value):
                counts[(name, item)] += 1
    rows = [{"control": name, "value": value, "count": n} for (name, value), n in counts.items()]
    rows.sort(key=lambda r: (r["control"], -r["count"], r["value"]))
    return rows, read > sample


def _flat(value) -> list[str]:
    if value is None or value == "" or value == []:
        return []
    if isinstance(value, dict):  # per-item answers: {page: value}
        return [v for inner in value.values() for v in _flat(inner)]
    if isinstance(value, list | tuple | set):
        return [str(v) for v in value if v is not None and not isinstance(v, list | dict)]
    return [str(value)]


def _emails_of(session: Session, project_id: int) -> dict[int, str]:
    """Everyone with work in the project (members or not any more), by id."""
    ids = select(Annotation.user_id).where(Annotation.project_id == project_id).distinct()
    return dict(session.exec(select(User.id, User.email).where(col(User.id).in_(ids))).all())


def people_choices(session: Session, actor: User, project_id: int) -> dict[int, str]:
    """The people a dashboard can be filtered by: everyone with work in the project."""
    get_project(session, actor, project_id, Capability.PROGRESS_VIEW)
    return dict(sorted(_emails_of(session, project_id).items(), key=lambda kv: kv[1]))


def dashboard(session: Session, actor: User, project_id: int, filters: Filters | None = None) -> Dashboard:
    """Every number of the project dashboard (PROGRESS_VIEW), for the dates and person in `filters`."""
    project = get_project(session, actor, project_id, Capability.PROGRESS_VIEW)
    filters = (filters or Filters()).check()
    emails = _emails_of(session, project_id)
    over_time = _progress_over_time(session, project_id, filters)
    per_person = _people(session, project_id, filters, emails)
    labels, sampled = _label_distribution(session, project_id, project.label_config, filters)
    everyone = _lead_times(session, project_id, filters).get(None, {})
    submitted = sum(r["submitted"] for r in per_person)
    skipped = sum(r["skipped"] for r in per_person)
    reviewed = sum(r["accepted"] + r["fixed"] + r["rejected"] for r in per_person)
    tiles = {
        "tasks": project.task_count,
        "done": project.done_count,
        "submitted": submitted,
        "skipped": skipped,
        "skip_rate": skipped / (submitted + skipped) if submitted + skipped else None,
        "lead_median": everyone.get("median"),
        "lead_p10": everyone.get("p10"),
        "lead_p90": everyone.get("p90"),
        "accept_rate": sum(r["accepted"] + r["fixed"] for r in per_person) / reviewed if reviewed else None,
        "people": len([r for r in per_person if r["submitted"]]),
    }
    notes = []
    if sampled:
        notes.append(f"The label distribution counts the newest {LABEL_SAMPLE:,} answers in these dates; narrow the dates to see all.")
    return Dashboard(project_id, filters, tiles, over_time, _throughput(session, project_id, filters, emails), per_person,
                     labels, sampled, notes)
