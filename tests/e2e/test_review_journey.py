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
from sqlmodel import select

from labelkit.models import Annotation, ReviewStatus, Role, User
from tests.e2e.servers import Person, Server, on_both_databases
from tests.e2e.steps import choose, click, fill, fresh, goto, heading, pick, reload, see, settled, sign_in

pytestmark = [pytest.mark.e2e, on_both_databases]

CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text" choice="single" required="true">
    <Choice value="Positive"/>
    <Choice value="Negative"/>
  </Choices>
</View>"""
TEXTS = ["Great, if you like waiting three weeks.", "Works as described."]
REJECTION = "It is sarcastic: <b>negative</b>"


def annotation_of(server: Server, person: Person) -> Annotation:
    with server.db() as db:
        return db.exec(select(Annotation).join(User, User.id == Annotation.user_id).where(User.email == person.email)).one()


def nav(page: Page, name: str | re.Pattern) -> None:
    click(page, page.get_by_role("link", name=name))


def test_three_people_close_the_review_loop(server: Server, new_page) -> None:
    project_id = server.project("Loop", CONFIG, [{"text": t} for t in TEXTS])
    annotator, reviewer, manager = (server.person(name, projects={project_id: role})
                                    for name, role in (("Ann", Role.ANNOTATOR), ("Rev", Role.REVIEWER), ("Man", Role.MANAGER)))
    ann, rev, man = new_page(), new_page(), new_page()
    for page, person in ((ann, annotator), (rev, reviewer), (man, manager)):
        sign_in(page, server, person.email, person.password)

    # The annotator labels the first task and submits.
    goto(ann, f"{server.url}/label?project={project_id}")
    see(ann, TEXTS[0])
    pick(ann, "Positive")
    click(ann, "Submit")
    see(ann, TEXTS[1])
    task_id = annotation_of(server, annotator).task_id

    # The reviewer sends it back with a comment, and mentions the annotator on the task.
    goto(rev, f"{server.url}/review?project={project_id}")
    see(rev, "1 annotation on 1 task waiting, oldest first")
    see(rev, TEXTS[0])
    fill(rev, "Comment", REJECTION, reruns=True)
    click(rev, "Reject")
    see(rev, f"Sent task {task_id} back to {annotator.email}.")
    assert annotation_of(server, annotator).review_status == ReviewStatus.REJECTED
    see(rev, "Nothing is waiting for your review in Loop.")

    # The annotator's menu counts one unread note, the rejection; the Inbox shows its text as typed.
    reload(ann)
    nav(ann, re.compile(r"Inbox \(1\)$"))
    heading(ann, "Inbox").wait_for()
    see(ann, f"Rev sent task {task_id} back to you: {REJECTION}")
    click(ann, ann.get_by_role("link", name=f"Open task {task_id}"))
    see(ann, re.compile(r"^A reviewer sent this back to you: It is sarcastic"))
    see(ann, TEXTS[0])
    # The task's history is beside it.
    see(ann, f"Rev sent back Ann's answer: {REJECTION}")
    # A comment to the reviewer, by mention.
    fill(ann, "Add a comment", "@rev Fixed: I missed the sarcasm.")
    click(ann, "Post comment")
    see(ann, f"Comment posted. Notified {reviewer.email}.")
    pick(ann, "Negative")
    click(ann, "Update")
    see(ann, f"Task {task_id}: Updated.")

    # The reviewer has the mention in the Inbox and the work back in the queue; accepts it.
    goto(rev, f"{server.url}/inbox")
    see(rev, f"Ann mentioned you on task {task_id}: @rev Fixed: I missed the sarcasm.")
    goto(rev, f"{server.url}/review?project={project_id}")
    see(rev, "1 annotation on 1 task waiting, oldest first")
    click(rev, "Accept")
    see(rev, f"Accepted {annotator.email}'s answer on task {task_id}.")
    accepted = annotation_of(server, annotator)
    assert accepted.review_status == ReviewStatus.ACCEPTED
    assert accepted.result[0]["value"]["choices"] == ["Negative"]

    # The manager opens the task and reads its history, oldest first.
    goto(man, f"{server.url}/label?project={project_id}&task={task_id}")
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
    settled(man)
    shown = [t.split(" · ", 1)[1] for t in fresh(man.locator('[data-testid="stText"]')).all_inner_texts() if " · " in t]
    assert [s for s in shown if s in lines] == lines

    # ... and finds the accepted answer in an export of accepted tasks.
    goto(man, f"{server.url}/export?project={project_id}")
    heading(man, "Export").wait_for()
    choose(man, "Label Studio JSON")
    choose(man, "Tasks with an accepted annotation, and only the accepted annotations")
    see(man, "1 task will be exported.")
    click(man, "Prepare the export")
    download_button = fresh(man.get_by_role("button", name=re.compile(r"^Download .*\.json \(")))
    settled(man)
    with man.expect_download() as download:
        download_button.click()
    (task,) = json.loads(Path(download.value.path()).read_bytes())
    (annotation,) = task["annotations"]
    assert task["data"] == {"text": TEXTS[0]}
    assert annotation["review_status"] == "accepted" and annotation["completed_by_email"] == annotator.email
    assert [r["value"]["choices"] for r in annotation["result"]] == [["Negative"]]
