"""Signing in through an OpenID Connect provider (a real one, on loopback)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, text

from tests.e2e.conftest import ROOT, Server, click, see, start_server
from tests.support import free_port

pytestmark = pytest.mark.e2e

NODE_MODULES = Path(os.environ.get("LABELKIT_TEST_OIDC_NODE_MODULES", ROOT / ".ci" / ".cache" / "oidc" / "node_modules"))


@pytest.fixture(scope="module")
def oidc_server() -> Iterator[Server]:
    if not (NODE_MODULES / "oidc-provider").exists():
        pytest.fail(f"oidc-provider is not installed in {NODE_MODULES}; .ci/run installs it "
                    "(npm install --prefix .ci/.cache/oidc oidc-provider@9)")
    app_port, oidc_port = free_port(), free_port()
    folder = Path(tempfile.mkdtemp(prefix="labelkit-oidc-"))
    shutil.copy(Path(__file__).with_name("oidc_provider.mjs"), folder / "provider.mjs")
    (folder / "node_modules").symlink_to(NODE_MODULES)
    env = dict(os.environ, OIDC_PORT=str(oidc_port), OIDC_REDIRECT=f"http://localhost:{app_port}/oauth2callback")
    provider = subprocess.Popen(["node", "provider.mjs"], cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{oidc_port}/.well-known/openid-configuration", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        provider.kill()
        pytest.fail(f"the OIDC provider did not start: {provider.stdout.read().decode()}")
    secrets = f"""
[auth]
redirect_uri = "http://localhost:{app_port}/oauth2callback"
cookie_secret = "labelkit-e2e-cookie-secret-0123456789abcdef"
client_id = "labelkit"
client_secret = "labelkit-secret"
server_metadata_url = "http://localhost:{oidc_port}/.well-known/openid-configuration"
client_kwargs = {{ prompt = "login" }}
"""
    server = start_server("sqlite", None, secrets=secrets, port=app_port)
    yield server
    server.stop()
    provider.terminate()
    shutil.rmtree(folder, ignore_errors=True)
    shutil.rmtree(server.workdir, ignore_errors=True)


def provider_login(page: Page, login: str) -> None:
    """The provider's development login form, then its consent form."""
    page.locator("input[name=login]").wait_for()
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill("anything")
    page.locator("button[type=submit]").first.click()
    page.locator("button[type=submit]").first.wait_for()
    page.locator("button[type=submit]").first.click()


def accounts(server: Server) -> list[str]:
    engine = create_engine(f"sqlite:///{server.workdir / 'data' / 'labelkit.db'}")
    with engine.connect() as conn:
        emails = [row[0] for row in conn.execute(text("select email from users order by id"))]
    engine.dispose()
    return emails


def test_an_invite_lets_an_identity_in_with_its_role(oidc_server: Server, new_page) -> None:  # noqa: ANN001
    config = oidc_server.workdir / "config.xml"
    config.write_text('<View><Text name="text" value="$text"/><Choices name="c" toName="text"><Choice value="Yes"/><Choice value="No"/></Choices></View>')
    project_id = oidc_server.cli("project", "create", "--title", "Federated", "--config", str(config))
    tasks = oidc_server.workdir / "tasks.txt"
    tasks.write_text("first line\nsecond line\n")
    oidc_server.cli("import", project_id, str(tasks))
    link = oidc_server.cli("invite", "create", "--role", "annotator", "--project", project_id)

    page = new_page()
    page.goto(link)
    see(page, "You're invited")
    click(page, "Sign in with your identity provider")
    provider_login(page, "kim")
    page.get_by_role("button", name="Sign out").wait_for()
    see(page, "Federated")
    page.reload()
    page.get_by_role("button", name="Sign out").wait_for()  # still signed in after a refresh
    page.goto(oidc_server.url + "/label")
    see(page, "first line")
    expect(page.get_by_role("link", name="Admin")).to_have_count(0)
    assert "kim@example.com" in accounts(oidc_server)


def test_an_identity_without_an_invite_is_told_to_ask_for_one(oidc_server: Server, new_page) -> None:  # noqa: ANN001
    page = new_page()
    page.goto(oidc_server.url)
    click(page, "Sign in with your identity provider")
    provider_login(page, "stranger")
    see(page, "Ask your admin for an invite")
    see(page, "You are signed in as stranger@example.com, but there is no labelkit account for you.")
    assert "stranger@example.com" not in accounts(oidc_server)
