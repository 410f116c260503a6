"""The servers the browser journeys run against: `labelkit serve` on loopback with its
database (SQLite, or a new PostgreSQL database) and its first admin, ways into what it
stored and to set up a test's own data, and the OpenID Connect provider people sign in at.
conftest.py hands them out as fixtures and says which test gets which."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from labelkit.db import make_engine, session_scope
from labelkit.models import Membership, Role
from labelkit.settings import get_settings
from tests.support import BACKENDS, create_database, free_port

ROOT = Path(__file__).resolve().parents[2]
ADMIN_EMAIL, ADMIN_NAME, ADMIN_PASSWORD = "admin@example.com", "Ada Admin", "admin password"
PASSWORD = "a long enough password"  # what server.person() gives people unless told otherwise
START_TIMEOUT = 90  # seconds for `labelkit serve` to answer /_stcore/health

# The journeys whose point involves SQL run on every database: pytestmark = on_both_databases.
on_both_databases = pytest.mark.parametrize("server", BACKENDS, indirect=True)


def labelkit_command() -> list[str]:
    """The `labelkit` console script of this interpreter (what an operator runs)."""
    script = Path(sys.executable).with_name("labelkit")
    return [str(script)] if script.exists() else [sys.executable, "-m", "labelkit.cli"]


def unique_email(name: str) -> str:
    """An address nobody on a shared server has yet, readable as the person's: ann-1f2e3d@example.com."""
    return f"{re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-') or 'someone'}-{secrets.token_hex(3)}@example.com"


@dataclass
class Person:
    email: str
    name: str
    password: str


