"""Model predictions: stored as Label Studio results with a score and a model version,
shown as editable pre-annotations, and read by the queue to serve uncertain tasks first.

A task's `uncertainty` follows its newest prediction: the normalized entropy of the
per-class probabilities where a result item carries them (`"probabilities": {"cat": 0.7,
"dog": 0.3}` on the item or in its value), else 1 - score (the prediction's score, or the
lowest score of its items). A prediction with neither leaves the task's uncertainty unknown."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, insert, update
from sqlmodel import Session, col, select

from labelkit.auth.permissions import Capability, can, require
from labelkit.config import check_config
from labelkit.errors import InvalidInput, NotFound
from labelkit.models import Prediction, Project, Task, User, utcnow
from labelkit.projects.crud import get_project
from labelkit.reports import task_detail

MAX_RESULT_ITEMS = 10_000


@dataclass
class NewPrediction:
    task_id: int
    result: list
    score: float | None = None
    model_version: str = ""


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _probabilities(item: dict) -> list[float] | None:
    found = item.get("probabilities")
    if found is None and isinstance(item.get("value"), dict):
        found = item["value"].get("probabilities")
    values = list(found.values()) if isinstance(found, dict) else found if isinstance(found, list) else None
    if not values:
        return None
    numbers = [_number(v) for v in values]
    if any(n is None or n < 0 for n in numbers) or sum(numbers) <= 0:
        return None
    total = sum(numbers)
    return [n / total for n in numbers]


def entropy(probabilities: Sequence[float]) -> float:
    """Shannon entropy divided by its largest value, so 0 (sure) .. 1 (no idea)."""
    if len(probabilities) < 2:
        return 0.0
    h = -sum(p * math.log(p) for p in probabilities if p > 0)
    return h / math.log(len(probabilities))


def uncertainty(result: list, score: float | None) -> float | None:
    """How unsure a prediction is, 0..1, or None when it says nothing about it."""
    entropies = [entropy(p) for item in result if isinstance(item, dict) and (p := _probabilities(item))]
    if entropies:
        return max(entropies)
    score = _number(score)
    if score is None:
        item_scores = [s for item in result if isinstance(item, dict) and (s := _number(item.get("score"))) is not None]
        score = min(item_scores) if item_scores else None
    return None if score is None else min(max(1.0 - score, 0.0), 1.0)


def check_result(result: object, control_names: set[str] | None = None) -> list:
    """A prediction's result as Label Studio writes it: a list of items with a type and a
    value, naming controls of the project's config. Raises InvalidInput naming the item."""
    if not isinstance(result, list):
        raise InvalidInput("A prediction's result must be a list of result items.")
    if len(result) > MAX_RESULT_ITEMS:
        raise InvalidInput(f"A prediction may have at most {MAX_RESULT_ITEMS} result items.")
    for n, item in enumerate(result, 1):
        if not isinstance(item, dict) or not isinstance(item.get("value"), dict) or not item.get("type"):
            raise InvalidInput(f"Result item {n} needs a 'type' and a 'value' object.")
        name = item.get("from_name")
        if control_names is not None and name not in control_names:
            known = ", ".join(sorted(control_names)) or "none"
            raise InvalidInput(f"Result item {n} names the control {name!r}, which the project's config does not have (it has: {known}).")
    return result


def _score(value: object) -> float | None:
    if value is None:
        return None
    number = _number(value)
    if number is None:
        raise InvalidInput("A prediction's score must be a number.")
    return number


