"""`labelkit backup PATH` while the portal keeps writing, and restoring from what it wrote.

SQLite: the copy is one consistent moment (every import is all in or all out), opens on its
own, and `LABELKIT_DATA_DIR=PATH` serves it. PostgreSQL: pg_dump's file restores with
pg_restore into an empty database. Both: media and the signing key come along; a bad
destination changes nothing."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, text
from sqlmodel import select

from labelkit import db as lkdb
from labelkit.models import Role, Task
from labelkit.ops.backup import BackupError, backup
from labelkit.settings import get_settings
from labelkit.storage import local
from tests.support import BACKENDS, create_database, unavailable

BATCH = 7  # tasks per import: a consistent copy holds a multiple of it
MEDIA = b"\x89PNG not really an image"


@pytest.fixture
def portal(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A data dir as `labelkit serve` leaves it: on SQLite the database inside it (the
    default), on PostgreSQL a fresh migrated database; media and a generated signing key."""
    data = tmp_path / "data"
    data.mkdir()
    if request.param == "sqlite":  # parametrized by each test (indirect)
        shutil.copyfile(request.getfixturevalue("migrated_sqlite_template"), data / "labelkit.db")
        monkeypatch.delenv("LABELKIT_DATABASE_URL", raising=False)
    else:
        url = create_database(request.getfixturevalue("postgres_server_url"), f"lk_backup_{uuid.uuid4().hex[:8]}")
        engine = lkdb.make_engine(url)
        lkdb.migrate(engine)
        engine.dispose()
        monkeypatch.setenv("LABELKIT_DATABASE_URL", url)
    monkeypatch.setenv("LABELKIT_DATA_DIR", str(data))
    monkeypatch.setenv("LABELKIT_ENV", "test")
    monkeypatch.delenv("LABELKIT_SECRET_KEY", raising=False)
    get_settings.cache_clear()
    lkdb._engine_for.cache_clear()
    get_settings().signing_key()  # writes data/secret_key, as prepare() does
    yield request.param
    lkdb.get_engine().dispose()
    lkdb._engine_for.cache_clear()
    get_settings.cache_clear()


def _task_count(url: str | None = None) -> int:
    engine = lkdb.make_engine(url) if url else lkdb.get_engine()
    with lkdb.session_scope(engine, write=False) as s:
        count = s.exec(select(func.count()).select_from(Task)).one()
    if url:
        engine.dispose()
    return count


def _project_with_media(factory):
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin, title="Backed up")
    media = local.save_upload(project.id, "photo.png", MEDIA)
    factory.tasks(project, admin, [{"text": f"first {i}", "image": media} for i in range(BATCH)])
    return admin, project, media


WRITER = """
import io, json, pathlib, sys
from labelkit import importers
from labelkit.db import session_scope
from labelkit.models import User

project_id, admin_id, stop, batch = int(sys.argv[1]), int(sys.argv[2]), pathlib.Path(sys.argv[3]), int(sys.argv[4])
done = 0
while not stop.exists():
    rows = json.dumps([{"text": f"batch {done} row {i}"} for i in range(batch)]).encode()
    with session_scope() as s:
        importers.import_sources(s, s.get(User, admin_id), project_id, [("tasks.json", io.BytesIO(rows), len(rows))])
    done += 1
    print(done, flush=True)
"""


def _backups_while_writing(project, admin, tmp_path: Path, copies: int) -> list:
    """Backups taken while another process (as a running server would) imports BATCH
    tasks at a time, as fast as it can."""
    stop, log = tmp_path / "stop", tmp_path / "writer.log"
    with log.open("w") as out:
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(project.id), str(admin.id), str(stop), str(BATCH)],
                                  stdout=out, stderr=subprocess.STDOUT)
    results = []
    try:
        deadline = time.monotonic() + 120
        while len(log.read_text().split()) < 2:  # it has written, and goes on writing
            assert writer.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the writer did not start"
            time.sleep(0.05)
        for n in range(copies):
            results.append(backup(tmp_path / f"backup-{n}"))
        assert writer.poll() is None, log.read_text()  # still writing when the last copy was done
    finally:
        stop.touch()
        writer.wait(60)
    assert writer.returncode == 0, log.read_text()
    return results


EVERY = pytest.mark.parametrize("portal", BACKENDS, indirect=True)


