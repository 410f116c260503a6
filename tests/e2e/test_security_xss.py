"""Hostile text in a real browser: task data, an annotation, a comment, a project title and
a person's name carry script, HTML, javascript: links and Markdown/Streamlit directives.
Every page that shows them (labeling, review, the Tasks data manager, the dashboard, the
inbox, export, projects, home, admin) shows them as text: no payload runs (window.__pwned
stays undefined in every frame, no dialog opens) and the text is there literally."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page

from tests.e2e.conftest import ROOT, Server, running_server, see, settled, sign_in

pytestmark = pytest.mark.e2e

RUN = "window.__pwned=1"
SCRIPT = f"<script>{RUN}</script>"
IMG = f'<img src=x onerror="{RUN}">'
SVG = "<svg onload=alert(1)>"
LINK = f"[click me](javascript:{RUN})"
ANCHOR = f'<a href="javascript:{RUN}">anchor</a>'
DIRECTIVES = ":red[redtext] **bold** _it_ $x^2$ :material/home: ![pixel](http://127.0.0.1:9/p.png)"
# What must be readable literally wherever the value is shown as text.
FRAGMENTS = [IMG, LINK, ":red[redtext] **bold** _it_"]
SHORTCODES = "$x^2$ :material/home: ![pixel]"


def hostile(label: str) -> str:
    return f"{label} {SCRIPT} {IMG} {SVG} {LINK} {ANCHOR} {DIRECTIVES} end"


TITLE = f"P {IMG} {LINK} :red[redtext] **bold** _it_ {SVG}"  # titles hold 200 characters
NAME = f"Mallory {IMG} :red[redtext] **bold** _it_"
EVIL_EMAIL, EVIL_PASSWORD = "mallory@example.com", "mallory password"
CONFIG = """<View>
  <Header value="$headline"/>
  <Text name="text" value="$text"/>
  <HyperText name="page" value="$html"/>
  <Paragraphs name="chat" value="$dialogue" layout="dialogue" nameKey="author" textKey="text"/>
  <Labels name="ner" toName="text"><Label value="Person"/></Labels>
  <HyperTextLabels name="html_ner" toName="page"><Label value="Place"/></HyperTextLabels>
  <ParagraphLabels name="turns" toName="chat"><Label value="Request"/></ParagraphLabels>
  <Choices name="mood" toName="text"><Choice value="Good"/><Choice value="Bad"/></Choices>
  <TextArea name="note" toName="text"/>
</View>"""
TASK = {
    "headline": hostile("Headline"),
    "text": hostile("Text"),
    "html": f'<p>Safe <b>markup</b> stays</p>{SCRIPT}{IMG}{SVG}<a href="javascript:{RUN}">js link</a>'
            f'<iframe srcdoc="<script>parent.{RUN}</script>"></iframe><p onmouseover="{RUN}">hover</p>',
    "dialogue": [{"author": hostile("Author"), "text": hostile("Turn")}],
}
ANSWER = hostile("Answer")
COMMENT = hostile("Comment")

# The page's document and every shadow root in it (Streamlit's components draw in one).
ROOTS = """function roots(node = document, found = [document]) {
    for (const el of node.querySelectorAll('*')) {
        if (el.shadowRoot) { found.push(el.shadowRoot); roots(el.shadowRoot, found); }
    }
    return found;
}"""
# Elements that only Markdown (or a Streamlit directive) in hostile text would have made,
# and what loads from a task: an <img src=x>, the Markdown image's pixel, a javascript: link.
INTERPRETED = f"""() => {{ {ROOTS}
    return roots().flatMap(root => [...root.querySelectorAll('strong, b, em, i, a, span, img, svg')])
        .filter(e => ['bold', 'redtext', 'it', 'click me', 'pixel'].includes((e.textContent || e.alt || '').trim())
            || (e.tagName === 'IMG' && (e.getAttribute('src') === 'x' || (e.src || '').includes('127.0.0.1:9')))
            || (e.tagName === 'A' && /^\\s*javascript:/i.test(e.getAttribute('href') || ''))
            || e.hasAttribute('onload') || e.hasAttribute('onerror') || e.hasAttribute('onmouseover'))
        .map(e => e.outerHTML.slice(0, 120) + ' in: '
            + (e.closest('[data-testid="stElementContainer"]') || e.parentElement || {{innerText: ''}}).innerText.slice(0, 80));
}}"""
# The text a person reads: the document's and each shadow root's (invisible joiners dropped).
TEXT = f"""() => {{ {ROOTS}
    return roots().map(root => root === document ? (document.body ? document.body.innerText : '')
        : [...root.children].map(e => e.innerText || '').join(' ')).join(' ').replace(/\u200b/g, '');
}}"""

# Every task is the same hostile task; Mallory (an admin) answers task 1, Ada task 2, and
# Mallory comments on task 2, so Ada's inbox holds a note with Mallory's name and text.
SETUP = """
import json, sys
from labelkit.db import session_scope
from labelkit.auth.accounts import create_user
from labelkit.models import Role, User
from labelkit.projects.crud import ProjectFields, create_project
from labelkit import importers
from labelkit.labeling import submissions
from labelkit.projects import comments
from sqlmodel import select
import io
title, name, email, password, config, task, answer, comment = json.loads(sys.argv[1])
with session_scope() as s:
    evil = create_user(s, email, name=name, password=password, role=Role.ADMIN)
    ada = s.exec(select(User).where(User.email == "admin@example.com")).one()
    project = create_project(s, evil, ProjectFields(title=title, label_config=config, instructions="Label with care.", description=title, review_required=True))
    rows = json.dumps([task] * 3).encode()
    importers.import_sources(s, evil, project.id, [("tasks.json", io.BytesIO(rows), len(rows))])
    s.flush()
    print(project.id)
