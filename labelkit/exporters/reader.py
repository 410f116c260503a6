"""Reading a project for export: keyset pages of tasks in id order, with their
annotations and predictions fetched per page by id range; columns only, no ORM objects."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import Text, and_, case, cast, func, or_
from sqlmodel import Session, col, select

from labelkit.exporters import choose
from labelkit.exporters.base import ExportedAnnotation, ExportedPrediction, ExportedTask
from labelkit.models import Annotation, AnnotationState, Prediction, ReviewStatus, Task, User

PAGE = 5000


def _text(column):
    """A JSON or timestamp column as the database's own text."""
    return cast(column, Text)


@dataclass(frozen=True)
class Selection:
    """Which annotations and predictions go with each task."""

    accepted_only: bool = False
    annotator: str | None = None  # an email: only this person's annotations
    predictions: bool = True
    one_per_task: bool = False  # labelkit.exporters.choose picks it


def _stream_tasks(
    session: Session, condition, project_id: int, selection: Selection, on_task: Callable[[], None] | None = None
) -> Iterator[ExportedTask]:
    last_id = 0
    while True:
        rows = session.execute(
            select(Task.id, _text(Task.data), _text(Task.created_at), Task.total_annotations)
            .where(condition, col(Task.id) > last_id)
            .order_by(col(Task.id))
            .limit(PAGE)
        ).all()
        if not rows:
            return
        tasks = {row[0]: ExportedTask(row[0], row[1], row[2], row[3]) for row in rows}
        low, high = rows[0][0], rows[-1][0]
        for annotation in _annotations(session, project_id, low, high, selection):
            task = tasks.get(annotation[0])
            if task is not None:
                task.annotations.append(ExportedAnnotation(*annotation[1:]))
        for prediction in _predictions(session, project_id, low, high) if selection.predictions else ():
            task = tasks.get(prediction[0])
            if task is not None:
                task.predictions.append(ExportedPrediction(*prediction[1:]))
        for task in tasks.values():
            if selection.one_per_task and task.annotations:
                task.annotations = [choose.one(task.annotations)]
            yield task
            if on_task:
                on_task()
        last_id = high


def _effective_result():
    """The reviewer's fix when there is one, else the annotator's result (as JSON text).
    An absent fix is stored as JSON null, not SQL NULL."""
    fixed = _text(Annotation.reviewed_result)
    return case((or_(fixed.is_(None), fixed == "null"), _text(Annotation.result)), else_=fixed)


def _annotations(session: Session, project_id: int, low: int, high: int, selection: Selection) -> list:
    condition = and_(
        Annotation.project_id == project_id,
        col(Annotation.task_id).between(low, high),
        Annotation.state == AnnotationState.SUBMITTED,
        Annotation.deleted_at.is_(None),
    )
    if selection.accepted_only:
        condition = and_(condition, Annotation.review_status == ReviewStatus.ACCEPTED)
    if selection.annotator:
        condition = and_(condition, func.lower(User.email) == selection.annotator.lower())
    return session.execute(
        select(
            Annotation.task_id,
            Annotation.id,
            Annotation.user_id,
            User.email,
            Annotation.state,
            Annotation.review_status,
            _text(Annotation.created_at),
            _text(Annotation.updated_at),
            Annotation.lead_time,
            _effective_result(),
        )
        .join(User, User.id == Annotation.user_id, isouter=True)
        .where(condition)
        .order_by(col(Annotation.task_id), col(Annotation.id))
    ).all()


def _predictions(session: Session, project_id: int, low: int, high: int) -> list:
    return session.execute(
        select(
            Prediction.task_id,
            Prediction.id,
            _text(Prediction.result),
            Prediction.score,
            Prediction.model_version,
            _text(Prediction.created_at),
        )
        .where(Prediction.project_id == project_id, col(Prediction.task_id).between(low, high))
        .order_by(col(Prediction.task_id), col(Prediction.id))
    ).all()


def _data_keys(session: Session, condition, config_keys: list[str]) -> list[str]:
    """Every data key of the tasks, the config's first, then in first-seen order."""
    keys = list(config_keys)
    seen = set(keys)
    last_id = 0
    while True:
        rows = session.execute(
            select(Task.id, _text(Task.data)).where(condition, col(Task.id) > last_id).order_by(col(Task.id)).limit(PAGE)
        ).all()
        if not rows:
            return keys
        for _, text in rows:
            for key in json.loads(text):
                if key not in seen:
                    seen.add(key)
                    keys.append(key)
        last_id = rows[-1][0]
