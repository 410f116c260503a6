"""Faults lose nothing: a PostgreSQL server that goes away and comes back (the retry helper
waits it out on a fresh connection; the REST API answers 503, not 500, meanwhile and works
again after), a writer killed in the middle of a transaction on SQLite, and an S3 store or a
model server that stops answering (a clear message; labeling and submit go on).

The PostgreSQL here is this module's own (tests.support.PostgresServer), never the session's
shared one: the tests stop and start it."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError
from sqlmodel import func, select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from labelkit import db as lkdb
from labelkit import importers
from labelkit.auth import sessions
from labelkit.auth.accounts import create_user
from labelkit.labeling import submissions
from labelkit.models import Annotation, Project, Role, Task
from labelkit.projects.crud import ProjectFields, create_project
from labelkit.settings import get_settings
from tests.support import PostgresServer, create_database

CONFIG = """<View><Text name="text" value="$text"/>
<Choices name="sentiment" toName="text"><Choice value="Positive"/><Choice value="Negative"/></Choices></View>"""
POSITIVE = [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["Positive"]}}]


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[tuple[PostgresServer, str]]:
    """A PostgreSQL server of this module alone (it gets stopped), with a migrated database."""
    server = PostgresServer()
    try:
        url = create_database(server.start(), "labelkit_faults")
        engine = lkdb.make_engine(url)
        lkdb.migrate(engine)
        engine.dispose()
        yield server, url
    finally:
        server.stop()


@pytest.fixture
def team(own_postgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """labelkit on the module's PostgreSQL: a manager's project of 3 tasks and an annotator."""
    server, url = own_postgres
    monkeypatch.setenv("LABELKIT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LABELKIT_DATABASE_URL", url)
    monkeypatch.setenv("LABELKIT_ENV", "test")
    get_settings.cache_clear()
    lkdb._engine_for.cache_clear()
    suffix = tmp_path.name[-12:]
    with lkdb.session_scope() as s:
        manager = create_user(s, f"m-{suffix}@example.com", name="M", password="correct horse battery", role=Role.MANAGER)
        annotator = create_user(s, f"a-{suffix}@example.com", name="A", password="correct horse battery", role=Role.ANNOTATOR)
        project = create_project(s, manager, ProjectFields(title=f"Faults {suffix}", label_config=CONFIG))
    with lkdb.session_scope() as s:
        from labelkit.models import Membership

        s.add(Membership(project_id=project.id, user_id=annotator.id, role=Role.ANNOTATOR))
        payload = json.dumps([{"text": f"task {i}"} for i in range(3)]).encode()
        importers.import_sources(s, manager, project.id, [("t.json", io.BytesIO(payload), len(payload))])
    yield server, project, manager, annotator
    if not _is_up(server):
        server.resume()
    lkdb.get_engine().dispose()
    lkdb._engine_for.cache_clear()
    get_settings.cache_clear()


def _is_up(server: PostgresServer) -> bool:
    done = subprocess.run([*server.as_postgres, str(server.bin / "pg_ctl"), "-D", str(server.dir / "data"), "status"],
                          capture_output=True, check=False)
    return done.returncode == 0


def first_task(project: Project) -> int:
    with lkdb.session_scope(write=False) as s:
        return s.exec(select(Task.id).where(Task.project_id == project.id).order_by(Task.id)).first()


def submitted(project: Project) -> int:
    with lkdb.session_scope(write=False) as s:
        return s.exec(select(func.count()).select_from(Annotation)
                      .where(Annotation.project_id == project.id, Annotation.state == "submitted")).one()


def test_a_submit_waits_out_a_postgresql_restart_and_is_saved_once(team) -> None:
    server, project, _, annotator = team
    task_id = first_task(project)
    lkdb.get_engine()  # pooled connections that the restart will cut
    server.pause()
    waits: list[str] = []

    def back_on_first_retry(attempt: int, error: BaseException) -> None:
        waits.append(type(error).__name__)
        if attempt == 1:
            server.resume()

    outcome = lkdb.retry_unavailable(lambda s: submissions.submit(s, annotator, task_id, POSITIVE).message,
                                     wait=0.1, on_retry=back_on_first_retry)
    assert outcome == "Submitted."
    assert waits and waits[0] == "OperationalError"  # the first try found the database down
    assert submitted(project) == 1


def test_the_retry_gives_up_after_its_attempts_and_nothing_is_written(team) -> None:
    server, project, _, annotator = team
    task_id = first_task(project)
    server.pause()
    seen: list[int] = []
    with pytest.raises(OperationalError):
        lkdb.retry_unavailable(lambda s: submissions.submit(s, annotator, task_id, POSITIVE), attempts=3, wait=0.01,
                               on_retry=lambda attempt, _e: seen.append(attempt))
    assert seen == [1, 2]
    server.resume()
    assert submitted(project) == 0


def test_a_statement_the_database_refuses_is_not_retried(team) -> None:
    _, project, _, annotator = team
    calls = []

    def bad(s):
        calls.append(1)
        return submissions.submit(s, annotator, first_task(project), [])  # nothing to submit: a LabelkitError

    from labelkit.errors import InvalidInput

    with pytest.raises(InvalidInput):
        lkdb.retry_unavailable(bad, wait=0.01)
    assert len(calls) == 1


def test_the_api_answers_503_while_postgresql_is_down_and_works_again_after(team) -> None:
    from labelkit.server import routes

    server, project, manager, _ = team
    client = TestClient(Starlette(routes=routes), base_url="http://localhost", follow_redirects=False)
    with lkdb.session_scope() as s:
        headers = {"Authorization": f"Token {sessions.create_api_token(s, manager)}"}
    assert client.get(f"/api/projects/{project.id}", headers=headers).status_code == 200

    server.pause()
    for method, path, body in (("GET", f"/api/projects/{project.id}", None),
                               ("GET", f"/api/projects/{project.id}/tasks", None),
                               ("POST", f"/api/projects/{project.id}/import", [{"text": "while down"}])):
        answer = client.request(method, path, headers=headers, json=body)
        assert answer.status_code == 503, (path, answer.status_code, answer.text)
        assert answer.json() == {"detail": lkdb.UNAVAILABLE}
        assert answer.headers["retry-after"]
    server.resume()

    assert client.get(f"/api/projects/{project.id}", headers=headers).json()["id"] == project.id
    made = client.post(f"/api/projects/{project.id}/import", headers=headers, json=[{"text": "after"}])
    assert made.status_code == 201 and made.json()["task_count"] == 1
    with lkdb.session_scope(write=False) as s:
        texts = [t["text"] for t in s.exec(select(Task.data).where(Task.project_id == project.id))]
    assert "while down" not in texts and texts.count("after") == 1


# SQLite: a writer killed in the middle of its transaction

KILLED_WRITER = """
import io, json, os, signal, sys
from labelkit import importers
from labelkit.db import session_scope
from labelkit.models import User
from labelkit.importers import writer
from sqlmodel import select

