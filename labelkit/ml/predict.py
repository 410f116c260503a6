"""Pre-labeling: send tasks to a project's model server in batches and keep its answers as
predictions (labelkit.labeling.predictions.store), and one quick prediction when a task opens.

Task ids are read a batch at a time (never all of a project's tasks in memory), and each
batch's predictions are committed before the next is asked for, with no database lock held
while the model thinks; a failing batch stops the run with a clear message, the batches
before it stay."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, timedelta

from sqlalchemy import exists, func
from sqlmodel import Session, col, select

from labelkit import audit
from labelkit.auth.permissions import Capability, require
from labelkit.errors import InvalidInput, NotFound
from labelkit.labeling.predictions import NewPrediction, _store
from labelkit.ml.backends import (
    _end_transaction,
    _note_state,
    _project_backends,
    _setup,
    client_of,
    note_state_apart,
    uid_of,
)
from labelkit.ml.client import ModelServerError, ModelServerTimeout
from labelkit.models import MLBackend, Prediction, Project, Task, User, utcnow
from labelkit.projects.crud import get_project

log = logging.getLogger(__name__)

BATCH = 16
INTERACTIVE_TIMEOUT = 3.0  # seconds a person waits at most for a suggestion when a task opens
REST_AFTER_FAILURE = 60  # seconds an interactive server that failed is left alone

Progress = Callable[[int, int], None]


@dataclass
class PredictSummary:
    backend_id: int
    model_version: str = ""
    total: int = 0  # tasks to send
    sent: int = 0  # tasks the server answered for
    stored: int = 0  # predictions kept
    failed: int = 0  # tasks of the batch that failed (and the ones after it were not sent)
    error: str = ""


class PredictionStopped(ModelServerError):
    """A batch failed; `summary` says what was done before it (and kept)."""

    def __init__(self, message: str, summary: PredictSummary) -> None:
        super().__init__(message)
        self.summary = summary


def task_payload(task_id: int, data: dict, project_id: int) -> dict:
    """A task as Label Studio sends it to /predict."""
    return {"id": task_id, "data": data, "meta": {}, "project": project_id, "annotations": [], "predictions": []}


def _tasks_query(project_id: int, only_unlabeled: bool, model_version: str):
    query = select(Task.id, Task.data).where(Task.project_id == project_id, Task.deleted_at.is_(None))
    if only_unlabeled:
        predicted = exists().where(Prediction.task_id == Task.id, Prediction.model_version == model_version)
        query = query.where(Task.total_annotations == 0, ~predicted)
    return query


def _predict_tasks(session: Session, backend: MLBackend, task_ids: list[int], timeout: float | None = None) -> int:
    """One /predict call for these tasks of the backend's project; stores what it answers
    (in the caller's transaction) and returns how many predictions. No permission check:
    labelkit's own triggers (active learning, interactive) call it. Raises ModelServerError."""
    project = session.get(Project, backend.project_id)
    rows = session.exec(select(Task.id, Task.data).where(col(Task.id).in_(task_ids), Task.project_id == project.id,
                                                          Task.deleted_at.is_(None)).order_by(Task.id)).all()
    try:
        return _send(session, backend, project, [task_payload(i, d, project.id) for i, d in rows], timeout)
    except ModelServerError as e:
        session.rollback()
        note_state_apart(backend.id, str(e))
        raise


def _send(session: Session, backend: MLBackend, project: Project, tasks: list[dict], timeout: float | None = None) -> int:
    if not tasks:
        return 0
    _end_transaction(session)
    answered = client_of(backend, timeout).predict(tasks, uid_of(project), project.label_config, backend.model_version or None)
    found = [NewPrediction(t.task_id, p["result"], p.get("score"), p["model_version"] or backend.model_version)
             for t in answered for p in t.predictions]
    try:
        return _store(session, project, found, ml_backend_id=backend.id)
    except (InvalidInput, NotFound) as e:
        raise ModelServerError(f"The model server at {backend.url} answered predictions labelkit cannot keep: {e}") from None


def _backend_of(session: Session, project_id: int, backend_id: int | None) -> MLBackend:
    backends = _project_backends(session, project_id)
    if backend_id is not None:
        backends = [b for b in backends if b.id == backend_id]
    if not backends:
        raise NotFound(f"Project {project_id} has no model server" + (f" {backend_id}." if backend_id else " connected."))
    return backends[0]


def predict(session: Session, actor: User, project_id: int, only_unlabeled: bool = True,
            progress: Progress | None = None, backend_id: int | None = None, batch_size: int = BATCH) -> PredictSummary:
    """Pre-label the project's tasks (only those with no annotation and no prediction of the
    model's version, or all) with its model server. Raises PredictionStopped on a failing
    batch after keeping the batches before it and the server's error."""
    project = get_project(session, actor, project_id, Capability.MODEL_MANAGE)
    backend = _backend_of(session, project.id, backend_id)
    _end_transaction(session)
    try:
        _setup(session, backend, project)  # a restarted server needs it before /predict; the version may be new
    except ModelServerError as e:
        _note_state(session, backend, str(e))
        _end_transaction(session)
        raise PredictionStopped(str(e), PredictSummary(backend.id, backend.model_version, error=str(e))) from None
    summary = PredictSummary(backend.id, backend.model_version)
    query = _tasks_query(project.id, only_unlabeled, backend.model_version)
    summary.total = session.exec(select(func.count()).select_from(query.subquery())).one()
    if progress:
        progress(0, summary.total)
    last_id = 0
    while summary.sent < summary.total:
        rows = session.exec(query.where(Task.id > last_id).order_by(Task.id).limit(batch_size)).all()
        if not rows:
            break
        last_id = rows[-1][0]
        try:
            summary.stored += _send(session, backend, project, [task_payload(i, d, project.id) for i, d in rows])
        except ModelServerError as e:
            session.rollback()
            summary.failed, summary.error = len(rows), str(e)
            _note_state(session, backend, summary.error)
            _record(session, actor, project, summary, only_unlabeled)
            _end_transaction(session)
            done = f"{summary.sent} of {summary.total} tasks were pre-labeled before it stopped; those are kept."
            raise PredictionStopped(f"{e} {done}", summary) from None
        summary.sent += len(rows)
        _end_transaction(session)
        if progress:
            progress(summary.sent, summary.total)
    if backend.state != "connected":
        _note_state(session, backend)
    _record(session, actor, project, summary, only_unlabeled)
    return summary


def _record(session: Session, actor: User, project: Project, summary: PredictSummary, only_unlabeled: bool) -> None:
    audit.record(session, actor, "ml.predict", f"ml_backend:{summary.backend_id}", project.id, sent=summary.sent,
                 stored=summary.stored, failed=summary.failed, only_unlabeled=only_unlabeled,
                 model_version=summary.model_version, error=summary.error[:300])
    session.flush()


# --- a suggestion when a task opens ------------------------------------------------


def interactive_prediction(session: Session, actor: User, project: Project, task: Task) -> tuple[Prediction | None, str | None]:
    """A prediction from the project's interactive model server for a task that has none, for
    someone who labels in the project: one /predict call with a short timeout, stored. On any
    failure of the model: (None, a short notice for the person labeling); it raises only when
    the person may not label here. Ends the caller's transaction first. A server that failed
    in the last minute is not asked again (nobody waits for it task after task)."""
    require(session, actor, Capability.TASK_ANNOTATE, project.id)
    if task.project_id != project.id:
        raise NotFound(f"There is no task {task.id} in project {project.id}.")
    try:
        backend = next((b for b in _project_backends(session, project.id) if b.is_interactive), None)
        if backend is None:
            return None, None
        if _resting(backend):
            return None, "The model is not answering at the moment; label without its suggestion."
        timeout = min(INTERACTIVE_TIMEOUT, backend.timeout)
        stored = _predict_tasks(session, backend, [task.id], timeout=timeout)
        if backend.state != "connected":
            _note_state(session, backend)
        if not stored:
            return None, None
        found = session.exec(select(Prediction).where(Prediction.task_id == task.id, Prediction.ml_backend_id == backend.id)
                             .order_by(col(Prediction.id).desc()).limit(1)).first()
        return found, None
    except ModelServerTimeout as e:
        log.warning("interactive prediction for task %s: %s", task.id, e)
        return None, f"The model did not answer in {timeout:g} s; label without its suggestion."
    except Exception:
        log.exception("interactive prediction for task %s failed", task.id)
        session.rollback()
        return None, "The model could not make a suggestion for this task; label without it."


def _resting(backend: MLBackend) -> bool:
    checked = backend.last_checked_at
    if backend.state == "connected" or checked is None:
        return False
    checked = checked if checked.tzinfo else checked.replace(tzinfo=UTC)
    return utcnow() - checked < timedelta(seconds=REST_AFTER_FAILURE)


def suggestion_caption(prediction: Prediction) -> str:
    """What the label page says about a pre-filled task."""
    version = f" {prediction.model_version}" if prediction.model_version else ""
    score = f" (score {prediction.score:.2f})" if prediction.score is not None else ""
    return f"Suggested by model{version}{score}; edit as you like."
