"""The journey a team makes, on SQLite and on PostgreSQL:
sign in -> project from a template -> import -> invite -> sign up -> label -> review -> export;
then sign-out, and the refusals a person meets (a forged invite, a page without the role).

The operator's command line stays covered here (`labelkit project create`, `labelkit import`,
`labelkit invite create`, `labelkit export`): elsewhere tests set up through the REST API."""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from labelkit.models import (
    Annotation,
    AnnotationState,
    Invite,
    Membership,
    Project,
    ReviewStatus,
    Task,
    User,
)
from tests.e2e.servers import ADMIN_EMAIL, ADMIN_PASSWORD, Server, on_both_databases, unique_email
from tests.e2e.steps import (
    button,
    choose,
    chosen,
    click,
    fill,
    fresh,
    goto,
    heading,
    pick,
    press,
    reload,
    rerun,
    see,
    session_cookie,
    settled,
    sign_in,
    sign_in_page,
    signed_in,
    whoami,
)

pytestmark = [pytest.mark.e2e, on_both_databases]

TITLE = "Product reviews"
TASKS = [{"data": {"text": t}} for t in (
    "The delivery was quick and the box was intact.",
    "It broke after one day.",
    "Average product, average price.",
    "I would buy it again!",
    "The manual is in the wrong language.",
)]
ANNOTATOR_NAME, ANNOTATOR_PASSWORD = "Anna Annotator", "anna's password"


def create_project(page: Page, server: Server, title: str) -> int:
    """Projects page, "New project", the "Sentiment with a comment" card, a title, Create."""
    goto(page, server.url + "/projects")
    new_mode = fresh(page.get_by_role("radio", name="New project"))  # the mode switch, once a project exists
    heading(page, "New project").or_(new_mode).first.wait_for()
    settled(page)
    if new_mode.count():
        click(page, new_mode)
    heading(page, "New project").wait_for()
    card = fresh(page.get_by_text("Sentiment with a comment", exact=True)).locator(
        "xpath=ancestor::div[@data-testid='stVerticalBlock'][1]")
    click(page, card.get_by_role("button", name="Use this template"))
    expect(fresh(page.get_by_label("Label config"))).to_have_value(re.compile("What is the sentiment of this review"))
    see(page, "tasks need the key text")  # the live check of the config
    fill(page, "Title", title, reruns=True)
    click(page, "Create project")
    see(page, f"Created {title}. Next: import tasks, then invite your team.")
    project_id = int(re.search(r"[?&]project=(\d+)", page.url).group(1))
    with server.db() as db:
        project = db.get(Project, project_id)
        assert project.title == title
        assert '<TextArea name="comment"' in project.label_config
    return project_id


def import_tasks(page: Page, tmp_path: Path) -> None:
    """From the "Import tasks" link under the new project: upload a JSON file of 5 tasks."""
    click(page, page.get_by_role("link", name="Import tasks"))
    heading(page, "Import tasks").wait_for()
    see(page, "Each task needs text")
    file = tmp_path / "reviews.json"
    file.write_text(json.dumps(TASKS))
    with rerun(page):
        fresh(page.locator('[data-testid="stFileUploader"] input[type=file]')).set_input_files(str(file))
    see(page, "reviews.json")
    click(page, "Import 1 source")
    see(page, "Imported 5 tasks from 1 file.")


def create_invite(page: Page, server: Server, project_id: int) -> str:
    """The project's Team tab: an annotator invite link, read from the page."""
    goto(page, f"{server.url}/projects?project={project_id}")
    click(page, page.get_by_role("tab", name="Team"), run="none")
    form = fresh(page.locator('[data-testid="stForm"]').filter(has_text="New invite link"))
    expect(form.get_by_role("combobox", name="Role")).to_have_value("annotator — labels tasks")  # picked by default
    click(page, "Create invite link")
    see(page, "Copy this invite link and send it (it is shown only once):")
    link = fresh(page.locator('[data-testid="stCode"]').filter(has_text="/invite/")).first.inner_text().strip()
    assert re.fullmatch(rf"{re.escape(server.url)}/invite/[\w-]{{20,}}", link), link
    return link


def sign_up(page: Page, link: str, email: str, name: str, password: str) -> None:
    """Open the invite link in a browser that never saw labelkit; create an account."""
    goto(page, link)
    heading(page, "You're invited").wait_for()
    join(page, email, name, password)


def join(page: Page, email: str, name: str, password: str) -> None:
    """The join page's "Create an account" form: email, name, the password twice (a form:
    nothing runs until its button)."""
    fill(page, "Email", email)
    fill(page, "Your name", name)
    fill(page, "Choose a password (8 characters or more)", password)
    fill(page, "The password again", password)
    click(page, "Create account and join", "began")  # the run sends the browser to /session/start
    signed_in(page)


