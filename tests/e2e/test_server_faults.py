"""Faults lose nothing, against a real `labelkit serve`:

- PostgreSQL stops while an annotator works: Submit says it is retrying, the answer stays in the
  page, and it is saved once the database is back; the REST API answers 503 meanwhile.
- The server is SIGKILLed in the middle of a large import through the REST API (SQLite and
  PostgreSQL): after a restart the project has no task of it, and the import run again gives
  every task exactly once."""

from __future__ import annotations

import json
import re
import shutil
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlmodel import func, select

from labelkit.models import Annotation, Project, Task
from tests.e2e.servers import Server, drop_database, start_server
from tests.e2e.steps import click, goto, pick, see, sign_in
from tests.support import BACKENDS, PostgresServer

CONFIG = """<View><Text name="text" value="$text"/>
<Choices name="sentiment" toName="text"><Choice value="Positive"/><Choice value="Negative"/></Choices></View>"""
RETRYING = "Saving… the database is not reachable; retrying"


def stopped(server: Server) -> None:
    server.stop()
    shutil.rmtree(server.workdir, ignore_errors=True)


# PostgreSQL restarts while an annotator works


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL of this module alone: the test stops and starts it."""
    pg = PostgresServer()
    pg.start()
    try:
        yield pg
    finally:
        pg.stop()


def test_a_submit_while_postgresql_restarts_is_saved_when_it_is_back(own_postgres: PostgresServer, new_page,
                                                                        tmp_path: Path) -> None:
    pg = own_postgres
    url = f"postgresql+psycopg2://postgres@127.0.0.1:{pg.port}/postgres"
    server = start_server("postgresql", url, settings={"LABELKIT_SAVE_RETRY_ATTEMPTS": "6"})  # about 10 s
    try:
        project_id = server.project("Restart", CONFIG, [{"text": "The first review"}, {"text": "The second review"}])
        token = server.admin_token()
        api = f"http://127.0.0.1:{server.port}/api/projects/{project_id}"
        page = new_page()
        sign_in(page, server)
        goto(page, f"{server.url}/label?project={project_id}")
        see(page, "The first review")
        pick(page, "Positive")  # kept as a draft while the database is up
        with server.db() as db:
            draft = db.exec(select(Annotation).where(Annotation.project_id == project_id)).one()
            assert (draft.state, draft.result[0]["value"]["choices"]) == ("draft", ["Positive"])

        pg.pause()
        try:
            down = httpx.get(api, headers={"Authorization": f"Token {token}"}, timeout=30)
            assert down.status_code == 503 and "database is not reachable" in down.json()["detail"]
            click(page, "Submit", "began")  # the run says what it does while it retries
            see(page, re.compile(re.escape(RETRYING)))
            # The answer is still on the page: drawn by the run before, it stays while this one retries.
            picked = page.get_by_role("button", name=re.compile(r"^Positive\b")).and_(page.locator('button[kind="primary"]'))
            assert picked.first.is_visible()
            see(page, "Not saved yet: the database is still not reachable.", timeout=60_000)  # it gave up
            see(page, f"Task {draft.task_id}, your answer: sentiment: Positive")  # kept, and shown
        finally:
            pg.resume()
        click(page, "Try again", "began")
        see(page, re.compile(r"^Task \d+: Submitted\.$"), timeout=60_000)
        see(page, "The second review")

        # A short restart: the Submit waits it out and saves by itself.
        pick(page, "Negative")
        pg.pause()
        try:
            click(page, "Submit", "began")
            see(page, re.compile(re.escape(RETRYING)))
        finally:
            pg.resume()
        see(page, re.compile(r"^Task \d+: Submitted\.$"), timeout=60_000)
        see(page, "You're all done here", timeout=60_000)

        with server.db() as db:
            saved = db.exec(select(Annotation).where(Annotation.project_id == project_id).order_by(Annotation.task_id)).all()
        assert [(a.state, a.result[0]["value"]["choices"]) for a in saved] == [("submitted", ["Positive"]),
                                                                              ("submitted", ["Negative"])]
        up = httpx.get(api, headers={"Authorization": f"Token {token}"}, timeout=30)
        assert up.status_code == 200 and up.json()["id"] == project_id
        assert "Traceback" not in server.log_text(), server.log_text()[-4000:]
    finally:
        stopped(server)


# The server is killed in the middle of a large import

ROWS = 200_000


def big_file(folder: Path) -> Path:
    path = folder / "big.json"
    path.write_text(json.dumps([{"text": f"Review number {i}: " + "words " * 8} for i in range(ROWS)]))
    return path


def import_under_way(server: Server, project_id: int) -> bool:
    """Whether the server is writing the import's tasks in a transaction not yet committed."""
    if server.backend == "sqlite":
        path = server.database_url.removeprefix("sqlite:///")
        wal = Path(f"{path}-wal")
        if not wal.exists() or wal.stat().st_size < 2_000_000:  # more than a cache's worth written
            return False
        probe = sqlite3.connect(path, timeout=0)
        try:
            probe.execute("BEGIN IMMEDIATE")  # refused while the importing writer holds the lock
            probe.rollback()
            return False
        except sqlite3.OperationalError:
            return True
        finally:
            probe.close()
    engine = create_engine(server.database_url)
    try:
        with engine.connect() as conn:
            # A transaction (still open) whose last statement wrote a batch of tasks.
            return conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND xact_start IS NOT NULL AND query ILIKE '%tasks%' AND (query ILIKE 'COPY%' OR query ILIKE 'INSERT%')"
            )).scalar() > 0
    finally:
        engine.dispose()


