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
the screenshots of its pages went and what its server logged meanwhile.

The servers and the provider are in servers.py, what a person does in steps.py; this file
hands them out as fixtures."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.e2e.servers import (
    Server,
    drop_database,
    oidc_secrets,
    running_oidc_provider,
    running_server,
    start_server,
)
from tests.e2e.steps import CHROMIUM, CHROMIUM_ARGS, watch_script_runs

# Playwright's expect() waits 5 s by default while every other wait here allows 20 s; a
# loaded machine made a test fail on an expect() that a moment later held (it waits for the
# condition, so a longer bound costs nothing when the page is quick).
expect.set_options(timeout=20_000)


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
