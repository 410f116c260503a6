"""Active learning: the queue serves the least certain tasks first (labelkit/labeling/queue.py,
sampling "uncertainty", reading Task.uncertainty that labelkit/labeling/predictions.py keeps), and a
model server with `predict_every` = N predicts the open tasks again after every N new
annotations, so the order follows what the model has learnt since.

The count of new annotations lives on the backend's row (ml_backends.annotations_at_predict),
bumped in the submit's transaction: whichever app server's submit reaches N resets it and
starts the run, so several servers never start the same run twice. The run itself happens
after the commit, in a thread of its own: a submit never waits for a model."""

from __future__ import annotations

import logging
import threading

from sqlalchemy import event, update
from sqlmodel import Session, col, select

from labelkit.models import Annotation, AnnotationState, MLBackend, Task

log = logging.getLogger(__name__)

REPREDICT_LIMIT = 1000  # open tasks predicted again per run, in queue order
BATCH = 50


def _annotation_counted(session: Session, annotation: Annotation) -> None:
    """After a submit (in its transaction): count it towards each backend's next run and
    schedule the runs that are due for after the commit."""
    if annotation.state != AnnotationState.SUBMITTED:
        return
    due = session.execute(
        update(MLBackend)
        .where(MLBackend.project_id == annotation.project_id, MLBackend.predict_every > 0)
        .values(annotations_at_predict=MLBackend.annotations_at_predict + 1)
        .returning(MLBackend.id, MLBackend.annotations_at_predict, MLBackend.predict_every)
    ).all()
    runs = [backend_id for backend_id, count, every in due if count >= every]
    if not runs:
        return
    session.execute(update(MLBackend).where(col(MLBackend.id).in_(runs)).values(annotations_at_predict=0))

    def start(_session: Session) -> None:
        for backend_id in runs:
            threading.Thread(target=repredict, args=(backend_id,), name=f"repredict-{backend_id}", daemon=True).start()

    event.listen(session, "after_commit", start, once=True)


def _open_task_ids(session: Session, project_id: int, limit: int = REPREDICT_LIMIT) -> list[int]:
    """The open tasks a run predicts again: those the queue would serve, least certain
    first, then those with no prediction yet (the partial index ix_tasks_open_uncertain)."""
    from labelkit.labeling.queue import open_tasks

    uncertain = session.exec(
        select(Task.id)
        .where(open_tasks(project_id), col(Task.uncertainty).is_not(None))
        .order_by(col(Task.uncertainty).desc(), col(Task.id).desc())
        .limit(limit)
    ).all()
    rest = session.exec(
        select(Task.id).where(open_tasks(project_id), col(Task.uncertainty).is_(None)).order_by(col(Task.id)).limit(limit - len(uncertain))
    ).all() if len(uncertain) < limit else []
    return list(uncertain) + list(rest)


def repredict(backend_id: int) -> int:
    """Predict a project's open tasks again with one model server; never raises (a failure
    is kept as the backend's last error by the ML client). Returns the predictions stored."""
    from labelkit.db import session_scope
    from labelkit.ml.predict import _predict_tasks

    stored = 0
    try:
        with session_scope(write=False) as session:
            backend = session.get(MLBackend, backend_id)
            if backend is None:
                return 0
            ids = _open_task_ids(session, backend.project_id)
        for start in range(0, len(ids), BATCH):
            with session_scope() as session:
                backend = session.get(MLBackend, backend_id)
                if backend is None:
                    return stored
                stored += _predict_tasks(session, backend, ids[start:start + BATCH])
    except Exception:  # a model run in the background must never take the server down
        log.exception("re-predicting with model server %s failed", backend_id)
    return stored