with session_scope() as s:
    from labelkit.models import Task
    evil = s.exec(select(User).where(User.email == email)).one()
    ada = s.exec(select(User).where(User.email == "admin@example.com")).one()
    pid = s.exec(select(Task.project_id).order_by(Task.id.desc())).first()
    first, second, _ = s.exec(select(Task.id).where(Task.project_id == pid).order_by(Task.id)).all()
    def result(text):
        return [{"from_name": "mood", "to_name": "text", "type": "choices", "value": {"choices": ["Bad"]}},
                {"from_name": "note", "to_name": "text", "type": "textarea", "value": {"text": [text]}}]
    submissions.submit(s, evil, first, result(answer))
    submissions.submit(s, ada, second, result("fine"))
    comments.add_comment(s, evil, second, comment)
"""


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    with running_server(request, "sqlite") as running:  # rendering does not depend on the database
        args = json.dumps([TITLE, NAME, EVIL_EMAIL, EVIL_PASSWORD, CONFIG, TASK, ANSWER, COMMENT])
        done = subprocess.run([sys.executable, "-c", SETUP, args], env=running.env, cwd=ROOT,
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        running.project_id = int(done.stdout.split()[0])  # type: ignore[attr-defined]
        yield running


class Watch:
    """A page whose dialogs are recorded (and dismissed) and whose frames are checked."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.dialogs: list[str] = []
        self.missing: list[str] = []
        page.on("dialog", self._dialog)

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def nothing_ran(self, where: str) -> None:
        settled(self.page)
        self.page.wait_for_timeout(300)  # an onerror fires once the broken image has failed to load
        for frame in self.page.frames:
            try:
                ran = frame.evaluate("() => typeof window.__pwned !== 'undefined'")
            except Exception:  # noqa: BLE001, S112 - a frame that went away meanwhile ran nothing
                continue
            assert not ran, f"a payload ran on {where} (frame {frame.url})"
        assert not self.dialogs, f"a payload opened a dialog on {where}: {self.dialogs}"
        for frame in self.page.frames:
            try:
                interpreted = frame.evaluate(INTERPRETED)
            except Exception:  # noqa: BLE001, S112 - a frame that went away meanwhile shows nothing
                continue
            assert not interpreted, f"{where} renders hostile text as Markdown: {interpreted}"

    def shows(self, where: str, *fragments: str) -> None:
        """Each fragment is readable, literally, in the page or one of its frames."""
        for fragment in fragments:
            found = False
            for _ in range(40):
                for frame in self.page.frames:
                    try:
                        text = frame.evaluate(TEXT)
                    except Exception:  # noqa: BLE001, S112 - a frame that went away meanwhile shows nothing
                        continue
                    if fragment in " ".join(text.split()):
                        found = True
                        break
                if found:
                    break
                self.page.wait_for_timeout(250)
            if not found:
                self.missing.append(f"{where} does not show {fragment!r} as text")


def visit(watch: Watch, server: Server, path: str, ready: str) -> None:
    watch.page.goto(f"{server.url}/{path}")
    see(watch.page, ready)
    settled(watch.page)


def test_hostile_text_is_shown_as_text_on_every_page(server: Server, new_page) -> None:
    project = server.project_id  # type: ignore[attr-defined]
    watch = Watch(new_page())
    sign_in(watch.page, server)
    pages = [
        ("", "Hello", [*FRAGMENTS]),  # the project's title in the list
        (f"label?project={project}", "Submit", [*FRAGMENTS, f"Headline {SCRIPT}", f"Text {SCRIPT}", SHORTCODES, f"Turn {SCRIPT}",
                                                f"Author {SCRIPT}", "Safe markup stays"]),
        (f"review?project={project}", "Review", [f"Answer {SCRIPT} {IMG} {SVG} {LINK}", f"Text {SCRIPT}", NAME]),
        (f"tasks?project={project}", "Tasks", [IMG]),
        (f"dashboard?project={project}", "Dashboard", [IMG]),
        (f"export?project={project}", "Export", [IMG]),
        (f"projects?project={project}", "Settings", [IMG]),
        ("inbox", "Inbox", [f"Comment {SCRIPT} {IMG}"]),
        ("admin", "Admin", []),  # people are listed in a table drawn on a canvas
        ("account", "Your account", []),
    ]
    for path, ready, fragments in pages:
        visit(watch, server, path, ready)
        watch.nothing_ran(path)
        watch.shows(path or "home", *fragments)
    assert not watch.missing, "\n".join(watch.missing)


def test_a_hostile_name_is_shown_as_text_to_its_owner(server: Server, new_page) -> None:
    watch = Watch(new_page())
    sign_in(watch.page, server, EVIL_EMAIL, EVIL_PASSWORD)
    see(watch.page, "Hello")
    watch.nothing_ran("home")
    watch.shows("home", NAME)
    assert not watch.missing, "\n".join(watch.missing)
