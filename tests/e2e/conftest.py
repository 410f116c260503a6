"""Browser journeys: a real `labelkit serve` on loopback, driven by headless Chromium.

Each test module gets its own server (on SQLite, and on a fresh PostgreSQL database),
started the way an operator starts it: `labelkit user create EMAIL --admin`, then
`labelkit serve --host 127.0.0.1 --port P`. Browsers open http://localhost:<port>
(cookies are per host name, and the OIDC redirect uses localhost); nothing here talks
to anything but loopback.

On a failure the test prints where the screenshots of its pages went and the tail of
the server's log."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, sync_playwright
from sqlalchemy import create_engine, text
from sqlmodel import Session

from labelkit.db import make_engine
from tests.support import BACKENDS, create_database, free_port

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
ADMIN_EMAIL, ADMIN_NAME, ADMIN_PASSWORD = "admin@example.com", "Ada Admin", "admin password"
SESSION_COOKIE = "labelkit_session"
START_TIMEOUT = 90  # seconds for `labelkit serve` to answer /_stcore/health


def labelkit_command() -> list[str]:
    """The `labelkit` console script of this interpreter (what an operator runs)."""
    script = Path(sys.executable).with_name("labelkit")
    return [str(script)] if script.exists() else [sys.executable, "-m", "labelkit.cli"]


@dataclass
class Server:
    """A running `labelkit serve`, its environment, and a way into its database."""

    url: str  # what the browser opens: http://localhost:<port>
    port: int
    env: dict
    workdir: Path
    log: Path
    database_url: str
    backend: str
    issuer: str | None = None  # the OIDC provider in its secrets.toml, if any
    process: subprocess.Popen | None = field(default=None, repr=False)

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

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

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
    """First admin by the CLI, then `labelkit serve`; waits for /_stcore/health.

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
    if not shared:
        server.cli("user", "create", ADMIN_EMAIL, "--admin", "--name", ADMIN_NAME, password=ADMIN_PASSWORD)
    with server.log.open("w") as log:
        server.process = subprocess.Popen(
            [*labelkit_command(), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT,
        )
    deadline = time.time() + START_TIMEOUT
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        if server.process.poll() is not None:
            break
        time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"labelkit serve did not start on port {port}:\n{server.log_text()}")


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


@pytest.fixture(scope="module", params=BACKENDS)
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    with running_server(request, request.param) as running:
        yield running


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
        return context.new_page()

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
    """A journey that passes in the browser must not have left a traceback in the server log."""
    servers = [request.getfixturevalue(n) for n in ("server", "oidc_server") if n in request.fixturenames]
    before = {id(s): len(s.log_text()) for s in servers}
    yield
    if request.node.get_closest_marker("xfail"):  # a known bug may well log its traceback
        return
    for s in servers:
        new = s.log_text()[before[id(s)]:]
        assert "Traceback" not in new, f"the server logged an error during {request.node.name}:\n{new[-4000:]}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


# What a person does, in a few words each.


def see(page: Page, text: str | re.Pattern, timeout: float = 20_000) -> None:
    """Wait until `text` is visible on the page; fail at once if the app shows an error instead."""
    wanted = page.get_by_text(text)
    crash = page.locator('[data-testid="stException"]')
    wanted.or_(crash).first.wait_for(state="visible", timeout=timeout)
    if not wanted.first.is_visible() and crash.first.is_visible():
        raise AssertionError(f"the app shows an error instead of {text!r}: {crash.first.inner_text()[:500]}")


SETTLED = """() => !document.querySelector('[data-stale="true"]')
    && !document.querySelector('[data-testid="stStatusWidgetRunningIcon"], [data-testid="stStatusWidgetRunningManIcon"]')"""


def settled(page: Page, timeout: float = 20_000) -> None:
    """Wait until the script run is over and no element of the previous run is left.

    Streamlit updates a page element by element: new text can show while a button below
    it still belongs to the previous run, and a click on that button is lost. A person
    clicks a few hundred milliseconds later; a test waits for the run to end."""
    page.wait_for_function(SETTLED, timeout=timeout, polling=50)


def heading(page: Page, name: str) -> Locator:
    return page.get_by_role("heading", name=name, exact=True)


def click(page: Page, name: str) -> None:
    """A button by its label (Streamlit may put a keyboard shortcut after the label), once
    the page has settled: a click on a button the rerun is about to replace is lost."""
    settled(page)
    page.get_by_role("button", name=re.compile(rf"^{re.escape(name)}(\s|$)")).first.click()


def choice(page: Page, name: str) -> Locator:
    """A choice button of the labeling interface (its hotkey is drawn after the label).
    While a rerun redraws it, the old and the new button may both be there for a moment."""
    return page.get_by_role("button", name=re.compile(rf"^{re.escape(name)}\b"))


def chosen(page: Page, name: str) -> Locator:
    return choice(page, name).and_(page.locator('button[kind="primary"]'))


def pick(page: Page, name: str, hotkey: str | None = None) -> None:
    """Pick a choice by a click (or by its hotkey) and wait until the page shows it picked."""
    settled(page)
    if hotkey:
        page.keyboard.press(hotkey)
    else:
        choice(page, name).first.click()
    chosen(page, name).first.wait_for()
    settled(page)


def signed_in(page: Page) -> None:
    """Wait for the signed-in frame: the sidebar's Sign out button."""
    page.get_by_role("button", name="Sign out").wait_for()


def sign_in_page(page: Page, timeout: float = 20_000) -> None:
    """Wait for the password sign-in form."""
    heading(page, "Sign in").wait_for(timeout=timeout)
    page.get_by_label("Password", exact=True).wait_for(timeout=timeout)


def sign_in(page: Page, server: Server, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD, path: str = "/") -> None:
    page.goto(server.url + path)
    sign_in_page(page)
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    signed_in(page)


def project_with_tasks(server: Server, folder: Path, title: str, config: str, rows: list[dict]) -> int:
    """A project made and filled the operator's way (`labelkit project create`, `labelkit import`)."""
    config_file, tasks_file = folder / f"{title}.xml", folder / f"{title}.json"
    config_file.write_text(config)
    tasks_file.write_text(json.dumps(rows))
    project_id = int(server.cli("project", "create", "--title", title, "--config", str(config_file)))
    server.cli("import", str(project_id), str(tasks_file))
    return project_id


def session_cookie(page: Page) -> dict | None:
    return next((c for c in page.context.cookies() if c["name"] == SESSION_COOKIE), None)


def whoami(server: Server, cookie_value: str) -> httpx.Response:
    """The REST API's view of a session cookie (what the cookie is worth outside the browser)."""
    return httpx.get(f"http://127.0.0.1:{server.port}/api/current-user/whoami",
                     cookies={SESSION_COOKIE: cookie_value}, timeout=10)
