"""a. Import of N short text tasks through `labelkit import`, against the floor: the same
rows inserted by a bare executemany (SQLite) or COPY (PostgreSQL) in the same run.
b. Database bytes per task after the import."""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import time
from pathlib import Path

import psycopg2

from bench.harness import Instance, Measure, Postgres


def _floor(instance: Instance, path: Path, project_id: int) -> float:
    """Seconds for the bare database to take the same rows (pre-serialized, no checks)."""
    stamp = "2026-01-01 00:00:00.000000"
    with path.open() as f:
        rows = [(project_id, line.strip(), stamp) for line in f]
    if instance.backend == "sqlite":
        conn = sqlite3.connect(instance.dir / "data" / "labelkit.db", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        start = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO tasks (project_id, data, total_annotations, done, created_at) VALUES (?, ?, 0, 0, ?)", rows
        )
        conn.execute("COMMIT")
        elapsed = time.perf_counter() - start
        conn.close()
        return elapsed
    conn = psycopg2.connect(instance.database_url.replace("postgresql+psycopg2", "postgresql"))
    buffer = io.StringIO()
    csv.writer(buffer).writerows((p, d, 0, "f", "2026-01-01T00:00:00+00:00") for p, d, _ in rows)
    buffer.seek(0)
    start = time.perf_counter()
    with conn.cursor() as cursor:
        cursor.copy_expert(
            "COPY tasks (project_id, data, total_annotations, done, created_at) FROM STDIN WITH (FORMAT csv)", buffer
        )
    conn.commit()
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def _bytes(instance: Instance) -> int:
    if instance.backend == "sqlite":
        db = instance.dir / "data" / "labelkit.db"
        conn = sqlite3.connect(db)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        return os.path.getsize(db)
    conn = psycopg2.connect(instance.database_url.replace("postgresql+psycopg2", "postgresql"))
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE tasks")
        cursor.execute("SELECT pg_total_relation_size('tasks')")
        size = cursor.fetchone()[0]
    conn.close()
    return size


def run(backend: str, postgres: Postgres | None, tasks_file: Path, count: int, repeat: int) -> list[Measure]:
    size = f"{count:,} tasks"
    rate = Measure("a. import through `labelkit import`", backend, size, "tasks/s",
                   target="≥ 100,000 tasks/s (SQLite)" if backend == "sqlite" else "")
    ratio = Measure("a. import time / bare floor", backend, size, "×", target="≤ 4×" if backend == "sqlite" else "")
    per_task = Measure("b. database bytes per task", backend, size, "bytes", target="≤ 150 bytes")
    again = Measure("a. the same file again with --skip-duplicates", backend, size, "s")
    again_rss = Measure("a. the same file again with --skip-duplicates: peak RSS", backend, size, "MB")
    for _ in range(repeat):
        instance = Instance.create(backend, postgres)
        try:
            project = instance.project()
            seconds, _ = instance.timed_cli("import", str(project), str(tasks_file))
            per_task.values.append(_bytes(instance) / count)
            seconds_again, rss_again = instance.timed_cli("import", str(project), str(tasks_file), "--skip-duplicates")
            _expect_tasks(instance, project, count)
            again.values.append(seconds_again)
            again_rss.values.append(rss_again)
            other = instance.project("Floor")
            floor = _floor(instance, tasks_file, other)
            rate.values.append(count / seconds)
            ratio.values.append(seconds / floor)
        finally:
            instance.remove()
    if backend == "sqlite" and count >= 1_000_000:  # the targets are set at a million tasks
        rate.met = rate.median >= 100_000
        ratio.met = ratio.median <= 4
    per_task.met = per_task.median <= 150
    rate.note = "wall clock of the whole command, process start included"
    again.note = "every task skipped; the duplicate check reads the project's task data"
    return [rate, ratio, per_task, again, again_rss]


def _expect_tasks(instance: Instance, project_id: int, count: int) -> None:
    """The figure is only about skipping if the second import added nothing."""
    rows = json.loads(instance.cli("project", "list", "--json"))
    tasks = next(row["tasks"] for row in rows if row["id"] == project_id)
    if tasks != count:
        raise RuntimeError(f"import --skip-duplicates of the same file left {tasks} tasks, not {count}")

