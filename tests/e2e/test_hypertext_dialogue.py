"""HTML and dialogues in a real browser: select an entity in a task's HTML (widened to
whole words) and text in a conversation, label a whole turn with one click and answer for
it, submit, and find Label Studio's "hypertextlabels" (xpaths, offsets, globalOffsets) and
"paragraphlabels" (turn indices as strings, offsets) results. The HTML's script never runs."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from labelkit.models import Annotation, Task
from tests.e2e.servers import Server
from tests.e2e.steps import click, fresh, rerun, see, settled, sign_in

pytestmark = pytest.mark.e2e

HTML_CONFIG = """<View>
  <HyperTextLabels name="ner" toName="page">
    <Label value="Person" background="#e6194b"/>
    <Label value="Place" background="#4363d8"/>
  </HyperTextLabels>
  <HyperText name="page" value="$html" granularity="word"/>
</View>"""
HTML = ('<div><p>Hello <b>Ada Lovelace</b> from London.</p>'
        '<script>document.title = "pwned"</script><p onclick="document.title=1">Bye.</p></div>')
TEXT = "Hello Ada Lovelace from London.Bye."  # the root's textContent after sanitizing

DIALOGUE_CONFIG = """<View>
  <ParagraphLabels name="tags" toName="chat">
    <Label value="Request" background="#3cb44b"/>
    <Label value="Turn" background="#9e9e9e"/>
  </ParagraphLabels>
  <Paragraphs name="chat" value="$dialogue" layout="dialogue" nameKey="author" textKey="text"/>
  <Choices name="intent" toName="chat" perRegion="true"><Choice value="Greeting"/><Choice value="Booking"/></Choices>
</View>"""
DIALOGUE = [
    {"author": "user", "text": "Hi there."},
    {"author": "agent", "text": "Hello, how can I help?"},
    {"author": "user", "text": "A table for two, please."},
]

# Where a character of the shown text is, as a person's mouse would find it.
_POSITION = """(el, [selector, at]) => {
  const places = [];
  for (const box of (selector ? el.querySelectorAll(selector) : [el])) {
    const walker = document.createTreeWalker(box, NodeFilter.SHOW_TEXT);
    let seen = 0;
    while (walker.nextNode()) {
      const t = walker.currentNode;
      if (at >= seen && at <= seen + t.length) {
        const r = document.createRange(); r.setStart(t, at - seen); r.setEnd(t, at - seen);
        const rect = r.getBoundingClientRect(); return [rect.left, rect.top + rect.height / 2];
      }
      seen += t.length;
    }
  }
  return null;
}"""


def drag(page: Page, start: tuple[float, float], end: tuple[float, float]) -> None:
    page.mouse.move(start[0] + 1, start[1])
    page.mouse.down()
    page.mouse.move(end[0] - 1, end[1], steps=6)
    page.mouse.up()


def select_html(page: Page, start: int, end: int) -> None:
    """Drag across characters start..end of the HTML's text (the labeled text is sent: a run follows)."""
    box = fresh(page.locator(".lk-html")).first
    box.wait_for()
    with rerun(page):
        drag(page, box.evaluate(_POSITION, [None, start]), box.evaluate(_POSITION, [None, end]))


def select_turns(page: Page, turn: int, start: int, last: int, end: int) -> None:
    """Drag from character `start` of turn `turn` to character `end` of turn `last`."""
    box = fresh(page.locator(".lk-dialogue")).first
    box.wait_for()
    phrase = ".lk-turn:nth-child({}) .lk-phrase"
    with rerun(page):
        drag(page, box.evaluate(_POSITION, [phrase.format(turn + 1), start]),
             box.evaluate(_POSITION, [phrase.format(last + 1), end]))


def stored(server: Server, project_id: int) -> list[dict]:
    with server.db() as db:
        return db.exec(select(Annotation).join(Task).where(Task.project_id == project_id)).one().result


