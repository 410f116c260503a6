"""Browser journeys: a real `labelkit serve` on loopback, driven by headless Chromium.

Which databases. Only the journeys whose point involves SQL run on both SQLite and
PostgreSQL: test_journey.py and test_review_journey.py (`pytestmark = on_both_databases`),
test_server_faults.py (its own PostgreSQL variants) and test_multi_server.py (PostgreSQL
only). The others (each data type's labeling, the model journey, OIDC, XSS, the SDK) test
rendering and browser behaviour, and run on SQLite only: the services under them are tested
on both databases in tests/unit.

Which servers. One `labelkit serve` per database for the whole session (`server`), started
the way an operator starts it (`labelkit serve --host 127.0.0.1 --port P`, the first admin
in its database) and shared by every module with default settings; the OIDC modules share
one with the provider in its secrets (`oidc_server`). Modules that need settings of their
own (a model server on loopback, faults, several servers) start their own with
`running_server` or `start_server`. Every server and CLI here hashes passwords cheaply
(LABELKIT_TEST_CHEAP_PASSWORD_HASHES).

Whose data. No test counts on an empty server or on ids: each makes its own project
(`server.project`: the REST API with the admin's token, one call to create and one to
import) and its own people (`server.person`, `server.invite`: labelkit's services in this
process, against the server's database), with no CLI subprocess; test_journey.py keeps the
operator's command line covered (`labelkit project create`, `labelkit import`, `labelkit
invite create`, `labelkit export`).

Acting and reading. Streamlit updates a page element by element: right after an action
that runs the script again, the old run's elements (data-stale="true") and the new ones are
on the page together, so a locator may match both, and a click may land on an element about
to be replaced. So tests act through `click`, `choose`, `pick`, `press`, `fill`, `goto`,
`reload` and `with rerun(page):`, which start on a settled page and wait until the script
run they cause has ended (the page's websocket says when a run begins and ends) and no
stale element is left; and they read through `see`, `heading`, `button` and `fresh`, which
look only at the current run's elements.

Browsers open http://localhost:<port> (cookies are per host name, and the OIDC redirect uses
localhost); nothing here talks to anything but loopback. On a failure the test prints where
the screenshots of its pages went and what its server logged meanwhile."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, WebSocket, expect, sync_playwright
from sqlalchemy import create_engine, text
from sqlmodel import Session
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from labelkit.db import make_engine, session_scope
from labelkit.models import Membership, Role
from labelkit.settings import get_settings
from tests.support import BACKENDS, create_database, free_port

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
ADMIN_EMAIL, ADMIN_NAME, ADMIN_PASSWORD = "admin@example.com", "Ada Admin", "admin password"
PASSWORD = "a long enough password"  # what server.person() gives people unless told otherwise
SESSION_COOKIE = "labelkit_session"
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
    name = database_url.rsplit("/", 1)[1]
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
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


@pytest.fixture(scope="session")
def session_servers() -> Iterator[Callable[[str, str | None], Server]]:
    """(backend, PostgreSQL server URL) -> the session's server on that database, started on
    first use and stopped when the session ends (each test prints its own part of the log)."""
    started: dict[str, Server] = {}
    with ExitStack() as stack:

        def get(backend: str, postgres: str | None) -> Server:
            if backend not in started:
                started[backend] = running = start_server(backend, postgres)
                stack.callback(shutil.rmtree, running.workdir, ignore_errors=True)
                if postgres:
                    stack.callback(drop_database, postgres, running.database_url)
                stack.callback(running.stop)
            return started[backend]

        yield get


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest, session_servers) -> Server:
    """The session's server: on SQLite, or on the database a test is parametrized with
    (on_both_databases)."""
    backend = getattr(request, "param", "sqlite")
    postgres = request.getfixturevalue("postgres_server_url") if backend == "postgresql" else None
    return session_servers(backend, postgres)


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


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[tuple[int, int]]:
    with running_oidc_provider() as ports:
        yield ports


@pytest.fixture(scope="session")
def oidc_server(request: pytest.FixtureRequest, oidc_provider: tuple[int, int]) -> Iterator[Server]:
    """labelkit on SQLite with the provider in .streamlit/secrets.toml (in the server's working
    directory), for the session: the OIDC modules share it as the others share `server`."""
    app_port, oidc_port = oidc_provider
    secrets = oidc_secrets(app_port, oidc_port, "labelkit-e2e-cookie-secret-0123456789abcdef-not-for-production")
    with running_server(request, "sqlite", secrets=secrets, port=app_port) as server:
        server.issuer = f"http://localhost:{oidc_port}"
        yield server


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def new_page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Callable[[], Page]]:
    """new_page() -> a page in a fresh browser context: its own cookies, as another person.

    On failure every page is screenshotted into a temp dir, whose path is printed."""
    contexts = []

    def make() -> Page:
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        context.set_default_timeout(20_000)
        contexts.append(context)
        context.on("page", watch_script_runs)  # its pages, and the tabs they open
        page = context.new_page()
        watch_script_runs(page)
        return page

    yield make
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        shots = Path(tempfile.mkdtemp(prefix="labelkit-e2e-shots-"))
        for i, context in enumerate(contexts):
            for j, page in enumerate(context.pages):
                try:
                    page.screenshot(path=str(shots / f"{request.node.name}-{i}-{j}.png"), full_page=True)
                    (shots / f"{request.node.name}-{i}-{j}.txt").write_text(f"{page.url}\n\n{page.locator('body').inner_text()}")
                except Exception as e:  # noqa: BLE001 - a closed page must not hide the failure
                    print(f"no screenshot of page {i}-{j}: {e}")
        print(f"\nscreenshots of the failure: {shots}")
    for context in contexts:
        context.close()


@pytest.fixture(autouse=True)
def no_server_errors(request: pytest.FixtureRequest) -> Iterator[None]:
    """A journey that passes in the browser must not have left a traceback in the server log.
    A failed test prints what its server logged while it ran."""
    servers = [request.getfixturevalue(n) for n in ("server", "oidc_server") if n in request.fixturenames]
    before = {id(s): s.log_size() for s in servers}
    yield
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        for s in servers:
            print(f"\n--- what labelkit serve logged during the test ({s.backend}, {s.log}) ---\n"
                  f"{s.log_text(before[id(s)])[-6000:]}")
    if request.node.get_closest_marker("xfail"):  # a known bug may well log its traceback
        return
    for s in servers:
        new = s.log_text(before[id(s)])
        assert "Traceback" not in new, f"the server logged an error during {request.node.name}:\n{new[-4000:]}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


# Script runs, as the page's websocket tells of them.


class ScriptRuns:
    """How many script runs the page's Streamlit connection began, and how many are under way:
    each run begins with a new_session message and ends with script_finished."""

    def __init__(self, page: Page) -> None:
        self.began = 0
        self.under_way = 0
        self.socket: WebSocket | None = None
        page.on("websocket", self._connected)

    def _connected(self, socket: WebSocket) -> None:
        if not socket.url.endswith("/_stcore/stream"):
            return
        self.socket, self.under_way = socket, 0  # a new page load: the old connection's run is gone
        socket.on("framereceived", lambda payload: self._message(socket, payload))
        socket.on("close", lambda _: self._closed(socket))

    def _message(self, socket: WebSocket, payload: str | bytes) -> None:
        if socket is not self.socket or isinstance(payload, str):
            return
        kind = ForwardMsg.FromString(payload).WhichOneof("type")
        if kind == "new_session":
            self.began += 1
            self.under_way += 1
        elif kind == "script_finished":
            self.under_way = max(0, self.under_way - 1)

    def _closed(self, socket: WebSocket) -> None:
        if socket is self.socket:  # the page went elsewhere: no run of it is under way
            self.under_way = 0


def watch_script_runs(page: Page) -> None:
    """Watch the page's script runs from now on (before it opens the app: a connection already
    open is not seen). new_page does it for its pages and the tabs they open.

    The watch is kept on the page itself: pytest imports this file as `conftest` and the test
    modules import it as `tests.e2e.conftest`, two modules whose globals differ."""
    if getattr(page, "lk_script_runs", None) is None:
        page.lk_script_runs = ScriptRuns(page)


def script_runs(page: Page) -> ScriptRuns:
    if getattr(page, "lk_script_runs", None) is None:
        assert page.url == "about:blank", "watch a page's script runs before it opens the app (watch_script_runs)"
        watch_script_runs(page)
    return page.lk_script_runs


def _wait(page: Page, condition: Callable[[], bool], what: str, timeout: float) -> None:
    """Poll a condition on websocket events (which Playwright hands over while the page waits)."""
    deadline = time.monotonic() + timeout / 1000
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout / 1000:.0f} s")
        page.wait_for_timeout(20)


STALE = '[data-stale="true"]'
SETTLED = f"""() => !document.querySelector('{STALE}')
    && !document.querySelector('[data-testid="stStatusWidgetRunningIcon"], [data-testid="stStatusWidgetRunningManIcon"]')
    && new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() => done(true))))"""


def settled(page: Page, timeout: float = 20_000) -> None:
    """Wait until no script run is under way, no element of a previous run is left, and the
    browser has drawn the result (components take their new arguments when they are drawn).

    Streamlit updates a page element by element: new text can show while a button below
    it still belongs to the previous run, and a click on that button is lost. A person
    clicks a few hundred milliseconds later; a test waits for the run to end."""
    runs = getattr(page, "lk_script_runs", None)
    if runs is not None:
        _wait(page, lambda: runs.under_way == 0, "the script run did not end", timeout)
    page.wait_for_function(SETTLED, timeout=timeout, polling=50)


@contextmanager
def rerun(page: Page, until: Literal["ended", "began"] = "ended", timeout: float = 20_000) -> Iterator[None]:
    """The block does something that runs the script again (a click, a key, a drag on a
    component): it starts on a settled page, and afterwards waits until that run has begun
    and (by default) ended with the page settled. until="began" is for a run whose steps the
    test watches (a Submit that retries while the database is down)."""
    runs = script_runs(page)
    settled(page, timeout)
    before = runs.began
    yield
    _wait(page, lambda: runs.began > before, "no script run began after the action", timeout)
    if until == "ended":
        settled(page, timeout)


# What a person does, in a few words each.


def fresh(locator: Locator) -> Locator:
    """Only the elements of the current script run (not those a rerun is about to replace)."""
    return locator.and_(locator.page.locator(f":not({STALE}, {STALE} *)"))


def goto(page: Page, url: str) -> None:
    """Open a page of the app and wait for its first script run to end."""
    with rerun(page):
        page.goto(url)


def reload(page: Page) -> None:
    """Load the page again (a browser refresh) and wait for its first script run to end."""
    with rerun(page):
        page.reload()


def see(page: Page, text: str | re.Pattern, timeout: float = 20_000) -> None:
    """Wait until `text` is visible on the page (in the current run's elements); fail at once
    if the app shows an error instead."""
    wanted = fresh(page.get_by_text(text))
    crash = fresh(page.locator('[data-testid="stException"]'))
    wanted.or_(crash).first.wait_for(state="visible", timeout=timeout)
    if not wanted.first.is_visible() and crash.first.is_visible():
        raise AssertionError(f"the app shows an error instead of {text!r}: {crash.first.inner_text()[:500]}")


def heading(page: Page, name: str) -> Locator:
    return fresh(page.get_by_role("heading", name=name, exact=True))


def button(page: Page, name: str) -> Locator:
    """A button by its label (Streamlit may put a keyboard shortcut or a hotkey after it)."""
    return fresh(page.get_by_role("button", name=re.compile(rf"^{re.escape(name)}(\s|$)")))


def click(page: Page, target: str | Locator, run: Literal["ended", "began", "none"] = "ended",
          timeout: float = 20_000) -> None:
    """Click a button (by its label) or any element, once the page has settled (a click on an
    element the rerun is about to replace is lost); then wait for the script run the click
    starts to end (run="began": only to begin; run="none" for what runs nothing: a tab, an
    expander, a control that stays inside a component)."""
    found = button(page, target).first if isinstance(target, str) else fresh(target).first
    if run == "none":
        settled(page, timeout)
        found.click()
        return
    with rerun(page, run, timeout):
        found.click()


def press(page: Page, key: str, timeout: float = 20_000) -> None:
    """A key that runs the script (a hotkey, Ctrl+Enter), on the settled page; waits for that run."""
    with rerun(page, timeout=timeout):
        page.keyboard.press(key)


def fill(page: Page, target: str | Locator, value: str, reruns: bool = False) -> None:
    """Type into a field (by its exact label, or a Locator) on the settled page. reruns=True:
    leave it with Tab (a Streamlit text widget sends its value when it loses focus) and wait
    for the run that follows. A field in a form runs nothing until the form is submitted."""
    settled(page)
    box = fresh(page.get_by_label(target, exact=True) if isinstance(target, str) else target).first
    box.fill(value)
    if reruns:
        with rerun(page):
            box.press("Tab")


def choose(page: Page, option: str) -> None:
    """Pick an option of a radio group by its label; a run follows unless it was picked already."""
    settled(page)
    radio = fresh(page.get_by_role("radio", name=re.compile(rf"^{re.escape(option)}"))).first
    if not radio.is_checked():
        click(page, page.get_by_text(option, exact=True))
    expect(radio).to_be_checked()


def choice(page: Page, name: str) -> Locator:
    """A choice button of the labeling interface (its hotkey is drawn after the label)."""
    return fresh(page.get_by_role("button", name=re.compile(rf"^{re.escape(name)}\b")))


def chosen(page: Page, name: str) -> Locator:
    return choice(page, name).and_(page.locator('button[kind="primary"]'))


def pick(page: Page, name: str, hotkey: str | None = None) -> None:
    """Pick a choice by a click (or by its hotkey) and wait until the page shows it picked."""
    if hotkey:
        press(page, hotkey)
    else:
        click(page, choice(page, name))
    chosen(page, name).first.wait_for()


def signed_in(page: Page) -> None:
    """Wait for the signed-in frame: the sidebar's Sign out button."""
    button(page, "Sign out").wait_for()


def sign_in_page(page: Page, timeout: float = 20_000) -> None:
    """Wait for the password sign-in form."""
    heading(page, "Sign in").wait_for(timeout=timeout)
    fresh(page.get_by_label("Password", exact=True)).wait_for(timeout=timeout)


def sign_in(page: Page, server: Server, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD, path: str = "/") -> None:
    goto(page, server.url + path)
    sign_in_page(page)
    fill(page, "Email", email)  # a form: nothing runs until "Sign in"
    fill(page, "Password", password)
    click(page, "Sign in", "began")  # the run sends the browser to /session/start, then back
    signed_in(page)


def session_cookie(page: Page) -> dict | None:
    return next((c for c in page.context.cookies() if c["name"] == SESSION_COOKIE), None)


def whoami(server: Server, cookie_value: str) -> httpx.Response:
    """The REST API's view of a session cookie (what the cookie is worth outside the browser)."""
    return httpx.get(f"http://127.0.0.1:{server.port}/api/current-user/whoami",
                     cookies={SESSION_COOKIE: cookie_value}, timeout=10)
