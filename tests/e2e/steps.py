"""What a person does in the browser, in a few words each, and how a test knows that
Streamlit has finished what a step started (conftest.py says why that matters): act
through click, choose, pick, press, fill, goto, reload and `with rerun(page):`; read
through see, heading, button and fresh."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Literal

import httpx
from playwright.sync_api import Locator, Page, WebSocket, expect
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from tests.e2e.servers import ADMIN_EMAIL, ADMIN_PASSWORD, Server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SESSION_COOKIE = "labelkit_session"


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
    """Watch the page's script runs from now on, kept on the page itself (before it opens the
    app: a connection already open is not seen). new_page does it for its pages and the tabs
    they open."""
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
