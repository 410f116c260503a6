"""Fixtures shared by every test: a real database (SQLite file and PostgreSQL), settings
pointing at a throwaway data dir, and factories for users, projects and tasks.

PostgreSQL: LABELKIT_TEST_POSTGRES_URL (a server URL ending in a database name that
may be created, as .ci/run sets it), else a throwaway server started here with the
Debian binaries. Set LABELKIT_TEST_SKIP_POSTGRES=1 to run on SQLite only.
S3: one SeaweedFS on loopback for the session (`s3server`), a new bucket per test (`bucket`)."""

from __future__ import annotations

import io
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import SQLModel

from labelkit import db as lkdb
from labelkit.models import Role
from labelkit.settings import get_settings
from tests.s3server import SeaweedS3
from tests.support import BACKENDS, PostgresServer, create_database


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A URL of a PostgreSQL server database we may create other databases from."""
    url = os.environ.get("LABELKIT_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    server = PostgresServer()
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="session")
def migrated_postgres(postgres_server_url: str) -> str:
    url = create_database(postgres_server_url, f"labelkit_test_{os.getpid()}")
    engine = lkdb.make_engine(url)
    lkdb.migrate(engine)
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "labelkit.db"
    engine = lkdb.make_engine(f"sqlite:///{path}")
    lkdb.migrate(engine)
    engine.dispose()
    return path


def _truncate(url: str) -> None:
    engine = lkdb.make_engine(url)
    names = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The long tests (browsers, servers: the e2e marker) first. .ci/run spreads whole files
    over pytest-xdist's workers in this order, so the many short ones fill in at the end
    instead of one long file running alone on one core."""
    items.sort(key=lambda item: item.get_closest_marker("e2e") is None)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test that uses the database runs on SQLite and on PostgreSQL, but those marked
    `one_database`: they render or check something the database does not change (the SQL
    under them is tested on both elsewhere), so SQLite, the embedded default, is enough."""
    if "database_url" in metafunc.fixturenames:
        one = metafunc.definition.get_closest_marker("one_database") is not None
        metafunc.parametrize("database_url", BACKENDS[:1] if one else BACKENDS, indirect=True)


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database: a fresh SQLite file, or the PostgreSQL test database truncated."""
    if request.param == "sqlite":
        path = tmp_path / "labelkit.db"
        shutil.copyfile(request.getfixturevalue("migrated_sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("migrated_postgres")
    _truncate(url)
    return url


@pytest.fixture
def settings(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """labelkit configured for this test: its own data dir and database."""
    monkeypatch.setenv("LABELKIT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LABELKIT_DATABASE_URL", database_url)
    monkeypatch.setenv("LABELKIT_ENV", "test")
    monkeypatch.setenv("LABELKIT_TEST_CHEAP_PASSWORD_HASHES", "true")  # argon2 at its lowest cost
    for key in ("LABELKIT_ADMIN_EMAIL", "LABELKIT_ADMIN_PASSWORD", "LABELKIT_OPEN_SIGNUP_DOMAINS", "LABELKIT_BASE_URL",
                "LABELKIT_SMTP_HOST", "LABELKIT_SMTP_USER", "LABELKIT_SMTP_PASSWORD", "LABELKIT_SMTP_FROM"):
        monkeypatch.delenv(key, raising=False)
    get_settings.cache_clear()
    lkdb._engine_for.cache_clear()
    yield get_settings()
    lkdb.get_engine().dispose()
    lkdb._engine_for.cache_clear()
    get_settings.cache_clear()


@pytest.fixture
def smtp_server(settings, monkeypatch: pytest.MonkeyPatch):
    """A real SMTP server on 127.0.0.1 (aiosmtpd), and labelkit set up to mail through it."""
    from tests.smtpserver import SmtpServer

    server = SmtpServer().start()
    monkeypatch.setenv("LABELKIT_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("LABELKIT_SMTP_PORT", str(server.port))
    monkeypatch.setenv("LABELKIT_SMTP_STARTTLS", "false")  # plain SMTP on loopback
    monkeypatch.setenv("LABELKIT_SMTP_FROM", "labelkit@example.com")
    get_settings.cache_clear()
    try:
        yield server
    finally:
        server.stop()
        get_settings.cache_clear()


@pytest.fixture
def session(settings):
    """A session in a writing transaction, committed when the test ends."""
    with lkdb.session_scope() as s:
        yield s


@pytest.fixture
def factory(settings):
    return Factory()


class Factory:
    """Builds users, projects and tasks, each in its own committed transaction."""

    def __init__(self) -> None:
        self.counter = 0

    def user(self, role: Role = Role.ANNOTATOR, email: str | None = None, password: str = "correct horse battery", name: str = ""):
        from labelkit.auth.accounts import create_user

        self.counter += 1
        email = email or f"{role}{self.counter}@example.com"
        with lkdb.session_scope() as s:
            return create_user(s, email, name=name or email.split("@")[0], password=password, role=role)

    def project(self, owner, config: str = None, overlap: int = 1, title: str | None = None, sampling: str = "sequential"):  # noqa: RUF013
        from labelkit.config.templates import template
        from labelkit.projects.crud import ProjectFields, create_project

        self.counter += 1
        fields = ProjectFields(
            title=title or f"Project {self.counter}",
            label_config=config or template("sentiment").config,
            overlap=overlap,
            sampling=sampling,
            instructions="Be careful.",
        )
        with lkdb.session_scope() as s:
            return create_project(s, owner, fields)

    def member(self, project, user, role: Role) -> None:
        from labelkit.models import Membership

        with lkdb.session_scope() as s:
            s.add(Membership(project_id=project.id, user_id=user.id, role=role))

    def tasks(self, project, owner, rows: list[dict] | int, filename: str = "tasks.json"):
        from labelkit import importers

        if isinstance(rows, int):
            rows = [{"text": f"Task text number {i}"} for i in range(1, rows + 1)]
        payload = json.dumps(rows).encode()
        with lkdb.session_scope() as s:
            return importers.import_sources(s, owner, project.id, [(filename, io.BytesIO(payload), len(payload))])


@pytest.fixture(scope="session")
def s3server() -> Iterator[SeaweedS3]:
    server = SeaweedS3()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def private_urls_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The admin setting that lets the server reach private addresses, for tests whose S3
    store (or model server) is on loopback."""
    monkeypatch.setenv("LABELKIT_ALLOW_PRIVATE_URLS", "true")
    get_settings.cache_clear()


@pytest.fixture
def bucket(s3server: SeaweedS3, private_urls_allowed) -> str:
    """A new bucket on the test S3 server (on loopback: private addresses are allowed)."""
    name = f"lk-{uuid.uuid4().hex[:12]}"
    s3server.client().create_bucket(Bucket=name)
    return name