def label_three(page: Page, server: Server, project_id: int) -> None:
    """Task 1 by the hotkey "1" and Ctrl+Enter; task 2 by a click and Submit; task 3 with a comment."""
    goto(page, f"{server.url}/label?project={project_id}")
    see(page, TASKS[0]["data"]["text"])
    see(page, "Project: 0 of 5 tasks done")
    pick(page, "Positive", hotkey="1")
    expect(chosen(page, "Negative")).to_have_count(0)
    expect(chosen(page, "Neutral")).to_have_count(0)
    press(page, "Control+Enter")
    see(page, re.compile(r"^Task \d+: Submitted\.$"))
    see(page, TASKS[1]["data"]["text"])

    pick(page, "Negative")
    expect(chosen(page, "Positive")).to_have_count(0)
    click(page, "Submit")
    see(page, TASKS[2]["data"]["text"])

    pick(page, "Neutral")
    comment = fresh(page.get_by_label("Comment", exact=True))  # not the task panel's "Add a comment"
    expect(comment).to_have_count(1)  # the previous task's box is gone
    expect(comment).to_have_value("")
    fill(page, comment, "Neither good nor bad.", reruns=True)  # a text area sends its value when it loses focus
    click(page, "Submit")
    see(page, TASKS[3]["data"]["text"])
    # The person's progress: their own count and the project's.
    see(page, re.compile(r"3\s+submitted"))
    see(page, "Project: 3 of 5 tasks done")


def answers(server: Server, email: str) -> dict[str, Annotation]:
    """A person's annotations, by the text of their task."""
    with server.db() as db:
        rows = db.exec(select(Annotation, Task).join(Task, Task.id == Annotation.task_id)
                       .join(User, User.id == Annotation.user_id).where(User.email == email)).all()
        return {task.data["text"]: annotation for annotation, task in rows}


def picked(annotation: Annotation) -> dict[str, object]:
    """from_name -> the value a result holds (choices, text)."""
    out = {}
    for r in annotation.result:
        out[r["from_name"]] = r["value"].get("choices") or r["value"].get("text")
    return out


