"""The engine and sessions. SQLite gets WAL, foreign keys and a busy timeout; writers that
must not interleave (the queue) ask for an immediate transaction with `write_lock`."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from sqlalchemy import event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlmodel import Session, create_engine

from labelkit.settings import get_settings

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS_DIR = ROOT / "db"
MIGRATION_LOCK = 0x6C6B_6D69  # "lkmi": the advisory lock key servers take to migrate in turn


def is_sqlite(engine_or_session: Engine | Session) -> bool:
    bind = engine_or_session.get_bind() if isinstance(engine_or_session, Session) else engine_or_session
    return bind.dialect.name == "sqlite"


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # UTC sessions: timestamps read as text (exports) come out in UTC.
        connect_args = {"options": "-c timezone=UTC"} if parsed.get_backend_name() == "postgresql" else {}
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, connect_args=connect_args)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Take over BEGIN from pysqlite so a transaction can start IMMEDIATE.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@lru_cache
def _engine_for(url: str) -> Engine:
    return make_engine(url)


def get_engine() -> Engine:
    return _engine_for(get_settings().resolved_database_url)


@contextmanager
def session_scope(engine: Engine | None = None, *, write: bool = True) -> Iterator[Session]:
    """One unit of work: commit when the block ends, roll back on an error.

    On SQLite a writing scope begins IMMEDIATE, so it never has to upgrade a read
    snapshot to a write (which fails under concurrency); keep such scopes short.
    Long reads (exports, dashboards) pass write=False.
    """
    engine = engine or get_engine()
    if write and is_sqlite(engine):
        engine = engine.execution_options(sqlite_immediate=True)
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def write_lock(session: Session) -> None:
    """Make sure this transaction is serialized with other writers from its start.

    SQLite: the transaction must begin IMMEDIATE. PostgreSQL: nothing here; callers
    lock the rows they change (FOR UPDATE).
    """
    if not is_sqlite(session):
        return
    if not session.in_transaction():
        session.connection(execution_options={"sqlite_immediate": True})
        return
    if not session.connection().get_execution_options().get("sqlite_immediate"):
        raise RuntimeError("a queue write on SQLite needs a writing session_scope()")


def migrate(engine: Engine | None = None, revision: str = "head") -> None:
    """Apply Alembic migrations (the only way the schema changes). Several servers starting
    at once on one PostgreSQL take turns (an advisory lock held until the upgrade commits):
    the first upgrades, the others then find the schema at head."""
    from alembic import command

    engine = engine or get_engine()
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        cfg = alembic_config(conn)
        command.upgrade(cfg, revision)


def startup_lock(session: Session) -> None:
    """Servers starting at once on one PostgreSQL take turns through their first-start work
    (the first admin from LABELKIT_ADMIN_EMAIL is made once), until this transaction ends."""
    if not is_sqlite(session):
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})


def alembic_config(connection=None):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


T = TypeVar("T")
UNAVAILABLE = "The database is not reachable right now; nothing was changed. Try again in a moment."


def is_unavailable(error: BaseException) -> bool:
    """Whether an error means the database cannot be reached (down, restarting, a dropped or
    refused connection, SQLite locked), as opposed to a statement it refused."""
    return isinstance(error, (OperationalError, DisconnectionError))


def retry_unavailable(
    work: Callable[[Session], T],
    *,
    attempts: int = 40,
    wait: float = 0.5,
    max_wait: float = 3.0,
    on_retry: Callable[[int, BaseException], None] | None = None,
    engine: Engine | None = None,
) -> T:
    """work(session) in its own session_scope(), again on a fresh connection while the
    database is unreachable: `attempts` tries at most, waiting `wait` seconds, doubling up to
    `max_wait`. Each failed try rolled back, so work must be safe to repeat (one transaction).
    on_retry(attempt, error) is called before each wait, e.g. to say "retrying" on a page.
    Raises the last OperationalError/DisconnectionError when the database stays away."""
    for attempt in range(1, attempts + 1):
        try:
            with session_scope(engine) as session:
                return work(session)
        except (OperationalError, DisconnectionError) as error:
            if attempt == attempts:
                raise
            if on_retry is not None:
                on_retry(attempt, error)
            time.sleep(wait)
            wait = min(wait * 2, max_wait)
    raise AssertionError("unreachable")  # pragma: no cover


def ping(engine: Engine | None = None) -> bool:
    with (engine or get_engine()).connect() as conn:
        conn.execute(text("select 1"))
    return True
