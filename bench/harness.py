"""The parts every scenario shares: a throwaway labelkit (data dir and database) on SQLite
or PostgreSQL, the CLI in a subprocess, fast bulk set-up, and statistics."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support import PostgresServer, create_database, run_cli_measured  # noqa: E402  (shared with the tests)

CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text" choice="single" showInline="true">
    <Choice value="Positive" hotkey="1"/>
    <Choice value="Negative" hotkey="2"/>
    <Choice value="Neutral" hotkey="3"/>
  </Choices>
</View>"""
ADMIN = ("bench-admin@example.com", "bench admin password")


@dataclass
class Measure:
    """One figure of the results table: every repetition's value, summarised."""

    scenario: str
    backend: str
    size: str
    unit: str
    values: list[float] = field(default_factory=list)
    target: str = ""
    met: bool | None = None
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.values) if self.values else float("nan")

    @property
    def spread(self) -> str:
        if len(self.values) < 2:
            return "one run"
        return f"{fmt(min(self.values))}–{fmt(max(self.values))}"


def fmt(value: float) -> str:
    if value != value:  # NaN
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


class Postgres:
    """One PostgreSQL server for the whole run: LABELKIT_BENCH_POSTGRES_URL, or a throwaway one."""

    def __init__(self) -> None:
        self.url = os.environ.get("LABELKIT_BENCH_POSTGRES_URL") or os.environ.get("LABELKIT_TEST_POSTGRES_URL")
        self.server = None
        if not self.url:
            self.server = PostgresServer()
            self.url = self.server.start()
        self.count = 0

    def database(self) -> str:
        self.count += 1
        return create_database(self.url, f"labelkit_bench_{os.getpid()}_{self.count}")

    def stop(self) -> None:
        if self.server:
            self.server.stop()


@dataclass
class Instance:
    """A throwaway labelkit: its own data dir and database."""

    backend: str
    dir: Path
    env: dict

    @classmethod
    def create(cls, backend: str, postgres: Postgres | None) -> Instance:
        folder = Path(tempfile.mkdtemp(prefix=f"labelkit-bench-{backend}-"))
        env = {k: v for k, v in os.environ.items() if not k.startswith("LABELKIT_")}
        env.update(LABELKIT_DATA_DIR=str(folder / "data"), PYTHONPATH=str(ROOT), LABELKIT_LOCK_MINUTES="30")
        if backend == "postgresql":
            env["LABELKIT_DATABASE_URL"] = postgres.database()
        instance = cls(backend, folder, env)
        instance.cli("user", "create", ADMIN[0], "--admin", password=ADMIN[1])
        (folder / "config.xml").write_text(CONFIG)
        return instance

    @property
    def database_url(self) -> str:
        return self.env.get("LABELKIT_DATABASE_URL") or f"sqlite:///{self.dir / 'data' / 'labelkit.db'}"

    def cli(self, *args: str, password: str | None = None) -> str:
        env = dict(self.env, LABELKIT_PASSWORD=password) if password else self.env
        done = subprocess.run([sys.executable, "-m", "labelkit.cli", *args], env=env, cwd=self.dir,
                              capture_output=True, text=True, timeout=3600, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"labelkit {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
        return done.stdout.strip()

    def timed_cli(self, *args: str) -> tuple[float, float]:
        """Seconds and peak RSS (MB) of one CLI run."""
        return run_cli_measured(list(args), self.env, cwd=str(self.dir))

    def use(self) -> None:
        """Point this process's labelkit at the instance (for in-process service calls)."""
        from labelkit import db
        from labelkit.settings import get_settings

        os.environ.pop("LABELKIT_DATABASE_URL", None)
        for key, value in self.env.items():
            if key.startswith("LABELKIT_"):
                os.environ[key] = value
        get_settings.cache_clear()
        db._engine_for.cache_clear()

    def project(self, title: str = "Bench") -> int:
        return int(self.cli("project", "create", "--title", title, "--config", str(self.dir / "config.xml")))

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def text_task(i: int) -> dict:
    return {"text": f"Short review number {i}: it works as described."}  # about 50 bytes of text


def write_tasks(path: Path, count: int, task: Callable[[int], dict] = text_task) -> Path:
    """count tasks (short texts by default) as JSON Lines; a file already written is reused."""
    if path.exists() and path.stat().st_size > 0:
        with path.open("rb") as f:
            if sum(1 for _ in f) == count:
                return path
    with path.open("w") as f:
        for i in range(count):
            f.write(json.dumps(task(i)) + "\n")
    return path


def label_share(instance: Instance, project_id: int, every: int, annotator_email: str = "filler@example.com",
                result: list[dict] | None = None) -> int:
    """Mark tasks labeled in bulk (one submitted annotation on every `every`-th task), the
    way many annotators' work would leave them; keeps done flags and counters right.
    result: the annotation's Label Studio result (default: a choice of the text CONFIG)."""
    from sqlalchemy import text

    from labelkit.auth.accounts import create_user
    from labelkit.db import session_scope
    from labelkit.labeling.counts import _recount
    from labelkit.models import Membership, Project

    instance.use()
    with session_scope() as s:
        filler = create_user(s, annotator_email, password="filler password")
        s.add(Membership(project_id=project_id, user_id=filler.id, role="annotator"))
    result = json.dumps(result or [{"id": "b1", "from_name": "sentiment", "to_name": "text", "type": "choices",
                                    "value": {"choices": ["Positive"]}, "origin": "manual"}])
    with session_scope() as s:
        params = {"p": project_id, "u": filler.id, "r": result, "n": every}
        if instance.backend == "sqlite":
            s.execute(text(
                "INSERT INTO annotations (task_id, project_id, user_id, state, result, review_status, lead_time, "
                "created_at, updated_at, submitted_at) SELECT id, :p, :u, 'submitted', :r, 'pending', 1.0, "
                "created_at, created_at, created_at FROM tasks WHERE project_id = :p AND id % :n = 0"), params)
        else:
            s.execute(text(
                "INSERT INTO annotations (task_id, project_id, user_id, state, result, review_status, lead_time, "
                "created_at, updated_at, submitted_at) SELECT id, :p, :u, 'submitted', CAST(:r AS jsonb), 'pending', "
                "1.0, created_at, created_at, created_at FROM tasks WHERE project_id = :p AND id % :n = 0"), params)
        s.execute(text("UPDATE tasks SET total_annotations = 1, done = (1 >= (SELECT overlap FROM projects WHERE id = :p)) "
                       "WHERE project_id = :p AND id % :n = 0"), params)
        _recount(s, s.get(Project, project_id))
    if instance.backend == "postgresql":
        # PostgreSQL analyzes tables by itself (autovacuum); this is what it would soon have.
        # SQLite keeps no statistics unless asked (labelkit never asks): its per-index
        # averages would misjudge this one filler account's half a million annotations.
        with session_scope() as s:
            s.execute(text("ANALYZE"))
    return filler.id
