"""`labelkit backup PATH`: a copy of everything a portal keeps, taken while it runs.

PATH becomes a new data dir, so restoring is pointing LABELKIT_DATA_DIR at it (or copying
it back):

- the database: on SQLite, `labelkit.db` made with SQLite's online backup API (one
  consistent snapshot, while annotators keep writing; WAL readers never block writers);
  on PostgreSQL, `labelkit.pgdump` written by pg_dump in its custom format (restore with
  pg_restore), when pg_dump is on PATH; without it the error says which command to run;
- `media/` (uploads), copied after the database, so every file the snapshot names was
  already there (an upload is written before its task is committed);
- `secret_key`, the generated signing key, when there is one (used when LABELKIT_SECRET_KEY
  is not set; signed links and the encrypted S3 keys of cloud storages depend on it).

The copy is written beside PATH under a temporary name and renamed when complete, so a
failed backup never leaves something that looks like a backup. An existing PATH is never
overwritten. Nothing here migrates or changes the source."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from labelkit.errors import InvalidInput
from labelkit.settings import Settings, get_settings

SQLITE_FILE = "labelkit.db"
PG_DUMP_FILE = "labelkit.pgdump"


class BackupError(InvalidInput):
    """A backup that could not be made; nothing was written at the destination."""


@dataclass
class BackupResult:
    path: Path
    database: str  # "sqlite" or "postgresql"
    database_file: Path
    database_bytes: int
    media_files: int
    secret_key: bool

    def summary(self) -> str:
        size = f"{self.database_bytes / 1_000_000:.1f} MB"
        kept = ", the signing key" if self.secret_key else ""
        return (
            f"Backed up the {self.database} database ({self.database_file.name}, {size}), "
            f"{self.media_files} media file(s){kept} to {self.path}."
        )


def backup(dest: Path | str, settings: Settings | None = None) -> BackupResult:
    settings = settings or get_settings()
    dest = Path(dest).expanduser().absolute()
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BackupError(f"{dest} already exists: give a new path (a backup never overwrites anything).")
    if not dest.parent.is_dir():
        raise BackupError(f"{dest.parent} is not a folder: create it first.")
    url = make_url(settings.resolved_database_url)
    backend = url.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise BackupError(f"labelkit backup knows SQLite and PostgreSQL, not {backend}.")

    work = dest.parent / f".{dest.name}.partial-{uuid.uuid4().hex[:8]}"
    work.mkdir(mode=0o700)
    try:
        if backend == "sqlite":
            database_file = _sqlite(Path(url.database or ""), work / SQLITE_FILE)
        else:
            database_file = _postgresql(url, work / PG_DUMP_FILE)
        media_files = _media(settings.media_dir, work / "media")
        key = settings.data_dir / "secret_key"
        kept_key = key.is_file()
        if kept_key:
            shutil.copy2(key, work / "secret_key")
            (work / "secret_key").chmod(0o600)
        if dest.exists():
            dest.rmdir()  # the empty folder given as the destination
        work.rename(dest)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    final = dest / database_file.name
    return BackupResult(dest, backend, final, final.stat().st_size, media_files, kept_key)


def _sqlite(source: Path, target: Path) -> Path:
    if not source.is_file():
        raise BackupError(f"There is no database at {source}: check LABELKIT_DATA_DIR or LABELKIT_DATABASE_URL.")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(target)
    try:
        # pages=-1: the whole database in one step, under one read transaction, so the copy
        # is one consistent moment even while the server keeps committing (a stepped backup
        # starts over after every write by another connection).
        src.backup(dst, pages=-1)
        # The copy is one self-contained file: no -wal beside it.
        dst.execute("PRAGMA journal_mode=DELETE")
        problem = dst.execute("PRAGMA quick_check").fetchone()[0]
        if problem != "ok":
            raise BackupError(f"The copy of the database failed its check: {problem}")
    except sqlite3.Error as e:
        raise BackupError(f"Cannot copy the SQLite database {source}: {e}") from None
    finally:
        dst.close()
        src.close()
    return target


def pg_dump_command(url: URL) -> tuple[list[str], dict[str, str]]:
    """pg_dump's arguments and environment for a database URL: the password goes in
    PGPASSWORD, never on the command line (where `ps` shows it)."""
    env = {"PGDATABASE": url.database or ""}
    for key, value in (("PGHOST", url.host), ("PGPORT", url.port), ("PGUSER", url.username), ("PGPASSWORD", url.password)):
        if value:
            env[key] = str(value)
    if "sslmode" in url.query:
        env["PGSSLMODE"] = str(url.query["sslmode"])
    return ["pg_dump", "--format=custom", "--no-owner", "--no-privileges"], env


def _postgresql(url: URL, target: Path) -> Path:
    args, env = pg_dump_command(url)
    safe = url.render_as_string(hide_password=True).replace("+psycopg2", "")
    if shutil.which("pg_dump") is None:
        raise BackupError(
            "The database is PostgreSQL and pg_dump is not installed here. Install the PostgreSQL client "
            f"(the same major version as the server, or newer) and run labelkit backup again, or run "
            f"pg_dump --format=custom --file=labelkit.pgdump '{safe}' yourself, then copy the data dir's "
            "media/ and secret_key beside it."
        )
    done = subprocess.run([*args, f"--file={target}"], env={**os.environ, **env}, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"pg_dump failed for {safe}: {done.stderr.strip() or done.returncode}")
    return target


def _media(source: Path, target: Path) -> int:
    if not source.is_dir():
        return 0
    shutil.copytree(source, target, symlinks=True)
    return sum(1 for p in target.rglob("*") if p.is_file())
