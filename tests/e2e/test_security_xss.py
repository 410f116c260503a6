"""Hostile text in a real browser (on SQLite, as conftest says why): task data, an annotation, a comment, a project title and
a person's name carry script, HTML, javascript: links and Markdown/Streamlit directives.
Every page that shows them (labeling, review, the Tasks data manager, the dashboard, the
inbox, export, projects, home, admin) shows them as text: no payload runs (window.__pwned
stays undefined in every frame, no dialog opens) and the text is there literally."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

import pytest
from playwright.sync_api import Page
from sqlmodel import select

from labelkit.models import Role, Task
from tests.e2e.servers import ADMIN_EMAIL, Person, Server, unique_email
from tests.e2e.steps import goto, see, settled, sign_in

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
EVIL_PASSWORD = "mallory password"
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
# Every image has loaded or failed (an image's error event has fired once it is complete).
LOADED = f"""() => {{ {ROOTS}
    return document.readyState === 'complete'
        && roots().every(root => [...root.querySelectorAll('img')].every(img => img.complete));
}}"""
# The text a person reads: the document's and each shadow root's (invisible joiners dropped).
TEXT = f"""() => {{ {ROOTS}
    return roots().map(root => root === document ? (document.body ? document.body.innerText : '')
        : [...root.children].map(e => e.innerText || '').join(' ')).join(' ').replace(/\u200b/g, '');
}}"""

@dataclass
class Hostile:
    """What the set-up made: the project, and Mallory, the admin who wrote the hostile text."""

    project_id: int
    mallory: Person


@pytest.fixture(scope="module")
def hostile_project(server: Server) -> Hostile:
    """A project titled, described and filled with hostile text by Mallory (an admin with a
    hostile name): three copies of the hostile task; Mallory answers the first, Ada the
    second, and Mallory comments on the second, so Ada's inbox holds a note with Mallory's
    name and text. Made with labelkit's services, as the server would."""
    from labelkit import importers
    from labelkit.auth.accounts import find_user
    from labelkit.labeling import submissions
    from labelkit.projects import comments
    from labelkit.projects.crud import ProjectFields, create_project

    mallory = server.person(NAME, role=Role.ADMIN, email=unique_email("mallory"), password=EVIL_PASSWORD)
    with server.services() as db:
        evil = find_user(db, mallory.email)
        project = create_project(db, evil, ProjectFields(title=TITLE, label_config=CONFIG, instructions="Label with care.",
                                                         description=TITLE, review_required=True))
        rows = json.dumps([TASK] * 3).encode()
        importers.import_sources(db, evil, project.id, [("tasks.json", io.BytesIO(rows), len(rows))])
    with server.services() as db:
        evil, ada = find_user(db, mallory.email), find_user(db, ADMIN_EMAIL)
        first, second, _ = db.exec(select(Task.id).where(Task.project_id == project.id).order_by(Task.id)).all()

        def result(text: str) -> list[dict]:
            return [{"from_name": "mood", "to_name": "text", "type": "choices", "value": {"choices": ["Bad"]}},
                    {"from_name": "note", "to_name": "text", "type": "textarea", "value": {"text": [text]}}]

        submissions.submit(db, evil, first, result(ANSWER))
        submissions.submit(db, ada, second, result("fine"))
        comments.add_comment(db, evil, second, COMMENT)
    return Hostile(project.id, mallory)


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
        for frame in self.page.frames:  # an onerror fires once the broken image has failed to load
            try:
                frame.wait_for_function(LOADED)
            except Exception:  # noqa: BLE001, S112 - a frame that went away meanwhile loads nothing
                continue
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
    goto(watch.page, f"{server.url}/{path}")
    see(watch.page, ready)
    settled(watch.page)


def test_hostile_text_is_shown_as_text_on_every_page(server: Server, hostile_project: Hostile, new_page) -> None:
    project = hostile_project.project_id
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


def test_a_hostile_name_is_shown_as_text_to_its_owner(server: Server, hostile_project: Hostile, new_page) -> None:
    watch = Watch(new_page())
    sign_in(watch.page, server, hostile_project.mallory.email, hostile_project.mallory.password)
    see(watch.page, "Hello")
    watch.nothing_ran("home")
    watch.shows("home", NAME)
    assert not watch.missing, "\n".join(watch.missing)
