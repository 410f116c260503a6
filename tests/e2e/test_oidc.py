"""Signing in through an OpenID Connect provider (a real one, on loopback), on SQLite
and on PostgreSQL: with an invite a new identity gets its role; without one it is told
to ask for an invite and no account is made.

The provider is the npm package oidc-provider@9 (.ci/run installs it into
.ci/.cache/oidc; LABELKIT_TEST_OIDC_NODE_MODULES points at its node_modules) running
oidc_provider.mjs, a copy of /work/shared/recipes/oidc-provider.mjs kept in the repository
so the tests need nothing outside it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from labelkit.models import Annotation, Identity, Invite, Membership, User
from tests.e2e.conftest import (
    ROOT,
    Server,
    click,
    heading,
    pick,
    running_server,
    see,
    settled,
    sign_in_page,
    signed_in,
)
from tests.support import BACKENDS, free_port

pytestmark = pytest.mark.e2e

NODE_MODULES = Path(os.environ.get("LABELKIT_TEST_OIDC_NODE_MODULES") or ROOT / ".ci" / ".cache" / "oidc" / "node_modules")
PROVIDER_BUTTON = "Sign in with your identity provider"
CONFIG = ('<View><Text name="text" value="$text"/>'
          '<Choices name="answer" toName="text"><Choice value="Yes"/><Choice value="No"/></Choices></View>')


@pytest.fixture(scope="module")
def oidc_provider() -> Iterator[tuple[int, int]]:
    """(app port, provider port): the provider knows the app's callback before the app starts."""
    if not (NODE_MODULES / "oidc-provider" / "package.json").exists():
        pytest.fail(f"oidc-provider is not installed in {NODE_MODULES}: run "
                    "`npm install --prefix .ci/.cache/oidc oidc-provider@9` (.ci/run does), "
                    "or point LABELKIT_TEST_OIDC_NODE_MODULES at a node_modules that has it")
    app_port, oidc_port = free_port(), free_port()
    # ESM ignores NODE_PATH: the script must sit next to a node_modules that holds the package.
    folder = Path(tempfile.mkdtemp(prefix="labelkit-oidc-"))
    shutil.copy(Path(__file__).with_name("oidc_provider.mjs"), folder / "provider.mjs")
    (folder / "node_modules").symlink_to(NODE_MODULES.resolve(), target_is_directory=True)
    log = folder / "provider.log"
    env = dict(os.environ, OIDC_PORT=str(oidc_port), OIDC_REDIRECT=f"http://localhost:{app_port}/oauth2callback")
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


@pytest.fixture(scope="module", params=BACKENDS)
def oidc_server(request: pytest.FixtureRequest, oidc_provider: tuple[int, int]) -> Iterator[Server]:
    """labelkit with one OIDC provider in .streamlit/secrets.toml (in the server's working directory)."""
    app_port, oidc_port = oidc_provider
    secrets = f"""
[auth]
redirect_uri = "http://localhost:{app_port}/oauth2callback"
cookie_secret = "labelkit-e2e-cookie-secret-0123456789abcdef-not-for-production"
client_id = "labelkit"
client_secret = "labelkit-secret"
server_metadata_url = "http://localhost:{oidc_port}/.well-known/openid-configuration"
client_kwargs = {{ prompt = "login" }}
"""
    with running_server(request, request.param, secrets=secrets, port=app_port) as server:
        server.issuer = f"http://localhost:{oidc_port}"
        yield server


def provider_login(page: Page, login: str) -> None:
    """At the provider: its development sign-in form (any login name), then its consent form."""
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill("anything")
    page.get_by_role("button", name="Sign-in").click()
    page.locator("input[name=prompt][value=consent]").wait_for(state="attached")
    page.get_by_role("button", name="Continue").click()


def identity_sign_in(page: Page, login: str) -> None:
    """Press the app's provider button and sign in at the provider; back in the app after."""
    settled(page)
    click(page, PROVIDER_BUTTON)
    provider_login(page, login)
    page.wait_for_url(re.compile(r"^http://localhost:\d+/(\?.*)?$"))


def people(server: Server) -> tuple[list[str], list[str]]:
    """(account emails, linked identity subjects)."""
    with server.db() as db:
        return ([u.email for u in db.exec(select(User).order_by(User.id)).all()],
                [i.subject for i in db.exec(select(Identity).order_by(Identity.id)).all()])