class Killed(writer.TaskWriter):
    def flush(self):
        super().flush()
        if self.created >= 20_000:  # two batches written in the open transaction
            os.kill(os.getpid(), signal.SIGKILL)

importers.TaskWriter = Killed
rows = json.dumps([{"text": f"row {i}"} for i in range(50_000)]).encode()
with session_scope() as s:
    owner = s.exec(select(User).where(User.email == sys.argv[2])).one()
    importers.import_sources(s, owner, int(sys.argv[1]), [("big.json", io.BytesIO(rows), len(rows))])
"""


def test_a_sqlite_writer_killed_mid_import_leaves_a_usable_database_and_no_tasks(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "labelkit.db"
    url = f"sqlite:///{path}"
    monkeypatch.setenv("LABELKIT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LABELKIT_DATABASE_URL", url)
    get_settings.cache_clear()
    lkdb._engine_for.cache_clear()
    engine = lkdb.get_engine()
    lkdb.migrate(engine)
    with lkdb.session_scope() as s:
        manager = create_user(s, "m@example.com", name="M", password="correct horse battery", role=Role.MANAGER)
        project = create_project(s, manager, ProjectFields(title="Big", label_config=CONFIG))
    engine.dispose()

    env = {**os.environ, "LABELKIT_DATA_DIR": str(tmp_path / "data"), "LABELKIT_DATABASE_URL": url}
    done = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(project.id), "m@example.com"], env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert Path(f"{path}-wal").exists()  # the killed writer's log is left for recovery

    with sqlite3.connect(path) as raw:  # WAL recovery on open; the file is whole
        assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    with lkdb.session_scope() as s:
        assert s.exec(select(func.count()).select_from(Task).where(Task.project_id == project.id)).one() == 0
        assert s.get(Project, project.id).task_count == 0
        rows = json.dumps([{"text": f"row {i}"} for i in range(50_000)]).encode()
        report = importers.import_sources(s, manager, project.id, [("big.json", io.BytesIO(rows), len(rows))])
    assert report.created == 50_000
    with lkdb.session_scope(write=False) as s:
        assert s.exec(select(func.count(func.distinct(Task.data))).where(Task.project_id == project.id)).one() == 50_000
    lkdb.get_engine().dispose()
    lkdb._engine_for.cache_clear()
    get_settings.cache_clear()


# Media of an import that never commits

IMAGES = """<View><Image name="image" value="$image"/>
<Choices name="kind" toName="image"><Choice value="Cat"/><Choice value="Dog"/></Choices></View>"""


def images_zip(count: int, bad_last: bool = False) -> bytes:
    import zipfile

    from PIL import Image

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for i in range(count):
            picture = io.BytesIO()
            Image.new("RGB", (4, 3), (i % 256, 0, 0)).save(picture, "PNG")
            archive.writestr(f"img{i}.png", picture.getvalue())
        if bad_last:
            archive.writestr("broken.png", b"not an image")
    return out.getvalue()


def uploads(project: Project) -> list[str]:
    folder = get_settings().media_dir / "upload" / str(project.id)
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def journals() -> list[Path]:
    folder = get_settings().media_dir / ".importing"
    return list(folder.iterdir()) if folder.exists() else []


KILLED_MEDIA_IMPORT = """
import io, os, signal, sys
from labelkit import importers
from labelkit.db import session_scope
from labelkit.importers import writer
from labelkit.models import User
from sqlmodel import select