@pytest.mark.parametrize("portal", ["sqlite"], indirect=True)
def test_sqlite_backup_while_writes_go_on_is_consistent_and_restores(portal, tmp_path: Path) -> None:
    from tests.conftest import Factory

    factory = Factory()
    admin, project, media = _project_with_media(factory)
    results = _backups_while_writing(project, admin, tmp_path, copies=3)
    final_count = _task_count()

    for result in results:
        copy = result.path / "labelkit.db"
        assert result.database == "sqlite" and result.database_file == copy
        assert sorted(p.name for p in result.path.iterdir()) == ["labelkit.db", "media", "secret_key"]
        assert not (result.path / "labelkit.db-wal").exists()  # one self-contained file
        with sqlite3.connect(copy) as con:
            assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            count = con.execute("SELECT count(*) FROM tasks").fetchone()[0]
        # Every import is in the copy whole or not at all, and nothing before the backup is missing.
        assert count % BATCH == 0 and BATCH * 2 <= count <= final_count
        assert (result.path / "secret_key").read_text() == (get_settings().data_dir / "secret_key").read_text()
        assert (result.path / "media" / "upload" / media.removeprefix(local.UPLOAD_PREFIX)).is_file()
        assert result.media_files >= 1
    assert not list(tmp_path.glob(".backup-*.partial-*"))

    # Restore: another process pointed at the backup as its data dir serves what was copied.
    restored = results[-1].path
    expected = sqlite3.connect(restored / "labelkit.db").execute("SELECT count(*) FROM tasks").fetchone()[0]
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABELKIT_")}
    env |= {"LABELKIT_DATA_DIR": str(restored), "LABELKIT_ENV": "test"}
    listed = subprocess.run([sys.executable, "-m", "labelkit.cli", "project", "list", "--json"], env=env,
                            check=False, capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    rows = {r["title"]: r for r in json.loads(listed.stdout)}
    assert rows["Backed up"]["tasks"] == expected
    # The restored portal reads the same media file and signs links with the same key.
    settings_env = {**os.environ, **env}
    script = (
        "from labelkit.storage import local; from labelkit.settings import get_settings; "
        f"print(local.resolve({media!r}).read_bytes().hex()); print(get_settings().signing_key().decode())"
    )
    signed = subprocess.run([sys.executable, "-c", script], env=settings_env, check=False, capture_output=True, text=True, timeout=120)
    assert signed.returncode == 0, signed.stderr
    content, key = signed.stdout.split()
    assert bytes.fromhex(content) == MEDIA
    assert key == (get_settings().data_dir / "secret_key").read_text().strip()


@pytest.mark.parametrize("portal", [b for b in BACKENDS if b == "postgresql"], indirect=True)
def test_postgresql_backup_while_writes_go_on_restores_with_pg_restore(portal, tmp_path: Path, postgres_server_url: str) -> None:
    if shutil.which("pg_dump") is None:
        unavailable("pg_dump is not installed")
    from tests.conftest import Factory

    factory = Factory()
    admin, project, media = _project_with_media(factory)
    results = _backups_while_writing(project, admin, tmp_path, copies=1)
    result = results[0]
    assert result.database == "postgresql"
    assert sorted(p.name for p in result.path.iterdir()) == ["labelkit.pgdump", "media", "secret_key"]
    assert (result.path / "media" / "upload" / media.removeprefix(local.UPLOAD_PREFIX)).is_file()

    target = create_database(postgres_server_url, f"lk_restored_{uuid.uuid4().hex[:8]}")
    plain = target.replace("+psycopg2", "")
    done = subprocess.run(["pg_restore", "--no-owner", f"--dbname={plain}", str(result.database_file)],
                          check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    count = _task_count(target)
    assert count % BATCH == 0 and count >= BATCH * 2 and count <= _task_count()
    engine = lkdb.make_engine(target)
    with engine.connect() as conn:  # the restored schema is at the same Alembic revision
        restored_rev = conn.execute(text("select version_num from alembic_version")).scalar()
    engine.dispose()
    with lkdb.get_engine().connect() as conn:
        assert restored_rev == conn.execute(text("select version_num from alembic_version")).scalar()


@EVERY
def test_a_bad_destination_changes_nothing(portal, tmp_path: Path) -> None:
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "keep.txt").write_text("mine")
    with pytest.raises(BackupError, match="already exists"):
        backup(occupied)
    assert [p.name for p in occupied.iterdir()] == ["keep.txt"]
    with pytest.raises(BackupError, match="not a folder"):
        backup(tmp_path / "missing" / "backup")
    assert not (tmp_path / "missing").exists()
    # An empty folder made for it is fine.
    (tmp_path / "empty").mkdir()
    assert backup(tmp_path / "empty").path == tmp_path / "empty"


@pytest.mark.parametrize("portal", [b for b in BACKENDS if b == "postgresql"], indirect=True)
def test_postgresql_without_pg_dump_says_what_to_run(portal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(BackupError, match="pg_dump --format=custom") as caught:
        backup(tmp_path / "backup")
    assert "postgresql://postgres@127.0.0.1:" in str(caught.value)  # the server, and no password
    assert not (tmp_path / "backup").exists()
    assert not list(tmp_path.glob(".backup.partial-*"))


@EVERY
def test_the_command_line(portal, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from labelkit.cli import main

    runner = CliRunner()
    done = runner.invoke(main, ["backup", str(tmp_path / "nightly")])
    assert done.exit_code == 0, done.output
    assert f"to {tmp_path / 'nightly'}" in done.output and "Restore: point LABELKIT_DATA_DIR" in done.output
    again = runner.invoke(main, ["backup", str(tmp_path / "nightly")])
    assert again.exit_code == 1 and "already exists" in again.output
