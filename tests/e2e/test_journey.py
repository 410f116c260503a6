"""The journey a team makes: invite -> sign up -> label -> review -> export."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import click, keyed, see, sign_in

pytestmark = pytest.mark.e2e

TASKS = [{"data": {"text": t}} for t in (
    "The delivery was quick and the box was intact.",
    "It broke after one day.",
    "Average product, average price.",
    "I would buy it again!",
    "The manual is in the wrong language.",
)]


def create_project(page: Page, server, title: str) -> None:  # noqa: ANN001
    page.goto(server.url + "/projects")
    see(page, "Start from a template")
    keyed(page, "lk_new_tpl_sentiment").get_by_role("button").click()
    expect(page.get_by_label("Label config")).to_have_value(re.compile("What is the sentiment"))
    page.get_by_label("Title", exact=True).fill(title)
    page.get_by_label("Title", exact=True).press("Tab")
    click(page, "Create project")
    see(page, f"Created {title}")


def import_tasks(page: Page, server, tmp_path: Path) -> None:  # noqa: ANN001
    page.get_by_role("link", name="Import tasks").click()
    see(page, "Each task needs")
    file = tmp_path / "reviews.json"
    file.write_text(json.dumps(TASKS))
    page.locator("input[type=file]").set_input_files(str(file))
    click(page, "Import 1 file")
    see(page, "Imported 5 tasks from 1 file.")


def create_invite(page: Page, server, title: str) -> str:  # noqa: ANN001
    page.goto(server.url + "/projects")
    page.get_by_role("tab", name="Team").click()
    click(page, "Create invite link")
    see(page, "Copy this link")
    link = page.locator("code").filter(has_text="/invite/").first.inner_text().strip()
    assert link.startswith(f"{server.url}/invite/")
    return link


def sign_up(page: Page, link: str, email: str, password: str) -> None:
    page.goto(link)
    see(page, "You're invited")
    see(page, "annotator")
    page.get_by_label("Email", exact=True).first.fill(email)
    page.get_by_label("Your name").fill("Anna Annotator")
    page.get_by_label("Choose a password (8 characters or more)").fill(password)
    page.get_by_label("The password again").fill(password)
    click(page, "Create account and join")
    page.get_by_role("button", name="Sign out").wait_for()


def label_three(page: Page, server) -> list[str]:  # noqa: ANN001
    page.goto(server.url + "/label")
    see(page, "Task 1")
    see(page, TASKS[0]["data"]["text"])
    page.keyboard.press("1")  # the Positive hotkey
    expect(page.get_by_role("button", name=re.compile("Positive"))).to_have_attribute("kind", re.compile("primary"))
    page.keyboard.press("Control+Enter")
    see(page, "Task 1: Submitted.")
    see(page, TASKS[1]["data"]["text"])
    page.get_by_role("button", name=re.compile("^Negative")).click()
    click(page, "Submit")
    see(page, "Task 2: Submitted.")
    page.get_by_role("button", name=re.compile("^Neutral")).click()
    expect(page.get_by_label("Comment")).to_have_count(1)  # the previous task's box is gone
    page.get_by_label("Comment").fill("Neither good nor bad.")
    page.get_by_label("Comment").press("Tab")
    click(page, "Submit")
    see(page, "Task 3: Submitted.")
    see(page, "3 submitted")
    return ["Positive", "Negative", "Neutral"]


def test_invite_sign_up_label_review_export(server, new_page, tmp_path) -> None:  # noqa: ANN001
    admin = new_page()
    sign_in(admin, server)
    session_cookie = next(c for c in admin.context.cookies() if c["name"] == "labelkit_session")
    assert session_cookie["httpOnly"]
    admin.reload()
    see(admin, "Hello, Ada Admin")  # the session survives a refresh

    create_project(admin, server, "Journey")
    import_tasks(admin, server, tmp_path)
    link = create_invite(admin, server, "Journey")

    annotator = new_page()
    sign_up(annotator, link, "anna@example.com", "anna's password")
    see(annotator, "Journey")
    answers = label_three(annotator, server)

    admin.goto(server.url + "/review")
    see(admin, "3 annotations on 3 tasks waiting")
    # The annotation's card names its annotator (the list's cells are drawn on a canvas).
    admin.locator('[data-testid="stMarkdownContainer"]').filter(has_text="anna@example.com").first.wait_for()
    click(admin, "Accept")
    see(admin, "Accepted anna@example.com's answer on task 1.")

    admin.goto(server.url + "/export")
    admin.get_by_text("Tasks with an accepted annotation, and only the accepted annotations").click()
    see(admin, "1 task will be exported.")
    click(admin, "Prepare the export")
    with admin.expect_download() as download:
        admin.get_by_role("button", name=re.compile("^Download")).click()
    exported = Path(download.value.path()).read_bytes()
    tasks = json.loads(exported)
    assert [t["data"]["text"] for t in tasks] == [TASKS[0]["data"]["text"]]
    (annotation,) = tasks[0]["annotations"]
    assert annotation["completed_by_email"] == "anna@example.com"
    assert [r["value"]["choices"] for r in annotation["result"] if r["type"] == "choices"] == [[answers[0]]]

    out = tmp_path / "cli.json"
    server.cli("export", "Journey", "--format", "JSON", "--only", "accepted", "--out", str(out))
    assert out.read_bytes() == exported


def test_sign_out_ends_the_session(server, new_page) -> None:  # noqa: ANN001
    page = new_page()
    sign_in(page, server)
    old = [c for c in page.context.cookies() if c["name"] == "labelkit_session"]
    click(page, "Sign out")
    see(page, "Sign in")
    page.reload()
    see(page, "Sign in")
    thief = new_page()
    thief.context.add_cookies(old)
    thief.goto(server.url + "/admin")
    see(thief, "Sign in")
    expect(thief.get_by_text("Audit log")).to_have_count(0)


def test_forged_invites_and_pages_without_the_role_are_refused(server, new_page) -> None:  # noqa: ANN001
    page = new_page()
    page.goto(server.url + "/invite/forged-0123456789abcdefghijklmnopqrstuvwxyz")
    see(page, "This invite link is not valid. Ask whoever sent it for a new one.")
    expect(page.get_by_role("button", name="Create account and join")).to_have_count(0)

    link = server.cli("invite", "create", "--role", "annotator")
    annotator = new_page()
    sign_up(annotator, link, "ann-refused@example.com", "a long password")
    annotator.goto(server.url + "/admin")
    see(annotator, "You don't have access to the Admin page")
    expect(annotator.get_by_role("tab", name="Audit log")).to_have_count(0)
    expect(annotator.get_by_role("link", name="Admin")).to_have_count(0)