class Killed(writer.TaskWriter):
    def flush(self):  # every file is written; the tasks never commit
        os.kill(os.getpid(), signal.SIGKILL)

importers.TaskWriter = Killed
content = open(sys.argv[3], "rb").read()
with session_scope() as s:
    owner = s.exec(select(User).where(User.email == sys.argv[2])).one()
    importers.import_sources(s, owner, int(sys.argv[1]), [("pictures.zip", io.BytesIO(content), len(content))])
"""


def test_a_refused_media_import_leaves_no_files_and_no_journal(factory) -> None:
    from labelkit.errors import InvalidInput

    manager = factory.user(Role.MANAGER)
    project = factory.project(manager, config=IMAGES)
    content = images_zip(3, bad_last=True)
    with pytest.raises(InvalidInput, match=r"broken\.png"), lkdb.session_scope() as s:
        importers.import_sources(s, manager, project.id, [("p.zip", io.BytesIO(content), len(content))])
    assert uploads(project) == [] and journals() == []


def test_media_of_an_import_killed_before_its_commit_are_removed_at_the_next_start(factory, tmp_path: Path) -> None:
    from labelkit.ops.startup import prepare

    manager = factory.user(Role.MANAGER, email="media@example.com")
    project = factory.project(manager, config=IMAGES)
    kept = images_zip(2)
    with lkdb.session_scope() as s:  # an earlier import that committed: its files stay
        importers.import_sources(s, manager, project.id, [("kept.zip", io.BytesIO(kept), len(kept))])
    before = uploads(project)
    assert len(before) == 2 and journals() == []

    archive = tmp_path / "pictures.zip"
    archive.write_bytes(images_zip(30))
    env = {**os.environ, "LABELKIT_DATA_DIR": str(get_settings().data_dir),
           "LABELKIT_DATABASE_URL": get_settings().resolved_database_url}
    done = subprocess.run([sys.executable, "-c", KILLED_MEDIA_IMPORT, str(project.id), "media@example.com", str(archive)],
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert len(uploads(project)) == 32 and len(journals()) == 1  # the killed import's files are on disk

    prepare()  # what `labelkit serve` does first
    assert uploads(project) == before and journals() == []
    with lkdb.session_scope(write=False) as s:
        assert s.exec(select(func.count()).select_from(Task).where(Task.project_id == project.id)).one() == 2
    again = archive.read_bytes()
    with lkdb.session_scope() as s:
        assert importers.import_sources(s, manager, project.id, [("pictures.zip", io.BytesIO(again), len(again))]).created == 30
    assert len(uploads(project)) == 32 and journals() == []


def test_a_sweep_leaves_a_running_import_alone(factory) -> None:
    from labelkit.importers import journal

    manager = factory.user(Role.MANAGER)
    project = factory.project(manager, config=IMAGES)
    with lkdb.session_scope() as s:
        running = journal.Journal(s, project.id, [])  # held by this (live) import
        path = local_upload(project.id, "in-flight.png")
        with lkdb.session_scope() as other:
            assert journal._sweep(other) == 0
        assert Path(path).exists() and journals() == [running.path]
        running.close()
    assert journals() == []


def local_upload(project_id: int, name: str) -> str:
    from labelkit.storage import local

    return str(local.resolve(local.save_upload(project_id, name, b"\x89PNG....")))


# An S3 store or a model server that stops answering


@pytest.fixture
def own_s3():
    """An S3 store of this test alone: the test stops it."""
    from tests.s3server import SeaweedS3

    server = SeaweedS3()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_an_s3_store_that_stops_gives_clear_messages_and_labeling_goes_on(factory, own_s3, private_urls_allowed) -> None:
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from labelkit import cloud
    from labelkit.cloud import links
    from labelkit.cloud.sync import sync
    from labelkit.labeling import queue
    from labelkit.server import routes
    from labelkit.storage import s3
    from tests.unit.test_s3_storage import add, fields, png

    admin = factory.user(Role.ADMIN)
    project = factory.project(admin, config=IMAGES)
    annotator = factory.user()
    factory.member(project, annotator, Role.ANNOTATOR)
    own_s3.client().create_bucket(Bucket="pictures")
    for name in ("a", "b"):
        own_s3.client().put_object(Bucket="pictures", Key=f"in/{name}.png", Body=png("red"))
    source = add(admin, project, fields(own_s3, "pictures", prefix="in/", pattern="*.png", presign=False))
    target = add(admin, project, fields(own_s3, "pictures", kind=cloud.TARGET, prefix="out/"))
    with lkdb.session_scope() as s:
        assert sync(s, admin, source).tasks == 2

    own_s3.stop()  # the store goes away

    with pytest.raises(s3.S3Error, match="cannot be reached"), lkdb.session_scope() as s:
        sync(s, admin, source)
    with lkdb.session_scope() as s:  # labeling goes on: the queue, the media link, the submit
        task = queue.claim_next(s, annotator, project.id).task
        link = links.presigned_media_url(s, annotator, project.id, task.data["image"])
        outcome = submissions.submit(s, annotator, task.id, [
            {"from_name": "kind", "to_name": "image", "type": "choices", "value": {"choices": ["Cat"]}}])
    assert outcome.message == "Submitted."
    assert submitted(project) == 1
    with lkdb.session_scope(write=False) as s:
        assert s.get(Project, project.id).task_count == 2
        kept = {row["id"]: row["last_error"] for row in cloud.list_storages(s, admin, project.id)}
    assert "cannot be reached" in kept[target]  # the target write failed; its error is kept for the manager

    media = TestClient(Starlette(routes=routes), base_url="http://localhost").get(link)
    assert media.status_code == 502 and "cannot be reached" in media.text  # not a 404, not a 500


def test_a_model_server_that_stops_gives_a_notice_and_labeling_goes_on(factory, monkeypatch) -> None:
    from labelkit import ml
    from labelkit.errors import LabelkitError
    from labelkit.labeling import queue
    from labelkit.models import MLBackend
    from tests.mlserver import Running, TestModelServer
    from tests.unit.test_ml_backends import wait_for

    monkeypatch.setenv("LABELKIT_ALLOW_PRIVATE_URLS", "true")
    get_settings.cache_clear()
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin, config=CONFIG)
    factory.tasks(project, admin, [{"text": "good"}, {"text": "bad"}])
    model = TestModelServer()
    running = Running(model.app())
    with running, lkdb.session_scope() as s:
        backend = ml.connect(s, admin, project.id, ml.BackendFields(url=running.url, interactive=True))
    # the server is gone now (connection refused)

    with pytest.raises(LabelkitError, match=re.escape(running.url)), lkdb.session_scope() as s:
        ml.predict(s, admin, project.id)
    with lkdb.session_scope() as s:
        task = queue.claim_next(s, admin, project.id).task
        found, notice = ml.interactive_prediction(s, admin, s.get(Project, project.id), s.get(Task, task.id))
    assert found is None and "label without" in notice
    with lkdb.session_scope() as s:
        assert submissions.submit(s, admin, task.id, POSITIVE).message == "Submitted."
    assert submitted(project) == 1

    def error_kept() -> bool:
        with lkdb.session_scope(write=False) as s:
            return "was not delivered" in s.get(MLBackend, backend.id).last_error

    wait_for(error_kept)  # the webhook of the submit failed in the background, and says so