@dataclass
class Server:
    """A running `labelkit serve`, its environment, and ways into its database."""

    url: str  # what the browser opens: http://localhost:<port>
    port: int
    env: dict
    workdir: Path
    log: Path
    database_url: str
    backend: str
    issuer: str | None = None  # the OIDC provider in its secrets.toml, if any
    process: subprocess.Popen | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)  # the admin's API token, made on first use

    def cli(self, *args: str, password: str | None = None, check: bool = True) -> str:
        """Run `labelkit ARGS` with the server's environment; returns its stdout."""
        env = dict(self.env)
        if password is not None:
            env["LABELKIT_PASSWORD"] = password
        done = subprocess.run([*labelkit_command(), *args], env=env, cwd=self.workdir,
                              capture_output=True, text=True, timeout=120, check=False)
        if check:
            assert done.returncode == 0, f"labelkit {' '.join(args)} exited {done.returncode}:\n{done.stdout}{done.stderr}"
        return done.stdout.strip()

    @contextmanager
    def db(self) -> Iterator[Session]:
        """A read-only look at what the server stored (labelkit's own models)."""
        engine = make_engine(self.database_url)
        try:
            with Session(engine) as session:
                yield session
        finally:
            engine.dispose()

    @contextmanager
    def services(self) -> Iterator[Session]:
        """labelkit's services in this process, configured as the server is (its database,
        data dir, keys and cheap test hashes): a session whose work is committed at the end."""
        with pytest.MonkeyPatch.context() as mp:
            for key in [k for k in os.environ if k.startswith("LABELKIT_")]:
                mp.delenv(key)
            for key, value in self.env.items():
                if key.startswith("LABELKIT_"):
                    mp.setenv(key, value)
            mp.setenv("LABELKIT_DATABASE_URL", self.database_url)
            get_settings.cache_clear()
            engine = make_engine(self.database_url)
            try:
                with session_scope(engine) as session:
                    yield session
            finally:
                engine.dispose()
                get_settings.cache_clear()

    def admin_token(self) -> str:
        """The first admin's API token (one per server, made once)."""
        if self.token is None:
            from labelkit.auth.accounts import find_user
            from labelkit.auth.sessions import create_api_token

            with self.services() as db:
                self.token = create_api_token(db, find_user(db, ADMIN_EMAIL), "e2e set-up")
        return self.token

    def api(self, token: str | None = None) -> httpx.Client:
        """A REST API client acting as the admin (or as the owner of `token`)."""
        return httpx.Client(base_url=f"http://127.0.0.1:{self.port}/api", timeout=120,
                            headers={"Authorization": f"Token {token or self.admin_token()}"})

    def project(self, title: str, config: str, rows: list[dict] | None = None, **fields: object) -> int:
        """A new project of the admin's (POST /api/projects), with `rows` imported as its tasks."""
        with self.api() as api:
            made = api.post("/projects", json={"title": title, "label_config": config, **fields})
            assert made.status_code == 201, made.text
            project_id = made.json()["id"]
            if rows:
                imported = api.post(f"/projects/{project_id}/import", json=rows)
                assert imported.status_code == 201 and imported.json()["task_count"] == len(rows), imported.text
        return project_id

    def person(self, name: str, *, role: Role = Role.ANNOTATOR, email: str | None = None,
               password: str = PASSWORD, projects: dict[int, Role] | None = None) -> Person:
        """A new account (with an address of its own unless `email` says), a member of `projects`."""
        from labelkit.auth.accounts import create_user

        someone = Person(email or unique_email(name), name, password)
        with self.services() as db:
            user = create_user(db, someone.email, name=name, password=password, role=role)
            for project_id, project_role in (projects or {}).items():
                db.add(Membership(project_id=project_id, user_id=user.id, role=project_role))
        return someone

    def invite(self, role: Role, project_id: int | None = None) -> str:
        """An invite link from the admin, as `labelkit invite create` prints it."""
        from labelkit.auth.accounts import find_user
        from labelkit.auth.invites import create_invite, invite_path

        with self.services() as db:
            _, token = create_invite(db, find_user(db, ADMIN_EMAIL), role, project_id=project_id)
        return f"{self.url}{invite_path(token)}"

    def log_size(self) -> int:
        return self.log.stat().st_size if self.log.exists() else 0

    def log_text(self, since: int = 0) -> str:
        if not self.log.exists():
            return ""
        with self.log.open("rb") as f:
            f.seek(since)
            return f.read().decode(errors="replace")

    def launch(self) -> None:
        """`labelkit serve` on the server's port, data dir and database; waits for /_stcore/health."""
        with self.log.open("a") as log:
            self.process = subprocess.Popen(
                [*labelkit_command(), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env=self.env, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT,
            )
        deadline = time.time() + START_TIMEOUT
        while time.time() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/_stcore/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None:
                break
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"labelkit serve did not start on port {self.port}:\n{self.log_text()[-6000:]}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_server(backend: str, postgres_url: str | None = None, secrets: str | None = None,
                 port: int | None = None, settings: dict[str, str] | None = None,
                 database_url: str | None = None) -> Server:
    """`labelkit serve` (which migrates its database), then the first admin in that database.

    The working directory is a fresh temp dir: Streamlit reads .streamlit/secrets.toml
    from there, so `secrets` (an [auth] section) turns OIDC sign-in on. With database_url,
    another server on a database a first one set up (no new database, no first admin)."""
    workdir = Path(tempfile.mkdtemp(prefix=f"labelkit-e2e-{backend}-"))
    port = port or free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABELKIT_", "STREAMLIT_"))}
    env.update(
        LABELKIT_DATA_DIR=str(workdir / "data"),
        LABELKIT_BASE_URL=f"http://localhost:{port}",  # what invite links start with
        PYTHONPATH=str(ROOT),
        LABELKIT_TEST_CHEAP_PASSWORD_HASHES="true",  # argon2 at its lowest cost for test accounts
        **(settings or {}),  # more LABELKIT_* settings
    )
    shared = database_url is not None
    if shared:
        env["LABELKIT_DATABASE_URL"] = database_url
    elif backend == "postgresql":
        assert postgres_url, "the PostgreSQL variant needs postgres_server_url"
        database_url = create_database(postgres_url, f"labelkit_e2e_{port}")
        env["LABELKIT_DATABASE_URL"] = database_url
    else:
        database_url = f"sqlite:///{workdir / 'data' / 'labelkit.db'}"
    if secrets:
        (workdir / ".streamlit").mkdir()
        (workdir / ".streamlit" / "secrets.toml").write_text(secrets)
    server = Server(f"http://localhost:{port}", port, env, workdir, workdir / "server.log", database_url, backend)
    server.launch()
    if not shared:
        from labelkit.auth.accounts import create_user

        with server.services() as db:
            create_user(db, ADMIN_EMAIL, name=ADMIN_NAME, password=ADMIN_PASSWORD, role=Role.ADMIN)
    return server