def _store(session: Session, project: Project, predictions: Iterable[NewPrediction], ml_backend_id: int | None = None) -> int:
    """Add predictions to tasks of a project (already checked by the caller's service) and
    bring each task's uncertainty up to date. Returns how many were stored."""
    controls = set(check_config(project.label_config).controls)
    now = utcnow()
    rows, latest = [], {}
    for p in predictions:
        result = check_result(p.result, controls)
        score = _score(p.score)
        rows.append({"task_id": p.task_id, "project_id": project.id, "result": result, "score": score,
                     "model_version": str(p.model_version or "")[:200], "ml_backend_id": ml_backend_id, "created_at": now})
        latest[p.task_id] = uncertainty(result, score)
    if not rows:
        return 0
    live = set(session.exec(select(Task.id).where(col(Task.id).in_(list(latest)), Task.project_id == project.id,
                                                  Task.deleted_at.is_(None))).all())
    missing = sorted(set(latest) - live)
    if missing:
        raise NotFound(f"Project {project.id} has no task {missing[0]}.")
    session.execute(insert(Prediction), rows)
    session.execute(update(Task), [{"id": task_id, "uncertainty": u} for task_id, u in latest.items()])
    return len(rows)


def create_prediction(session: Session, actor: User, task_id: int, result: list, score: float | None = None,
                      model_version: str = "") -> Prediction:
    """One prediction for a task, posted by a person or script (the REST API)."""
    task = session.get(Task, task_id)
    if task is None or task.deleted_at is not None:
        raise NotFound(f"There is no task {task_id}.")
    project = get_project(session, actor, task.project_id, Capability.PREDICTION_CREATE)
    _store(session, project, [NewPrediction(task_id, result, score, model_version)])
    return session.exec(select(Prediction).where(Prediction.task_id == task_id).order_by(col(Prediction.id).desc())).first()


def list_predictions(session: Session, actor: User, project_id: int | None = None, task_id: int | None = None,
                     offset: int = 0, limit: int | None = None) -> list[Prediction]:
    """Predictions of one task, or of a project (newest last), `limit` at a time from `offset`:
    of the tasks the actor may read (an annotator: only those they worked on or hold, as
    with tasks; see task_detail.visible_task)."""
    if task_id is not None:
        task_detail.visible_task(session, actor, task_id)
        query = select(Prediction).where(Prediction.task_id == task_id)
    elif project_id is not None:
        get_project(session, actor, project_id, Capability.PROJECT_VIEW)
        query = select(Prediction).where(Prediction.project_id == project_id)
        if not can(session, actor, Capability.TASK_BROWSE, project_id):
            query = query.where(task_detail.own_work(actor.id, Prediction.task_id))
    else:
        raise InvalidInput("Name a task or a project.")
    query = query.order_by(col(Prediction.id)).offset(offset)
    return list(session.exec(query.limit(limit) if limit is not None else query).all())


def model_versions(session: Session, actor: User, project_id: int) -> list[tuple[str, int]]:
    """The model versions with predictions in a project and how many each has, newest first
    (for the project's managers, who pick the version shown)."""
    get_project(session, actor, project_id, Capability.MODEL_MANAGE)
    return _model_versions(session, project_id)


def _model_versions(session: Session, project_id: int) -> list[tuple[str, int]]:
    rows = session.exec(
        select(Prediction.model_version, func.count(), func.max(Prediction.id))
        .where(Prediction.project_id == project_id)
        .group_by(Prediction.model_version)
        .order_by(func.max(Prediction.id).desc())
    ).all()
    return [(version, count) for version, count, _ in rows]


def pre_annotation(session: Session, actor: User, task_id: int, model_version: str = "") -> Prediction | None:
    """The prediction shown (editable) to someone labeling a task before they answer it: the
    newest of the project's chosen model version, or the newest of any when none is chosen."""
    task = session.get(Task, task_id)
    if task is None or task.deleted_at is not None:
        raise NotFound(f"There is no task {task_id}.")
    require(session, actor, Capability.TASK_ANNOTATE, task.project_id)
    query = select(Prediction).where(Prediction.task_id == task_id)
    if model_version:
        query = query.where(Prediction.model_version == model_version)
    found = session.exec(query.order_by(col(Prediction.id).desc()).limit(1)).first()
    return found if found is not None and isinstance(found.result, list) and found.result else None
