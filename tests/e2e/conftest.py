"""Browser journeys: a real `labelkit serve` on loopback, driven by headless Chromium.

Browsers open http://localhost:<port> (cookies are per host name, and the OIDC redirect
uses localhost); nothing here talks to anything but loopback."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.support import BACKENDS, create_database, free_port

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
ADMIN_EMAIL, ADMIN_PASSWORD = "admin@example.com", "admin password"


@dataclass
class Server:
    url: str
    env: dict
    workdir: Path
    log: Path
    process: subprocess.Popen | None = field(default=None, repr=False)

    def cli(self, *args: str, password: str | None = None) -> str:
        env = dict(self.env)
        if password:
            env["LABELKIT_PASSWORD"] = password
        done = subprocess.run([sys.executable, "-m", "labelkit.cli", *args], env=env, cwd=self.workdir,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout.strip()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()


def start_server(backend: str, postgres_url: str | None, secrets: str | None = None, port: int | None = None) -> Server:
    workdir = Path(tempfile.mkdtemp(prefix="labelkit-e2e-"))
    port = port or free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABELKIT_")}
    env.update(
        LABELKIT_DATA_DIR=str(workdir / "data"),
        LABELKIT_BASE_URL=f"http://localhost:{port}",
        PYTHONPATH=str(ROOT),
    )
    if backend == "postgresql":
        env["LABELKIT_DATABASE_URL"] = create_database(postgres_url, f"labelkit_e2e_{port}")
    if secrets:
        (workdir / ".streamlit").mkdir()
        (workdir / ".streamlit" / "secrets.toml").write_text(secrets)
    server = Server(f"http://localhost:{port}", env, workdir, workdir / "server.log")
    server.cli("user", "create", ADMIN_EMAIL, "--admin", "--name", "Ada Admin", password=ADMIN_PASSWORD)
    server.process = subprocess.Popen(
        [sys.executable, "-m", "labelkit.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env, cwd=workdir, stdout=server.log.open("w"), stderr=subprocess.STDOUT,
    )
    deadline = time.time() + 60
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
    raise RuntimeError(f"labelkit serve did not start:\n{server.log.read_text()}")


@pytest.fixture(scope="module", params=BACKENDS)
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    postgres = request.getfixturevalue("postgres_server_url") if request.param == "postgresql" else None
    running = start_server(request.param, postgres)
    yield running
    running.stop()
    if request.session.testsfailed:
        print(f"\n--- labelkit log ({running.log}) ---\n{running.log.read_text()[-4000:]}")
    shutil.rmtree(running.workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def new_page(browser: Browser, request: pytest.FixtureRequest):  # noqa: ANN201
    """new_page() -> a page in a fresh browser context (its own cookies)."""
    contexts = []

    def make() -> Page:
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        context.set_default_timeout(20_000)
        contexts.append(context)
        return context.new_page()

    yield make
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        shots = Path(tempfile.mkdtemp(prefix="labelkit-e2e-shots-"))
        for i, context in enumerate(contexts):
            for j, page in enumerate(context.pages):
                page.screenshot(path=str(shots / f"{request.node.name}-{i}-{j}.png"), full_page=True)
        print(f"\nscreenshots of the failure: {shots}")
    for context in contexts:
        context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # noqa: ANN001, ANN201
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


# What a person does, in a few words each.


def see(page: Page, text: str, timeout: float = 20_000) -> None:
    page.get_by_text(text).first.wait_for(state="visible", timeout=timeout)


def sign_in(page: Page, server: Server, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD, path: str = "/") -> None:
    page.goto(server.url + path)
    see(page, "Sign in")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Sign out").wait_for()


def click(page: Page, name: str) -> None:
    """A button by its label (a keyboard shortcut may follow the label)."""
    page.get_by_role("button", name=re.compile(rf"^{re.escape(name)}(\s|$)")).first.click()


def keyed(page: Page, key: str):  # noqa: ANN201
    """The element Streamlit rendered for a widget key."""
    return page.locator(f".st-key-{key}")