def test_label_entities_in_html(server: Server, new_page) -> None:
    project_id = server.project("Pages", HTML_CONFIG, [{"html": HTML}])
    page = new_page()
    sign_in(page, server, path=f"/label?project={project_id}")
    see(page, "Select text with the mouse")
    settled(page)
    assert page.locator(".lk-html script, .lk-html [onclick]").count() == 0
    select_html(page, TEXT.index("Ada"), TEXT.index("Ada") + len("Ada Lovelace"))
    see(page, '1. Person · "Ada Lovelace"')
    click(page, page.locator('button:has-text("Place")'))
    select_html(page, TEXT.index("London") + 1, TEXT.index("London") + 5)  # "ondo": word granularity widens it
    see(page, '2. Place · "London"')
    click(page, page.locator(".lk-html .lk-hl", has_text="Ada Lovelace"))  # a click on a highlight picks it
    expect(fresh(page.locator(".lk-html .lk-picked"))).to_have_text("Ada Lovelace", timeout=20_000)
    expect(fresh(page.locator(".lk-html .lk-hl"))).to_have_count(2)  # both drawn over the HTML
    click(page, page.locator(".lk-html a, .lk-html p").last, run="none")  # clicking the page runs nothing it carried
    assert page.title() != "pwned" and page.title() != "1"
    click(page, "Submit")
    see(page, "You're all done here")

    items = [r for r in stored(server, project_id) if r["type"] == "hypertextlabels"]
    assert [i["value"] for i in items] == [
        {"start": "/div[1]/p[1]/b[1]/text()[1]", "end": "/div[1]/p[1]/b[1]/text()[1]", "startOffset": 0,
         "endOffset": 12, "globalOffsets": {"start": 6, "end": 18}, "text": "Ada Lovelace", "hypertextlabels": ["Person"]},
        {"start": "/div[1]/p[1]/text()[2]", "end": "/div[1]/p[1]/text()[2]", "startOffset": 6, "endOffset": 12,
         "globalOffsets": {"start": 24, "end": 30}, "text": "London", "hypertextlabels": ["Place"]},
    ]
    assert all(i["from_name"] == "ner" and i["to_name"] == "page" and i["origin"] == "manual" for i in items)


def test_label_a_dialogue_across_turns_and_a_whole_turn(server: Server, new_page) -> None:
    project_id = server.project("Chats", DIALOGUE_CONFIG, [{"dialogue": DIALOGUE}])
    page = new_page()
    sign_in(page, server, path=f"/label?project={project_id}")
    see(page, "click a turn's author to label the whole turn")
    select_turns(page, 0, 3, 1, 5)  # "there." … "Hello"
    see(page, '1. Request · "there.')
    click(page, page.locator('button:has-text("Turn")'))
    click(page, page.locator(".lk-turn:nth-child(3) .lk-author"))  # the whole third turn
    see(page, '2. Turn · "A table for two, please."')
    click(page, page.get_by_text("Booking", exact=True))
    expect(fresh(page.locator(".lk-dialogue .lk-span"))).to_have_count(3)  # two pieces of the first region, one of the second
    click(page, "Submit")
    see(page, "You're all done here")

    result = stored(server, project_id)
    spans = [r for r in result if r["type"] == "paragraphlabels"]
    assert [s["value"] for s in spans] == [
        {"start": "0", "end": "1", "startOffset": 3, "endOffset": 5, "text": "there.\nHello",
         "paragraphlabels": ["Request"]},
        {"start": "2", "end": "2", "startOffset": 0, "endOffset": 24, "text": "A table for two, please.",
         "paragraphlabels": ["Turn"]},
    ]
    assert all(s["from_name"] == "tags" and s["to_name"] == "chat" for s in spans)
    (answer,) = [r for r in result if r["type"] == "choices"]
    assert answer["id"] == spans[1]["id"]
    assert answer["value"] == {"start": "2", "end": "2", "startOffset": 0, "endOffset": 24,
                               "text": "A table for two, please.", "choices": ["Booking"]}
