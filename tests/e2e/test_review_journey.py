"""The review loop with three people in three browsers, on SQLite and on PostgreSQL:
the annotator labels and submits; the reviewer sends it back with a comment and mentions
the annotator; the annotator finds it in the Inbox, opens the task from there, fixes it and
submits again; the reviewer accepts; the manager reads the task's history and finds the
accepted answer in an export."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page
from sqlalchemy import create_engine
from sqlmodel import Session, select

from labelkit.models import Annotation, Membership, ReviewStatus, Role, User
from tests.e2e.conftest import (
    Server,
    click,
    heading,
    pick,
    project_with_tasks,
    see,
    settled,
    sign_in,
)

pytestmark = pytest.mark.e2e

CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text" choice="single" required="true">
    <Choice value="Positive"/>
    <Choice value="Negative"/>
  </Choices>
</View>"""
TEXTS = ["Great, if you like waiting three weeks.", "Works as described."]
PEOPLE = {  # email -> (name, project role)
    "ann@example.com": ("Ann", Role.ANNOTATOR),
    "rev@example.com": ("Rev", Role.REVIEWER),
    "man@example.com": ("Man", Role.MANAGER),
}
PASSWORD = "a long enough password"
REJECTION = "It is sarcastic: <b>negative</b>"


def team(server: Server, project_id: int) -> None:
    """Three accounts made the operator's way, each a member of the project."""
    for email, (name, _) in PEOPLE.items():
        server.cli("user", "create", email, "--name", name, password=PASSWORD)
    engine = create_engine(server.database_url)
    try:
        with Session(engine) as db:
            for email, (_, role) in PEOPLE.items():
                user = db.exec(select(User).where(User.email == email)).one()
                db.add(Membership(project_id=project_id, user_id=user.id, role=role))
            db.commit()
    finally:
        engine.dispose()


def annotation_of(server: Server, email: str) -> Annotation:
    with server.db() as db:
        return db.exec(select(Annotation).join(User, User.id == Annotation.user_id).where(User.email == email)).one()


def nav(page: Page, name: str | re.Pattern) -> None:
    settled(page)
    page.get_by_role("link", name=name).first.click()


def test_three_people_close_the_review_loop(server: Server, new_page, tmp_path: Path) -> None:
    project_id = project_with_tasks(server, tmp_path, "Loop", CONFIG, [{"text": t} for t in TEXTS])
    team(server, project_id)
    ann, rev, man = new_page(), new_page(), new_page()
    for page, email in ((ann, "ann@example.com"), (rev, "rev@example.com"), (man, "man@example.com")):
        sign_in(page, server, email, PASSWORD)

    # The annotator labels the first task and submits.
    ann.goto(f"{server.url}/label?project={project_id}")
    see(ann, TEXTS[0])
    pick(ann, "Positive")
    click(ann, "Submit")
    see(ann, TEXTS[1])
    task_id = annotation_of(server, "ann@example.com").task_id

    # The reviewer sends it back with a comment, and mentions the annotator on the task.
    rev.goto(f"{server.url}/review?project={project_id}")
    see(rev, "1 annotation on 1 task waiting, oldest first")
    see(rev, TEXTS[0])
    rev.get_by_label("Comment", exact=True).fill(REJECTION)
    rev.get_by_label("Comment", exact=True).press("Tab")
    click(rev, "Reject")
    see(rev, f"Sent task {task_id} back to ann@example.com.")
    assert annotation_of(server, "ann@example.com").review_status == ReviewStatus.REJECTED
    see(rev, "Nothing is waiting for your review in Loop.")

    # The annotator's menu counts one unread note, the rejection; the Inbox shows its text as typed.
    ann.reload()
    nav(ann, re.compile(r"Inbox \(1\)$"))
    heading(ann, "Inbox").wait_for()
    see(ann, f"Rev sent task {task_id} back to you: {REJECTION}")
    ann.get_by_role("link", name=f"Open task {task_id}").click()
    see(ann, re.compile(r"^A reviewer sent this back to you: It is sarcastic"))
    see(ann, TEXTS[0])
    # The task's history is beside it.
    see(ann, f"Rev sent back Ann's answer: {REJECTION}")
    # A comment to the reviewer, by mention.
    ann.get_by_label("Add a comment").fill("@rev Fixed: I missed the sarcasm.")
    click(ann, "Post comment")
    see(ann, "Comment posted. Notified rev@example.com.")
    pick(ann, "Negative")
    click(ann, "Update")
    see(ann, f"Task {task_id}: Updated.")

    # The reviewer has the mention in the Inbox and the work back in the queue; accepts it.
    rev.goto(f"{server.url}/inbox")
    see(rev, f"Ann mentioned you on task {task_id}: @rev Fixed: I missed the sarcasm.")
    rev.goto(f"{server.url}/review?project={project_id}")
    see(rev, "1 annotation on 1 task waiting, oldest first")
    click(rev, "Accept")
    see(rev, f"Accepted ann@example.com's answer on task {task_id}.")
    accepted = annotation_of(server, "ann@example.com")
    assert accepted.review_status == ReviewStatus.ACCEPTED
    assert accepted.result[0]["value"]["choices"] == ["Negative"]

    # The manager opens the task and reads its history, oldest first.
    man.goto(f"{server.url}/label?project={project_id}&task={task_id}")
    see(man, TEXTS[0])
    see(man, "Comments (1 open) and history")  # open: Ann's comment is not resolved
    lines = [
        "imported the task",
        "Ann submitted an answer",
        f"Rev sent back Ann's answer: {REJECTION}",
        "Ann commented: @rev Fixed: I missed the sarcasm.",
        "Ann updated their answer",
        "Rev accepted Ann's answer",
    ]
    for line in lines:
        see(man, re.compile(rf" · {re.escape(line)}$"))
    shown = [t.split(" · ", 1)[1] for t in man.locator('[data-testid="stText"]').all_inner_texts() if " · " in t]
    assert [s for s in shown if s in lines] == lines

    # ... and finds the accepted answer in an export of accepted tasks.
    man.goto(f"{server.url}/export?project={project_id}")
    heading(man, "Export").wait_for()
    settled(man)
    man.get_by_text("Label Studio JSON", exact=True).click()
    settled(man)
    man.get_by_text("Tasks with an accepted annotation, and only the accepted annotations").click()
    see(man, "1 task will be exported.")
    click(man, "Prepare the export")
    download_button = man.get_by_role("button", name=re.compile(r"^Download .*\.json \("))
    settled(man)
    with man.expect_download() as download:
        download_button.click()
    (task,) = json.loads(Path(download.value.path()).read_bytes())
    (annotation,) = task["annotations"]
    assert task["data"] == {"text": TEXTS[0]}
    assert annotation["review_status"] == "accepted" and annotation["completed_by_email"] == "ann@example.com"
    assert [r["value"]["choices"] for r in annotation["result"]] == [["Negative"]]