def drop_database(postgres_url: str, database_url: str) -> None:
    """Drop a server's database; nothing to do when the test session's own PostgreSQL was
    stopped first (session fixtures end in the reverse order they began)."""
    name = database_url.rsplit("/", 1)[1]
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    except OperationalError:
        if os.environ.get("LABELKIT_TEST_POSTGRES_URL"):
            raise  # a server the session did not start: the database is still there
    finally:
        admin.dispose()


@contextmanager
def running_server(request: pytest.FixtureRequest, backend: str, **options) -> Iterator[Server]:
    """A server for a test module; prints its log if a test of the module failed."""
    postgres = request.getfixturevalue("postgres_server_url") if backend == "postgresql" else None
    failed_before = request.session.testsfailed
    server = start_server(backend, postgres, **options)
    try:
        yield server
    finally:
        server.stop()
        if request.session.testsfailed > failed_before:
            print(f"\n--- labelkit serve log ({server.backend}, {server.log}) ---\n{server.log_text()[-6000:]}")
        if postgres:
            drop_database(postgres, server.database_url)
        shutil.rmtree(server.workdir, ignore_errors=True)


# Sign-in through an OpenID Connect provider: the npm package oidc-provider@9 (.ci/run
# installs it into .ci/.cache/oidc; LABELKIT_TEST_OIDC_NODE_MODULES points at its node_modules)
# running oidc_provider.mjs, a copy of /work/shared/recipes/oidc-provider.mjs kept in the
# repository so the tests need nothing outside it. Its development login form takes any
# login name: `kim` signs in as kim@example.com, whose email it says it has verified, except
# for the logins in OIDC_UNVERIFIED.

OIDC_NODE_MODULES = Path(os.environ.get("LABELKIT_TEST_OIDC_NODE_MODULES") or ROOT / ".ci" / ".cache" / "oidc" / "node_modules")
PROVIDER_BUTTON = "Sign in with your identity provider"
UNVERIFIED = "mallory"  # the provider says mallory@example.com is not verified


@contextmanager
def running_oidc_provider() -> Iterator[tuple[int, int]]:
    """(app port, provider port): the provider knows the app's callback before the app starts."""
    if not (OIDC_NODE_MODULES / "oidc-provider" / "package.json").exists():
        pytest.fail(f"oidc-provider is not installed in {OIDC_NODE_MODULES}: run "
                    "`npm install --prefix .ci/.cache/oidc oidc-provider@9` (.ci/run does), "
                    "or point LABELKIT_TEST_OIDC_NODE_MODULES at a node_modules that has it")
    app_port, oidc_port = free_port(), free_port()
    # ESM ignores NODE_PATH: the script must sit next to a node_modules that holds the package.
    folder = Path(tempfile.mkdtemp(prefix="labelkit-oidc-"))
    shutil.copy(Path(__file__).with_name("oidc_provider.mjs"), folder / "provider.mjs")
    (folder / "node_modules").symlink_to(OIDC_NODE_MODULES.resolve(), target_is_directory=True)
    log = folder / "provider.log"
    env = dict(os.environ, OIDC_PORT=str(oidc_port), OIDC_REDIRECT=f"http://localhost:{app_port}/oauth2callback",
               OIDC_UNVERIFIED=UNVERIFIED)
    with log.open("w") as out:
        provider = subprocess.Popen(["node", "provider.mjs"], cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{oidc_port}/.well-known/openid-configuration", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if provider.poll() is not None or time.time() > deadline:
                pytest.fail(f"the OIDC provider did not start:\n{log.read_text()}")
            time.sleep(0.2)
        yield app_port, oidc_port
    finally:
        provider.terminate()
        try:
            provider.wait(timeout=10)
        except subprocess.TimeoutExpired:
            provider.kill()
        shutil.rmtree(folder, ignore_errors=True)


def oidc_secrets(app_port: int, oidc_port: int, cookie_secret: str) -> str:
    """The [auth] section of a secrets.toml that signs in at the provider on oidc_port."""
    return f"""
[auth]
redirect_uri = "http://localhost:{app_port}/oauth2callback"
cookie_secret = "{cookie_secret}"
client_id = "labelkit"
client_secret = "labelkit-secret"
server_metadata_url = "http://localhost:{oidc_port}/.well-known/openid-configuration"
client_kwargs = {{ prompt = "login" }}
"""