def test_an_invite_lets_an_identity_in_with_its_role(oidc_server: Server, new_page, tmp_path: Path) -> None:
    config = tmp_path / "config.xml"
    config.write_text(CONFIG)
    project_id = oidc_server.cli("project", "create", "--title", "Federated", "--config", str(config))
    assert project_id.isdigit(), project_id
    rows = tmp_path / "tasks.txt"
    rows.write_text("first line\nsecond line\n")
    oidc_server.cli("import", project_id, str(rows))
    link = oidc_server.cli("invite", "create", "--role", "annotator", "--project", project_id)
    assert re.fullmatch(rf"{re.escape(oidc_server.url)}/invite/[\w-]{{20,}}", link), link

    page = new_page()
    page.goto(link)
    heading(page, "You're invited").wait_for()
    see(page, "This invite gives you the annotator role in the project Federated.")
    identity_sign_in(page, "kim")
    signed_in(page)
    heading(page, "Hello, kim").wait_for()
    see(page, "You have the annotator role in Federated.")  # the toast
    page.reload()
    signed_in(page)  # still signed in after a refresh (Streamlit's identity cookie)
    expect(page.get_by_role("link", name="Admin", exact=True)).to_have_count(0)

    with oidc_server.db() as db:
        kim = db.exec(select(User).where(User.email == "kim@example.com")).one()
        assert (kim.role, kim.password_hash) == ("annotator", None)  # no password: this account signs in at the provider
        (membership,) = db.exec(select(Membership).where(Membership.user_id == kim.id)).all()
        assert (membership.project_id, membership.role) == (int(project_id), "annotator")
        (identity,) = db.exec(select(Identity).where(Identity.user_id == kim.id)).all()
        assert (identity.subject, identity.issuer) == ("kim", oidc_server.issuer)
        (invite,) = db.exec(select(Invite).where(Invite.project_id == int(project_id))).all()
        assert invite.uses == 1

    # The Label page works for that role: answer a task.
    page.goto(f"{oidc_server.url}/label?project={project_id}")
    see(page, "first line")
    pick(page, "Yes")
    click(page, "Submit")
    see(page, "second line")
    with oidc_server.db() as db:
        (annotation,) = db.exec(select(Annotation).where(Annotation.user_id == kim.id)).all()
        assert annotation.state == "submitted"
        assert [r["value"]["choices"] for r in annotation.result] == [["Yes"]]


def test_an_identity_without_an_invite_is_told_to_ask_for_one(oidc_server: Server, new_page, tmp_path: Path) -> None:
    config = tmp_path / "config.xml"
    config.write_text(CONFIG)
    oidc_server.cli("project", "create", "--title", "Second opinion", "--config", str(config))
    accounts_before, identities_before = people(oidc_server)
    page = new_page()
    page.goto(oidc_server.url)
    sign_in_page(page)
    identity_sign_in(page, "stranger")
    heading(page, "Ask your admin for an invite").wait_for()
    see(page, "You are signed in as stranger@example.com, but there is no labelkit account for you.")
    expect(page.get_by_role("link", name="Label", exact=True)).to_have_count(0)
    page.goto(oidc_server.url + "/admin")  # no page opens by URL either
    heading(page, "Ask your admin for an invite").wait_for()
    expect(page.get_by_role("tab", name="Users")).to_have_count(0)
    assert people(oidc_server) == (accounts_before, identities_before)  # nothing was created

    # What the page says to do works: the admin sends an invite, the person opens it.
    link = oidc_server.cli("invite", "create", "--role", "reviewer", "--project", "Second opinion")
    page.goto(link)
    signed_in(page)
    see(page, "You have the reviewer role in Second opinion.")
    accounts, identities = people(oidc_server)
    assert accounts == [*accounts_before, "stranger@example.com"]
    assert identities == [*identities_before, "stranger"]


def sign_out_at_provider(page: Page) -> None:
    """Sign out; the provider may ask to confirm ending its own session too."""
    click(page, "Sign out")
    confirm = page.get_by_role("button", name="Yes, sign me out")
    confirm.or_(heading(page, "Sign in")).first.wait_for(timeout=10_000)
    if confirm.is_visible():
        confirm.click()


def test_sign_out_of_an_identity_session_signs_out(oidc_server: Server, new_page) -> None:
    oidc_server.cli("user", "create", "lee@example.com", "--name", "Lee", password="lee's password")
    page = new_page()
    page.goto(oidc_server.url)
    identity_sign_in(page, "lee")  # matched to the existing account by the verified email
    heading(page, "Hello, Lee").wait_for()
    # A provider or a network a little slow to answer /auth/logout (the race, made certain).
    page.route("**/auth/logout", lambda route: (time.sleep(1.5), route.continue_()))
    sign_out_at_provider(page)
    sign_in_page(page, timeout=10_000)
    page.reload()
    sign_in_page(page)
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    assert not [c for c in page.context.cookies() if c["name"].startswith("_streamlit_user")]
