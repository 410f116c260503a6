"""Ranking and comparison in a real browser: pick the better of two texts, sort a model's
answers into buckets by drag and drop and by the keyboard, submit, and find Label
Studio's "pairwise" and "ranker" results in the database."""

from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from labelkit.models import Annotation, Task
from tests.e2e.servers import Server
from tests.e2e.steps import click, fresh, rerun, see, sign_in

pytestmark = pytest.mark.e2e

CONFIG = """<View>
  <Pairwise name="pw" toName="first,second"/>
  <View style="display: grid; grid-template-columns: 1fr 1fr">
    <Text name="first" value="$a"/>
    <Text name="second" value="$b"/>
  </View>
  <List name="answers" value="$items" title="Answers"/>
  <Ranker name="quality" toName="answers">
    <Bucket name="helpful" title="Helpful"/>
    <Bucket name="harmful" title="Harmful"/>
  </Ranker>
</View>"""
TASK = {
    "a": "Trim the stems and keep basil in a glass of water.",
    "b": "Keep basil in a glass of water on the counter, loosely covered, away from the sun.",
    "items": [
        {"id": "a1", "title": "Water glass", "body": "Keep it in water on the counter."},
        {"id": "a2", "title": "Freezer", "body": "Freeze it unwashed."},
        {"id": "a3", "title": "Paper towel", "body": "Wrap it in a damp towel."},
    ],
}


def saved(page: Page, part: str) -> None:
    """Wait until the server holds the ranker's new order (the page shows a move at once)."""
    expect(fresh(page.locator(".lk-ranker"))).to_have_attribute("data-order", re.compile(re.escape(part)))


def test_pick_the_better_text_and_sort_answers_into_buckets(server: Server, new_page) -> None:
    project_id = server.project("Preferences", CONFIG, [TASK])
    page = new_page()
    sign_in(page, server, path=f"/label?project={project_id}")
    see(page, "Drag items to move them")

    click(page, "Right: second")
    fresh(page.get_by_role("button", name="Right: second").and_(page.locator('button[kind="primary"]'))).wait_for()

    column = lambda name: fresh(page.locator(f'.lk-col[data-col="{name}"]'))  # noqa: E731
    item = lambda item_id: fresh(page.locator(f'.lk-item[data-id="{item_id}"]'))  # noqa: E731
    with rerun(page):  # each move is sent at once
        item("a2").drag_to(column("harmful"))  # HTML5 drag and drop, as a mouse does it
    column("harmful").locator('.lk-item[data-id="a2"]').wait_for()
    saved(page, '"harmful":["a2"]')
    with rerun(page):
        item("a3").focus()  # the keyboard way: an arrow moves the focused item to the next column
        page.keyboard.press("ArrowRight")
    column("helpful").locator('.lk-item[data-id="a3"]').wait_for()
    saved(page, '"helpful":["a3"]')
    with rerun(page):
        item("a1").focus()  # the moved item keeps the focus, so a second arrow moves it on
        page.keyboard.press("ArrowRight")
    saved(page, '"helpful":["a3","a1"]')
    with rerun(page):
        page.keyboard.press("ArrowRight")
    saved(page, '"harmful":["a2","a1"]')
    if os.environ.get("LABELKIT_SHOTS"):
        page.screenshot(path=os.path.join(os.environ["LABELKIT_SHOTS"], "ranking.png"), full_page=True)
    click(page, "Submit")
    see(page, "You're all done here")

    with server.db() as db:
        annotation = db.exec(select(Annotation).join(Task).where(Task.project_id == project_id)).one()
    by_type = {item["type"]: item for item in annotation.result}
    assert set(by_type) == {"pairwise", "ranker"}
    pairwise, ranker = by_type["pairwise"], by_type["ranker"]
    # Label Studio writes a pairwise answer with the control as both ends
    assert (pairwise["from_name"], pairwise["to_name"], pairwise["value"]) == ("pw", "pw", {"selected": "right"})
    # with buckets and none default, the items left in the list are kept under "_"
    assert (ranker["from_name"], ranker["to_name"]) == ("quality", "answers")
    assert ranker["value"] == {"ranker": {"_": [], "helpful": ["a3"], "harmful": ["a2", "a1"]}}
    assert all(item["origin"] == "manual" and item["id"] for item in annotation.result)


PDF_CONFIG = """<View>
  <Pdf name="document" value="$pdf"/>
  <Choices name="page_type" toName="document" perItem="true">
    <Choice value="Invoice"/><Choice value="Letter"/><Choice value="Terms"/>
  </Choices>
</View>"""


def test_classify_the_pages_of_a_pdf_one_by_one(server: Server, new_page) -> None:
    project_id = server.project("Pages", PDF_CONFIG, [{"pdf": "/data/upload/samples/invoice.pdf"}])
    page = new_page()
    sign_in(page, server, path=f"/label?project={project_id}")
    see(page, "Page 1 of 3")
    # the page, rendered to an image on the server, has loaded in the browser
    page.wait_for_function("() => [...document.querySelectorAll('img')].some(i => i.complete && i.naturalWidth >= 800)")
    click(page, "Invoice")
    see(page, "Answered pages — 1: Invoice")
    click(page, page.get_by_role("radiogroup").get_by_text("3", exact=True))  # page navigation
    see(page, "Page 3 of 3")
    click(page, "Terms")
    see(page, "Answered pages — 1: Invoice · 3: Terms")
    click(page, "Submit")
    see(page, "You're all done here")

    with server.db() as db:
        annotation = db.exec(select(Annotation).join(Task).where(Task.project_id == project_id)).one()
    # Label Studio's perItem shape: one choices item per page, with the page's index
    assert sorted((i["item_index"], i["value"]["choices"]) for i in annotation.result) == [(0, ["Invoice"]), (2, ["Terms"])]
    assert all((i["from_name"], i["to_name"], i["type"]) == ("page_type", "document", "choices") for i in annotation.result)
