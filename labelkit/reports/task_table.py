"""The task table (Label Studio calls it the data manager): every task of a project in a table, filtered, sorted and paged,
and bulk actions on a selection.

Paging stays fast at 1,000,000 tasks: sorted by id (or by creation, which is the same order:
ids are given as tasks are created) a page is a keyset walk over the primary key from the
last id seen (`Page.next_cursor`), so page 10,000 costs what page 1 costs. Sorting by the
number of annotations, the last update or the models' uncertainty (the least certain first,
descending) orders the filtered tasks and pages by offset
(a scan of the project: narrow it with filters). Counting is lazy and capped (COUNT_CAP).

Filters:
- labeled: with at least one submitted annotation (True) or none (False);
- annotator: an email; tasks this person submitted an answer on (with `label`: their answer has it);
- label: a value in a submitted answer (a choice, a region's label, a text, a rating),
  matched as a JSON string in the result text (the annotator's answer or a reviewer's fix),
  the same on SQLite and PostgreSQL; optionally limited to one control (`control`), which
  is then checked on the page's rows with results.values_of;
- agreement_below: tasks whose annotators agree less than this (labelkit.agreement.report.tasks_below,
  at most AGREEMENT_CAP of them);
- review: a submitted annotation that is pending / accepted / rejected, or not reviewed;
- search: text in the task's data (case-insensitive LIKE over the data's JSON text).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any, BinaryIO

from sqlalchemy import Text, and_, cast, exists, or_
from sqlmodel import Session, col, func, select

from labelkit import exporters
from labelkit.auth.permissions import Capability
from labelkit.errors import InvalidInput
from labelkit.labeling import assign, gold, review
from labelkit.models import (
    Annotation,
    AnnotationState,
    Prediction,
    Project,
    Task,
    User,
)
from labelkit.projects import trash
from labelkit.projects.crud import get_project

SORTS = ("id", "created", "annotations", "updated", "uncertainty")
REVIEW_STATES = ("pending", "accepted", "rejected", "not reviewed")
COLUMNS = ("id", "data", "annotations", "annotators", "review", "agreement", "prediction", "uncertainty", "created", "updated")
DEFAULT_COLUMNS = ("id", "data", "annotations", "annotators", "review", "created")
PAGE_SIZES = (25, 50, 100, 200)
MAX_API_PAGE = 1000  # the largest page the REST API hands out
COUNT_CAP = 10_000  # "more than 10,000 match" beyond this
MATCH_CAP = 10_000  # the most tasks one bulk action on "all matching the filter" takes
AGREEMENT_CAP = 10_000  # the most low-agreement tasks the agreement filter takes


@dataclass(frozen=True)
class TaskQuery:
    labeled: bool | None = None
    annotator: str | None = None
    label: str | None = None
    control: str | None = None
    agreement_below: float | None = None
    review: str | None = None
    search: str | None = None
    sort: str = "id"
    descending: bool = False

    def check(self) -> TaskQuery:
        if self.sort not in SORTS:
            raise InvalidInput(f"Sort by one of: {', '.join(SORTS)}.")
        if self.review is not None and self.review not in REVIEW_STATES:
            raise InvalidInput(f"The review state must be one of: {', '.join(REVIEW_STATES)}.")
        if self.agreement_below is not None and not 0 <= self.agreement_below <= 1:
            raise InvalidInput("Agreement is between 0 and 1; pick a threshold in that range.")
        clean = {k: (v.strip() or None) for k, v in vars(self).items() if isinstance(v, str) and k != "sort"}
        return replace(self, **clean)

    @property
    def filtered(self) -> bool:
        return any(v not in (None, "") for k, v in vars(self).items() if k not in ("sort", "descending"))


@dataclass
class Page:
    rows: list[dict]
    columns: list[str]
    next_cursor: int | None  # pass as `cursor` for the next page; None: this is the last
    data_keys: list[str] = field(default_factory=list)


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _json_forms(value: str) -> set[str]:
    """How a string looks inside JSON text on either database (SQLite keeps ASCII escapes)."""
    return {json.dumps(value), json.dumps(value, ensure_ascii=False)}


def _submitted_here():
    return and_(Annotation.task_id == Task.id, Annotation.state == AnnotationState.SUBMITTED, Annotation.deleted_at.is_(None))


def _low_agreement(session: Session, actor: User, project_id: int, threshold: float) -> list[int]:
    from labelkit.agreement.report import tasks_below as below

    return [int(row[0]) for row in below(session, actor, project_id, threshold, AGREEMENT_CAP, 0)]


def _condition(session: Session, actor: User, project: Project, query: TaskQuery):
    condition = and_(Task.project_id == project.id, Task.deleted_at.is_(None))
    if query.labeled is True:
        condition = and_(condition, Task.total_annotations > 0)
    elif query.labeled is False:
        condition = and_(condition, Task.total_annotations == 0)
    if query.annotator:
        condition = and_(condition, exists().where(
            _submitted_here(), Annotation.user_id == User.id, func.lower(User.email) == query.annotator.lower(),
        ))
    if query.label:
        texts = [cast(Annotation.result, Text), cast(Annotation.reviewed_result, Text)]
        matches = [t.like(_like(form), escape="\\") for form in _json_forms(query.label) for t in texts]
        answer = and_(_submitted_here(), or_(*matches))
        if query.annotator:  # both: this person's answer has the value
            answer = and_(answer, Annotation.user_id == User.id, func.lower(User.email) == query.annotator.lower())
        condition = and_(condition, exists().where(answer))
    if query.review == "not reviewed":
        condition = and_(condition, exists().where(_submitted_here(), Annotation.review_status.is_(None)))
    elif query.review:
        condition = and_(condition, exists().where(_submitted_here(), Annotation.review_status == query.review))
    if query.search:
        data = cast(Task.data, Text)
        forms = {query.search, json.dumps(query.search)[1:-1]}
        condition = and_(condition, or_(*(data.ilike(_like(form), escape="\\") for form in forms)))
    if query.agreement_below is not None:
        condition = and_(condition, col(Task.id).in_(_low_agreement(session, actor, project.id, query.agreement_below)))
    return condition


def _updated():
    """A task's last change: its newest annotation's update, else its creation."""
    newest = (
        select(func.max(Annotation.updated_at)).where(Annotation.task_id == Task.id, Annotation.deleted_at.is_(None))
        .correlate(Task).scalar_subquery()
    )
    return func.coalesce(newest, Task.created_at)


def _page_query(session: Session, actor: User, project: Project, query: TaskQuery, cursor: int | None, size: int):
    """The SELECT of one page of task ids (the query-plan test reads it); no permission check."""
    condition = _condition(session, actor, project, query)
    ids = select(Task.id).where(condition)
    if query.sort in ("id", "created"):  # keyset over the primary key
        if cursor is not None:
            ids = ids.where(col(Task.id) < cursor if query.descending else col(Task.id) > cursor)
        order = col(Task.id).desc() if query.descending else col(Task.id)
        return ids.order_by(order).limit(size + 1)
    if query.sort == "uncertainty":  # tasks without a prediction last, either way
        key = Task.uncertainty
        order = [key.is_(None), key.desc(), col(Task.id).desc()] if query.descending else [key.is_(None), key, col(Task.id)]
        return ids.order_by(*order).offset(cursor or 0).limit(size + 1)
    key = Task.total_annotations if query.sort == "annotations" else _updated()
    order = [key.desc(), col(Task.id).desc()] if query.descending else [key, col(Task.id)]
    return ids.order_by(*order).offset(cursor or 0).limit(size + 1)


def page(session: Session, actor: User, project_id: int, query: TaskQuery | None = None, cursor: int | None = None,
         size: int = 50, columns: tuple[str, ...] | list[str] = DEFAULT_COLUMNS) -> Page:
    """One page of the table (TASK_BROWSE). `cursor` is the `next_cursor` of the page before."""
    project = get_project(session, actor, project_id, Capability.TASK_BROWSE)
    query = (query or TaskQuery()).check()
    if not 1 <= size <= max(PAGE_SIZES):
        raise InvalidInput(f"A page has 1 to {max(PAGE_SIZES)} rows.")
    unknown = [c for c in columns if c not in COLUMNS]
    if unknown:
        raise InvalidInput(f"There is no column {unknown[0]!r}; the columns are: {', '.join(COLUMNS)}.")
    ids = list(session.exec(_page_query(session, actor, project, query, cursor, size)).all())
    more = len(ids) > size
    ids = ids[:size]
    if query.sort in ("id", "created"):
        next_cursor = ids[-1] if more else None
    else:
        next_cursor = (cursor or 0) + size if more else None
    rows, keys = _rows(session, project, ids, columns, query)
    return Page(rows, [c for c in COLUMNS if c in columns], next_cursor, keys)


def page_ids(session: Session, actor: User, project_id: int, query: TaskQuery | None = None, number: int = 1,
             size: int = 100) -> tuple[list[int], bool]:
    """Task ids of page `number` (from 1) in the query's order, and whether a page follows:
    for clients that page by number (the REST API, as Label Studio's). An offset walk, so a
    deep page costs more than a `page` cursor does (TASK_BROWSE)."""
    project = get_project(session, actor, project_id, Capability.TASK_BROWSE)
    query = (query or TaskQuery()).check()
    if number < 1 or not 1 <= size <= MAX_API_PAGE:
        raise InvalidInput(f"Pages are numbered from 1 and hold 1 to {MAX_API_PAGE} tasks.")
    ids = list(session.exec(_page_query(session, actor, project, query, None, size)
                            .offset((number - 1) * size)).all())
    if query.control and query.label:
        ids = [r["id"] for r in _rows(session, project, ids, ("id",), query)[0]]
    return ids[:size], len(ids) > size


def _rows(session: Session, project: Project, ids: list[int], columns, query: TaskQuery) -> tuple[list[dict], list[str]]:
    if not ids:
        return [], []
    tasks = {t.id: t for t in session.exec(select(Task).where(col(Task.id).in_(ids))).all()}
    work: dict[int, list[tuple[Annotation, str | None]]] = {i: [] for i in ids}
    for annotation, email in session.exec(
        select(Annotation, User.email).join(User, User.id == Annotation.user_id, isouter=True)
        .where(col(Annotation.task_id).in_(ids), Annotation.state == AnnotationState.SUBMITTED, Annotation.deleted_at.is_(None))
        .order_by(Annotation.id)
    ).all():
        work[annotation.task_id].append((annotation, email))
    predicted = _newest_predictions(session, ids) if "prediction" in columns else {}
    keys: list[str] = []
    if "data" in columns:
        from labelkit.config import parse_config

        try:
            keys = list(parse_config(project.label_config).data_keys)
        except Exception:  # noqa: BLE001  (a config that no longer parses still lists its tasks)
            keys = []
        for task in tasks.values():
            for k in task.data or {}:
                if k not in keys and len(keys) < 8:
                    keys.append(k)
    rows = []
    for task_id in ids:
        task = tasks[task_id]
        annotations = work[task_id]
        if query.control and query.label and not _has_value(project, annotations, query.control, query.label):
            continue
        row: dict[str, Any] = {"id": task.id}
        if "data" in columns:
            for k in keys:
                value = (task.data or {}).get(k)
                row[f"data.{k}"] = value if isinstance(value, str | int | float | bool) or value is None else json.dumps(value)
        if "annotations" in columns:
            row["annotations"] = task.total_annotations
        if "annotators" in columns:
            row["annotators"] = ", ".join(email or "(deleted account)" for _, email in annotations)
        if "review" in columns:
            states: dict[str, int] = {}
            for a, _ in annotations:
                name = a.review_status or "not reviewed"
                states[name] = states.get(name, 0) + 1
            row["review"] = ", ".join(f"{n} {s}" for s, n in sorted(states.items()))
        if "agreement" in columns:
            row["agreement"] = _agreement(session, project, task_id) if len(annotations) > 1 else None
        if "prediction" in columns:
            row["prediction"] = _prediction_summary(predicted.get(task_id))
        if "uncertainty" in columns:
            row["uncertainty"] = None if task.uncertainty is None else round(task.uncertainty, 3)
        if "created" in columns:
            row["created"] = task.created_at
        if "updated" in columns:
            row["updated"] = max([a.updated_at for a, _ in annotations], default=task.created_at)
        rows.append(row)
    return rows, keys


def _newest_predictions(session: Session, ids: list[int]) -> dict[int, Prediction]:
    """The newest prediction of each task of a page (one query)."""
    newest = (
        select(func.max(Prediction.id)).where(col(Prediction.task_id).in_(ids)).group_by(Prediction.task_id)
    )
    return {p.task_id: p for p in session.exec(select(Prediction).where(col(Prediction.id).in_(newest))).all()}


def _prediction_summary(prediction: Prediction | None) -> str | None:
    """'Positive · 0.82 · v3': what the newest prediction says, its score and model version."""
    if prediction is None:
        return None
    from labelkit.results.items import summary

    parts = [summary(prediction.result) or "(empty)"]
    if prediction.score is not None:
        parts.append(f"{prediction.score:.2f}")
    if prediction.model_version:
        parts.append(prediction.model_version)
    return " · ".join(parts)


def _has_value(project: Project, annotations: list, control: str, value: str) -> bool:
    from labelkit.config import parse_config
    from labelkit.reports.stats import _flat
    from labelkit.results.items import values_of

    config = parse_config(project.label_config)
    for a, _ in annotations:
        values = values_of(review.effective_result(a), config)
        found = _flat(values.get(control))
        for region in values.get("__regions__", []) or []:
            found += list((region.get("labels") or {}).get(control) or [])
        if value in found:
            return True
    return False


def _agreement(session: Session, project: Project, task_id: int) -> float | None:
    try:
        from labelkit import agreement

        return agreement._task_agreement(session, project, task_id)
    except (ImportError, AttributeError):
        return None


def count(session: Session, actor: User, project_id: int, query: TaskQuery | None = None, cap: int = COUNT_CAP) -> tuple[int, bool]:
    """How many tasks match, counted up to `cap`: (count, whether there are more)."""
    project = get_project(session, actor, project_id, Capability.TASK_BROWSE)
    query = (query or TaskQuery()).check()
    if not query.filtered:
        return project.task_count, False
    limited = select(Task.id).where(_condition(session, actor, project, query)).limit(cap + 1).subquery()
    n = session.exec(select(func.count()).select_from(limited)).one()
    return min(n, cap), n > cap


def matching_ids(session: Session, actor: User, project_id: int, query: TaskQuery | None = None, cap: int = MATCH_CAP) -> list[int]:
    """Every task matching the filter, for a bulk action on "all matching"; refused past `cap`."""
    project = get_project(session, actor, project_id, Capability.TASK_BROWSE)
    query = (query or TaskQuery()).check()
    ids = list(session.exec(
        select(Task.id).where(_condition(session, actor, project, query)).order_by(Task.id).limit(cap + 1)
    ).all())
    if len(ids) > cap:
        raise InvalidInput(f"More than {cap:,} tasks match; narrow the filter (a bulk action takes at most {cap:,}).")
    if query.control and query.label:
        ids = [r["id"] for r in _rows(session, project, ids, ("id",), query)[0]]
    return ids


# Bulk actions: each service checks its own capability.
ACTIONS = {
    "assign": "Assign to people",
    "delete": "Delete (to the trash)",
    "review": "Send to review",
    "gold": "Mark ground truth",
    "export": "Export the selection",
}
ACTION_CAPABILITY = {
    "assign": Capability.TASK_ASSIGN,
    "delete": Capability.TASK_DELETE,
    "review": Capability.TASK_ASSIGN,
    "gold": Capability.GROUND_TRUTH,
    "export": Capability.PROJECT_EXPORT,
}


def _selection(task_ids: list[int]) -> list[int]:
    ids = sorted({int(t) for t in task_ids})
    if not ids:
        raise InvalidInput("Pick at least one task.")
    if len(ids) > MATCH_CAP:
        raise InvalidInput(f"A bulk action takes at most {MATCH_CAP:,} tasks; pick fewer.")
    return ids


def assign_selected(session: Session, actor: User, project_id: int, task_ids: list[int], user_ids: list[int]) -> int:
    if not user_ids:
        raise InvalidInput("Pick the people to assign the tasks to.")
    return assign.assign_tasks(session, actor, project_id, _selection(task_ids), list(user_ids))


def delete_selected(session: Session, actor: User, project_id: int, task_ids: list[int]) -> trash.DeletionSummary:
    return trash.delete_tasks(session, actor, project_id, _selection(task_ids))


def deletion_preview(session: Session, actor: User, project_id: int, task_ids: list[int]) -> trash.DeletionSummary:
    """What deleting the selection would move to the trash (to name it in the confirmation)."""
    return trash.tasks_deletion(session, actor, project_id, _selection(task_ids))


def review_selected(session: Session, actor: User, project_id: int, task_ids: list[int]) -> int:
    return review.send_to_review(session, actor, project_id, _selection(task_ids))


def gold_selected(session: Session, actor: User, project_id: int, task_ids: list[int]) -> int:
    return gold.mark_tasks(session, actor, project_id, _selection(task_ids))


def export_selected(session: Session, actor: User, project_id: int, task_ids: list[int], format_name: str,
                    out: BinaryIO) -> exporters.ExportReport:
    return exporters.export_project(session, actor, project_id, format_name, out, task_ids=_selection(task_ids))


def annotators(session: Session, actor: User, project_id: int) -> dict[int, str]:
    """Everyone with work in the project, by id (for the annotator filter)."""
    from labelkit.reports.stats import _emails_of

    get_project(session, actor, project_id, Capability.TASK_BROWSE)
    return dict(sorted(_emails_of(session, project_id).items(), key=lambda kv: kv[1]))


def control_names(project: Project) -> list[str]:
    """The project's control names (for the label filter's "in control")."""
    from labelkit.config import parse_config

    try:
        return list(parse_config(project.label_config).controls)
    except Exception:  # noqa: BLE001
        return []