def upload_in_background(endpoint: str, token: str, source: Path, media_type: str) -> tuple[threading.Thread, dict]:
    """POST a file to an import endpoint from a thread; the dict gets its "answer", or the
    "error" of a request the server died under (what these tests want)."""
    outcome: dict = {}

    def upload() -> None:
        try:
            with source.open("rb") as f:
                outcome["answer"] = httpx.post(endpoint, headers={"Authorization": f"Token {token}"},
                                               files={"file": (source.name, f, media_type)}, timeout=600)
        except httpx.HTTPError as e:
            outcome["error"] = e

    sender = threading.Thread(target=upload, daemon=True)
    sender.start()
    return sender, outcome


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_server_killed_mid_import_keeps_no_partial_import_and_the_import_runs_again(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path,
) -> None:
    postgres = request.getfixturevalue("postgres_server_url") if backend == "postgresql" else None
    server = start_server(backend, postgres)
    try:
        project_id = server.project("Big", CONFIG)
        token = server.admin_token()
        source = big_file(tmp_path)
        endpoint = f"http://127.0.0.1:{server.port}/api/projects/{project_id}/import"
        sender, outcome = upload_in_background(endpoint, token, source, "application/json")
        deadline = time.time() + 300
        while not import_under_way(server, project_id):
            assert "answer" not in outcome, f"the import finished before it could be interrupted: {outcome}"
            assert time.time() < deadline, "the import never got under way"
            time.sleep(0.05)
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(timeout=30)
        sender.join(timeout=60)
        assert "error" in outcome, outcome  # no answer: the client knows the import did not finish

        server.launch()  # `labelkit serve` again on the same port, data dir and database
        with server.db() as db:
            assert db.exec(select(func.count()).select_from(Task).where(Task.project_id == project_id)).one() == 0
            assert db.get(Project, project_id).task_count == 0
        if backend == "sqlite":
            with sqlite3.connect(server.database_url.removeprefix("sqlite:///")) as raw:
                assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)

        with source.open("rb") as f:
            again = httpx.post(endpoint, headers={"Authorization": f"Token {token}"},
                               files={"file": ("big.json", f, "application/json")}, timeout=600)
        assert again.status_code == 201, again.text
        assert again.json()["task_count"] == ROWS
        with server.db() as db:
            texts = db.exec(select(Task.data).where(Task.project_id == project_id)).all()
            assert db.get(Project, project_id).task_count == ROWS
        numbers = sorted(int(d["text"].split()[2].rstrip(":")) for d in texts)
        assert numbers == list(range(ROWS))  # every task exactly once
        assert "Traceback" not in server.log_text(), server.log_text()[-4000:]
    finally:
        server.stop()
        if postgres:
            drop_database(postgres, server.database_url)
        shutil.rmtree(server.workdir, ignore_errors=True)


IMAGES = """<View><Image name="image" value="$image"/>
<Choices name="kind" toName="image"><Choice value="Cat"/><Choice value="Dog"/></Choices></View>"""
PICTURES = 1500


def pictures_zip(folder: Path) -> Path:
    import io
    import zipfile

    from PIL import Image

    path = folder / "pictures.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for i in range(PICTURES):
            picture = io.BytesIO()
            Image.new("RGB", (64, 48), (i % 256, i // 256, 0)).save(picture, "PNG")
            archive.writestr(f"img{i:04}.png", picture.getvalue())
    return path


def test_a_server_killed_mid_media_import_leaves_no_files_of_it(tmp_path: Path) -> None:
    """SQLite only: what is proven here is the files (the database side is the test above)."""
    server = start_server("sqlite")
    try:
        project_id = server.project("Pictures", IMAGES)
        token = server.admin_token()
        source = pictures_zip(tmp_path)
        endpoint = f"http://127.0.0.1:{server.port}/api/projects/{project_id}/import"
        uploads = server.workdir / "data" / "media" / "upload" / str(project_id)
        journals = server.workdir / "data" / "media" / ".importing"
        sender, outcome = upload_in_background(endpoint, token, source, "application/zip")
        deadline = time.time() + 300
        while not (uploads.exists() and len(list(uploads.iterdir())) >= 100):  # files written, tasks not yet
            assert "answer" not in outcome, f"the import finished before it could be interrupted: {outcome}"
            assert time.time() < deadline, "the import never got under way"
            time.sleep(0.05)
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(timeout=30)
        sender.join(timeout=60)
        assert "error" in outcome, outcome
        assert list(uploads.iterdir()) and list(journals.iterdir())  # what the killed import left

        server.launch()  # its start sweeps them
        assert list(uploads.iterdir()) == [] and list(journals.iterdir()) == []
        with server.db() as db:
            assert db.exec(select(func.count()).select_from(Task).where(Task.project_id == project_id)).one() == 0

        with source.open("rb") as f:
            again = httpx.post(endpoint, headers={"Authorization": f"Token {token}"},
                               files={"file": ("pictures.zip", f, "application/zip")}, timeout=600)
        assert again.status_code == 201 and again.json()["task_count"] == PICTURES, again.text
        assert len(list(uploads.iterdir())) == PICTURES and list(journals.iterdir()) == []
        assert "Traceback" not in server.log_text(), server.log_text()[-4000:]
    finally:
        stopped(server)
