"""Writing imported tasks: many rows per statement, no per-task round trips.

Rows without predictions or annotations go in as fast as the database takes them
(executemany on SQLite, COPY on PostgreSQL); rows with them need their task ids back, so
they go through INSERT ... RETURNING. An imported task's submitted annotations count
toward its overlap, as if they had been submitted here."""

from __future__ import annotations

import csv
import io
from itertools import repeat

from sqlalchemy import insert
from sqlmodel import Session

from labelkit.db import is_sqlite
from labelkit.importers.imported_annotations import ImportedAnnotation
from labelkit.labeling.predictions import uncertainty
from labelkit.models import Annotation, AnnotationState, Prediction, Task, utcnow

BATCH = 10_000


Made = tuple[ImportedAnnotation, int | None]  # an imported annotation and its annotator here


class TaskWriter:
    def __init__(self, session: Session, project_id: int, overlap: int = 1) -> None:
        self.session, self.project_id, self.overlap = session, project_id, overlap
        self.sqlite = is_sqlite(session)
        # (data as JSON text, data, predictions, annotations)
        self.rows: list[tuple[str, dict, list, list[Made]]] = []
        self.created = 0
        self.predictions = 0
        self.annotations = 0
        self.unmatched = 0
        self.done = 0  # tasks that came in with all the annotations they need

    @property
    def pending(self) -> int:
        return len(self.rows)

    def add(self, text: str, data: dict, predictions: list, annotations: list[Made] | None = None) -> None:
        self.rows.append((text, data, predictions, annotations or []))
        if len(self.rows) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        if any(predictions or annotations for _, _, predictions, annotations in self.rows):
            self._with_children()
        elif self.sqlite:
            self._executemany()
        else:
            self._copy()
        self.created += len(self.rows)
        self.rows = []

    def _raw(self):
        """The DBAPI connection, inside the session's transaction."""
        return self.session.connection().connection.driver_connection

    def _executemany(self) -> None:
        # SQLAlchemy stores SQLite datetimes as naive UTC text in this format.
        stamp = utcnow().strftime("%Y-%m-%d %H:%M:%S.%f")
        texts = (text for text, *_ in self.rows)
        self._raw().executemany(
            "INSERT INTO tasks (project_id, data, total_annotations, done, created_at) VALUES (?, ?, 0, 0, ?)",
            zip(repeat(self.project_id), texts, repeat(stamp)),
        )

    def _copy(self) -> None:
        stamp = utcnow().isoformat()
        buffer = io.StringIO()
        csv.writer(buffer).writerows((self.project_id, text, 0, "f", stamp) for text, *_ in self.rows)
        buffer.seek(0)
        with self._raw().cursor() as cursor:
            cursor.copy_expert(
                "COPY tasks (project_id, data, total_annotations, done, created_at) FROM STDIN WITH (FORMAT csv)", buffer
            )

    def _with_children(self) -> None:
        now = utcnow()
        submitted = [sum(not a.skipped for a, _ in made) for *_, made in self.rows]
        ids = self.session.execute(
            insert(Task).returning(Task.id, sort_by_parameter_order=True),
            [{"project_id": self.project_id, "data": data, "created_at": now, "total_annotations": count,
              "done": count >= self.overlap, "uncertainty": _uncertainty(preds)}
             for (_, data, preds, _), count in zip(self.rows, submitted, strict=True)],
        ).scalars().all()
        self.done += sum(count >= self.overlap for count in submitted)
        predictions = [
            {
                "task_id": task_id,
                "project_id": self.project_id,
                "result": p.get("result") or [],
                "score": p.get("score"),
                "model_version": str(p.get("model_version") or ""),
                "created_at": now,
            }
            for task_id, (_, _, preds, _) in zip(ids, self.rows, strict=True)
            for p in preds
        ]
        if predictions:
            self.session.execute(insert(Prediction), predictions)
        self.predictions += len(predictions)
        annotations = [
            self._annotation(task_id, a, user_id, now)
            for task_id, (*_, made) in zip(ids, self.rows, strict=True)
            for a, user_id in _one_each(made)
        ]
        if annotations:
            self.session.execute(insert(Annotation), annotations)
        self.annotations += len(annotations)
        self.unmatched += sum(1 for a in annotations if a["user_id"] is None)

    def _annotation(self, task_id: int, a: ImportedAnnotation, user_id: int | None, now) -> dict:
        made = a.created_at or now
        return {
            "task_id": task_id, "project_id": self.project_id, "user_id": user_id,
            "state": AnnotationState.SKIPPED if a.skipped else AnnotationState.SUBMITTED, "result": a.result,
            "review_status": a.review_status, "lead_time": a.lead_time, "created_at": made,
            "updated_at": a.updated_at or made, "submitted_at": None if a.skipped else (a.updated_at or made),
        }


def _uncertainty(predictions: list) -> float | None:
    """The task's uncertainty from its last imported prediction (the queue's active-learning order)."""
    last = predictions[-1] if predictions else None
    return uncertainty(last.get("result") or [], last.get("score")) if isinstance(last, dict) else None


def _one_each(made: list[Made]) -> list[Made]:
    """A person has one annotation per task here: a second one by the same account is kept
    as imported (no account) rather than lost."""
    seen: set[int] = set()
    kept = []
    for a, user_id in made:
        if user_id is not None and user_id in seen:
            user_id = None
        if user_id is not None:
            seen.add(user_id)
        kept.append((a, user_id))
    return kept