def test_invite_sign_up_label_review_export(server: Server, new_page, tmp_path: Path) -> None:
    # The admin signs in; the page goes through /session/start, which sets the HttpOnly cookie.
    admin = new_page()
    visited: list[str] = []
    admin.on("request", lambda r: visited.append(r.url) if r.is_navigation_request() else None)
    sign_in(admin, server)
    heading(admin, "Hello, Ada Admin").wait_for()
    assert any(u.startswith(f"{server.url}/session/start?ticket=") for u in visited), visited
    assert "ticket" not in admin.url
    cookie = session_cookie(admin)
    assert cookie and cookie["httpOnly"] and cookie["domain"] == "localhost", admin.context.cookies()
    reload(admin)
    heading(admin, "Hello, Ada Admin").wait_for()  # the session survives a refresh
    signed_in(admin)

    project_id = create_project(admin, server, TITLE)
    import_tasks(admin, tmp_path)
    with server.db() as db:
        stored = db.exec(select(Task).where(Task.project_id == project_id).order_by(Task.id)).all()
        assert [t.data for t in stored] == [t["data"] for t in TASKS]
    link = create_invite(admin, server, project_id)
    with server.db() as db:
        (invite,) = db.exec(select(Invite).where(Invite.project_id == project_id)).all()
        assert (invite.role, invite.project_id) == ("annotator", project_id)
        assert link.rsplit("/", 1)[1] not in (invite.token_hash or "")  # stored hashed

    # A second person opens the link, creates an account and lands signed in.
    annotator_email = unique_email(ANNOTATOR_NAME)
    annotator = new_page()
    goto(annotator, link)
    heading(annotator, "You're invited").wait_for()
    see(annotator, f"This invite gives you the annotator role in the project {TITLE}.")
    join(annotator, annotator_email, ANNOTATOR_NAME, ANNOTATOR_PASSWORD)
    heading(annotator, "Hello, Anna Annotator").wait_for()
    heading(annotator, TITLE).wait_for()  # the project's card on Home
    assert session_cookie(annotator)["httpOnly"]
    with server.db() as db:
        anna = db.exec(select(User).where(User.email == annotator_email)).one()
        assert (anna.name, anna.role) == (ANNOTATOR_NAME, "annotator")
        (membership,) = db.exec(select(Membership).where(Membership.user_id == anna.id)).all()
        assert (membership.project_id, membership.role) == (project_id, "annotator")
        assert db.get(Invite, invite.id).uses == 1

    label_three(annotator, server, project_id)
    work = answers(server, annotator_email)
    texts = [t["data"]["text"] for t in TASKS]
    assert sorted(work) == sorted(texts[:3]), work
    assert {a.state for a in work.values()} == {AnnotationState.SUBMITTED}
    assert picked(work[texts[0]]) == {"sentiment": ["Positive"]}
    assert picked(work[texts[1]]) == {"sentiment": ["Negative"]}
    assert picked(work[texts[2]]) == {"sentiment": ["Neutral"], "comment": ["Neither good nor bad."]}

    # The admin reviews: the oldest waiting task is open; accept it.
    goto(admin, f"{server.url}/review?project={project_id}")
    see(admin, "3 annotations on 3 tasks waiting, oldest first")
    see(admin, texts[0])
    # The card names its annotator (the list's cells are drawn on a canvas, not in the DOM).
    fresh(admin.locator('[data-testid="stMarkdownContainer"]').filter(has_text=annotator_email)).first.wait_for()
    task_one = work[texts[0]].task_id
    click(admin, "Accept")
    see(admin, f"Accepted {annotator_email}'s answer on task {task_one}.")
    see(admin, "2 annotations on 2 tasks waiting, oldest first")
    with server.db() as db:
        statuses = {a.task_id: a.review_status
                    for a in db.exec(select(Annotation).where(Annotation.project_id == project_id)).all()}
        accepted = db.get(Annotation, work[texts[0]].id)
    assert statuses[task_one] == ReviewStatus.ACCEPTED
    assert sorted(s for t, s in statuses.items() if t != task_one) == [ReviewStatus.PENDING] * 2

    # Export: Label Studio JSON, accepted tasks only, through the download button.
    goto(admin, f"{server.url}/export?project={project_id}")
    heading(admin, "Export").wait_for()
    choose(admin, "Label Studio JSON")
    choose(admin, "Tasks with an accepted annotation, and only the accepted annotations")
    see(admin, "1 task will be exported.")
    click(admin, "Prepare the export")
    download_button = fresh(admin.get_by_role("button", name=re.compile(r"^Download .*\.json \(")))
    settled(admin)
    with admin.expect_download() as download:
        download_button.click()
    exported = Path(download.value.path()).read_bytes()
    tasks = json.loads(exported)
    assert [t["data"] for t in tasks] == [TASKS[0]["data"]]
    (annotation,) = tasks[0]["annotations"]
    assert annotation["id"] == accepted.id
    assert annotation["completed_by_email"] == annotator_email
    assert annotation["review_status"] == "accepted"
    assert annotation["result"] == (accepted.reviewed_result or accepted.result)
    assert [r["value"]["choices"] for r in annotation["result"] if r["type"] == "choices"] == [["Positive"]]

    # The command line writes the same bytes.
    out = tmp_path / "cli.json"
    server.cli("export", TITLE, "--format", "JSON", "--only", "accepted", "--out", str(out))
    assert out.read_bytes() == exported


def test_sign_out_ends_the_session(server: Server, new_page) -> None:
    page = new_page()
    sign_in(page, server)
    old = session_cookie(page)
    assert whoami(server, old["value"]).json()["email"] == ADMIN_EMAIL

    click(page, "Sign out", "began")  # the run sends the browser to /session/logout
    sign_in_page(page)
    assert session_cookie(page) is None
    reload(page)
    sign_in_page(page)
    expect(button(page, "Sign out")).to_have_count(0)

    # The old cookie, replayed, gives nothing: not the API, not a page.
    assert whoami(server, old["value"]).status_code == 401
    thief = new_page()
    thief.context.add_cookies([old])
    goto(thief, server.url + "/admin")
    sign_in_page(thief)
    expect(fresh(thief.get_by_role("tab", name="Audit log"))).to_have_count(0)
    expect(button(thief, "Sign out")).to_have_count(0)


