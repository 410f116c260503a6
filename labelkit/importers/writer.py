"""Writing imported tasks: many rows per statement, no per-task round trips.

Rows without predictions go in as fast as the database takes them (executemany on
SQLite, COPY on PostgreSQL); rows with predictions need their task ids back, so they
go through INSERT ... RETURNING."""

from __future__ import annotations

import csv
import io
from itertools import repeat

from sqlalchemy import insert
from sqlmodel import Session

from labelkit.db import is_sqlite
from labelkit.models import Prediction, Task, utcnow

BATCH = 10_000


class TaskWriter:
    def __init__(self, session: Session, project_id: int) -> None:
        self.session, self.project_id = session, project_id
        self.sqlite = is_sqlite(session)
        self.rows: list[tuple[str, dict, list]] = []  # (data as JSON text, data, predictions)
        self.created = 0
        self.predictions = 0

    @property
    def pending(self) -> int:
        return len(self.rows)

    def add(self, text: str, data: dict, predictions: list) -> None:
        self.rows.append((text, data, predictions))
        if len(self.rows) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        if any(predictions for _, _, predictions in self.rows):
            self._with_predictions()
        elif self.sqlite:
            self._executemany()
        else:
            self._copy()
        self.created += len(self.rows)
        self.rows = []

    def _raw(self):  # noqa: ANN202
        """The DBAPI connection, inside the session's transaction."""
        return self.session.connection().connection.driver_connection

    def _executemany(self) -> None:
        # SQLAlchemy stores SQLite datetimes as naive UTC text in this format.
        stamp = utcnow().strftime("%Y-%m-%d %H:%M:%S.%f")
        texts = (text for text, _, _ in self.rows)
        self._raw().executemany(
            "INSERT INTO tasks (project_id, data, total_annotations, done, created_at) VALUES (?, ?, 0, 0, ?)",
            zip(repeat(self.project_id), texts, repeat(stamp)),
        )

    def _copy(self) -> None:
        stamp = utcnow().isoformat()
        buffer = io.StringIO()
        csv.writer(buffer).writerows((self.project_id, text, 0, "f", stamp) for text, _, _ in self.rows)
        buffer.seek(0)
        with self._raw().cursor() as cursor:
            cursor.copy_expert(
                "COPY tasks (project_id, data, total_annotations, done, created_at) FROM STDIN WITH (FORMAT csv)", buffer
            )

    def _with_predictions(self) -> None:
        now = utcnow()
        ids = self.session.execute(
            insert(Task).returning(Task.id, sort_by_parameter_order=True),
            [{"project_id": self.project_id, "data": data, "created_at": now} for _, data, _ in self.rows],
        ).scalars().all()
        predictions = [
            {
                "task_id": task_id,
                "project_id": self.project_id,
                "result": p.get("result") or [],
                "score": p.get("score"),
                "model_version": str(p.get("model_version") or ""),
                "created_at": now,
            }
            for task_id, (_, _, preds) in zip(ids, self.rows, strict=True)
            for p in preds
        ]
        if predictions:
            self.session.execute(insert(Prediction), predictions)
        self.predictions += len(predictions)
