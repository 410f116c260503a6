"""Named-entity spans in a real browser: select words with the mouse, label them, answer
a per-span question, relate two spans, submit, and find Label Studio's "labels" results."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from labelkit.models import Annotation, Task
from tests.e2e.servers import Server
from tests.e2e.steps import click, fresh, rerun, see, sign_in

pytestmark = pytest.mark.e2e

CONFIG = """<View>
  <Labels name="ner" toName="text">
    <Label value="Person" background="#e6194b"/>
    <Label value="Place" background="#4363d8"/>
  </Labels>
  <Text name="text" value="$text" granularity="word"/>
  <Choices name="certain" toName="text" perRegion="true"><Choice value="Sure"/><Choice value="Unsure"/></Choices>
  <Relations><Relation value="lives in"/></Relations>
</View>"""
TEXT = "Ada Lovelace lived in London with her mother."


def select_text(page: Page, start: int, end: int) -> None:
    """Drag the mouse across characters start..end of the text (as a person selects)."""
    box = fresh(page.locator(".lk-text")).first
    box.wait_for()
    positions = box.evaluate(
        """(el, [a, b]) => {
            const at = (i) => {
              for (const piece of el.children) {
                const from = Number(piece.dataset.start), t = piece.firstChild;
                if (t && i >= from && i <= from + t.length) {
                  const r = document.createRange(); r.setStart(t, i - from); r.setEnd(t, i - from);
                  const rect = r.getBoundingClientRect(); return [rect.left, rect.top + rect.height / 2];
                }
              }
            };
            return [at(a), at(b)];
        }""",
        [start, end],
    )
    (x0, y0), (x1, y1) = positions
    page.mouse.move(x0 + 1, y0)
    page.mouse.down()
    page.mouse.move(x1 - 1, y1, steps=6)
    page.mouse.up()


def test_label_entities_and_relate_them(server: Server, new_page) -> None:
    project_id = server.project("People", CONFIG, [{"text": TEXT}])

    page = new_page()
    sign_in(page, server, path=f"/label?project={project_id}")
    see(page, "Select words with the mouse")
    with rerun(page):
        select_text(page, 1, 10)  # inside "Ada Lovelace": word granularity widens it
    see(page, '1. Person · "Ada Lovelace"')
    click(page, page.get_by_text("Sure", exact=True))
    click(page, page.locator('button:has-text("Place")'))
    with rerun(page):
        select_text(page, TEXT.index("London"), TEXT.index("London") + 6)
    see(page, '2. Place · "London"')
    click(page, page.locator(".lk-text .lk-span", has_text="Ada Lovelace"))  # a click on a span picks it
    expect(fresh(page.locator(".lk-text .lk-picked"))).to_have_text("Ada Lovelace", timeout=20_000)
    click(page, page.get_by_text("Relations (0)"), run="none")  # an expander
    click(page, "Relate")
    see(page, "lives in")
    click(page, "Submit")
    see(page, "You're all done here")

    with server.db() as db:
        annotation = db.exec(select(Annotation).join(Task).where(Task.project_id == project_id)).one()
    spans = [r for r in annotation.result if r["type"] == "labels"]
    assert [(s["value"]["start"], s["value"]["end"], s["value"]["text"], s["value"]["labels"]) for s in spans] == [
        (0, 12, "Ada Lovelace", ["Person"]), (22, 28, "London", ["Place"])]
    assert all(s["from_name"] == "ner" and s["to_name"] == "text" and "original_width" not in s for s in spans)
    (answer,) = [r for r in annotation.result if r["type"] == "choices"]
    assert answer["id"] == spans[0]["id"] and answer["value"] == {"start": 0, "end": 12, "text": "Ada Lovelace",
                                                                 "choices": ["Sure"]}
    (relation,) = [r for r in annotation.result if r["type"] == "relation"]
    assert (relation["from_id"], relation["to_id"], relation["labels"]) == (spans[0]["id"], spans[1]["id"], ["lives in"])