def test_a_sign_in_link_opened_in_another_browser_signs_nobody_in(server: Server, new_page) -> None:
    """Login CSRF: someone signs in, keeps the /session/start link instead of following it and
    has another person open it; that person's browser is not signed in to the sender's account."""
    sender = new_page()
    links: list[str] = []
    sender.route("**/session/start?*", lambda route: links.append(route.request.url) or route.abort())
    goto(sender, server.url)
    sign_in_page(sender)
    fill(sender, "Email", ADMIN_EMAIL)
    fill(sender, "Password", ADMIN_PASSWORD)
    click(sender, "Sign in", "began")
    for _ in range(200):
        if links:
            break
        sender.wait_for_timeout(100)
    assert links, "the sign-in page never sent its browser to /session/start"

    victim = new_page()
    goto(victim, links[0])
    see(victim, "That sign-in link belongs to the browser that signed in")
    assert session_cookie(victim) is None
    expect(button(victim, "Sign out")).to_have_count(0)

    sender.unroute("**/session/start?*")
    # The browser that signed in holds the ticket's key, and goes there from labelkit's page
    # (as the page's own script does: a typed address would not be same-origin).
    goto(sender, server.url)  # away from the error page the aborted navigation left
    sender.evaluate("url => window.location.assign(url)", links[0])
    signed_in(sender)


def test_forged_invites_and_pages_without_the_role_are_refused(server: Server, new_page) -> None:
    with server.db() as db:
        people = len(db.exec(select(User)).all())
    page = new_page()
    goto(page, f"{server.url}/invite/{secrets.token_urlsafe(32)}")
    see(page, "This invite link is not valid. Ask whoever sent it for a new one.")
    expect(button(page, "Create account and join")).to_have_count(0)
    expect(fresh(page.get_by_label("Password"))).to_have_count(0)
    way_out = fresh(page.get_by_role("link", name="Go to the sign-in page"))
    settled(page)
    if way_out.get_attribute("target") == "_blank":  # Streamlit opens Markdown links in a new tab
        with page.context.expect_page() as opened:
            way_out.click()
        page = opened.value
    else:
        way_out.click()
    sign_in_page(page)  # the way out leads somewhere useful, and the bad token is forgotten
    reload(page)
    sign_in_page(page)
    with server.db() as db:
        assert len(db.exec(select(User)).all()) == people

    link = server.cli("invite", "create", "--role", "annotator")  # the operator's way
    assert re.fullmatch(rf"{re.escape(server.url)}/invite/[\w-]{{20,}}", link), link
    annotator = new_page()
    sign_up(annotator, link, unique_email("Ann Refused"), "Ann Refused", "a long password")
    expect(fresh(annotator.get_by_role("link", name="Admin", exact=True))).to_have_count(0)  # not offered in the sidebar
    goto(annotator, server.url + "/admin")
    see(annotator, "You don't have access to the Admin page")
    see(annotator, "Ask an admin if you need it.")
    expect(fresh(annotator.get_by_role("tab", name="Audit log"))).to_have_count(0)
    expect(fresh(annotator.get_by_role("tab", name="Users"))).to_have_count(0)
    expect(fresh(annotator.get_by_text(ADMIN_EMAIL))).to_have_count(0)  # no user list leaks out

    # The same invite a second time: used up, refused, and nobody new gets in.
    late = new_page()
    goto(late, link)
    see(late, "This invite has already been used. Ask whoever sent it for a new one.")
    with server.db() as db:
        assert len(db.exec(select(User)).all()) == people + 1


def test_download_matches_the_options_on_the_page(server: Server, new_page, tmp_path: Path) -> None:
    """Its project is made the operator's way: `labelkit project create`, then `labelkit import`."""
    config = tmp_path / "config.xml"
    config.write_text('<View><Text name="text" value="$text"/>'
                      '<Choices name="c" toName="text"><Choice value="Yes"/><Choice value="No"/></Choices></View>')
    project_id = server.cli("project", "create", "--title", "Stale export", "--config", str(config))
    assert project_id.isdigit(), project_id  # it prints the new id
    rows = tmp_path / "rows.txt"
    rows.write_text("one\ntwo\nthree\n")
    server.cli("import", project_id, str(rows))

    page = new_page()
    sign_in(page, server, path=f"/export?project={project_id}")
    heading(page, "Export").wait_for()
    choose(page, "Label Studio JSON")
    choose(page, "Every task, with every submitted annotation")
    see(page, "3 tasks will be exported.")
    click(page, "Prepare the export")
    download = fresh(page.get_by_role("button", name=re.compile(r"Download .*\.json \(")))
    download.wait_for()

    choose(page, "JSON Lines")
    choose(page, "Tasks that have all the annotations they need")
    see(page, "0 tasks will be exported.")
    # What the page offers now must not be the 3-task Label Studio JSON made a moment ago.
    expect(download).to_have_count(0, timeout=5_000)


def test_a_second_project_from_the_projects_page(server: Server, new_page) -> None:
    server.project("Already there", '<View><Text name="text" value="$text"/>'
                   '<Choices name="c" toName="text"><Choice value="Yes"/><Choice value="No"/></Choices></View>')
    page = new_page()
    sign_in(page, server)
    create_project(page, server, "Made in the browser")
