"""Time series in a real browser: drag across the plot to label a range, click to mark an
instant, answer a per-region question, submit, and find Label Studio's "timeserieslabels"
results with start/end as milliseconds since 1970 at times of the data."""

from __future__ import annotations

import csv
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Page
from sqlmodel import select

from labelkit.models import Annotation, Task
from tests.e2e.servers import Server
from tests.e2e.steps import click, fresh, rerun, see, sign_in

pytestmark = pytest.mark.e2e

SAMPLE = Path(__file__).resolve().parents[2] / "labelkit" / "samples" / "velocity.csv"
CONFIG = """<View>
  <TimeSeriesLabels name="label" toName="ts">
    <Label value="Steady" background="green"/>
    <Label value="Change" background="red"/>
  </TimeSeriesLabels>
  <TimeSeries name="ts" valueType="url" value="$csv" sep="," timeColumn="time" timeFormat="%Y-%m-%d %H:%M:%S.%f">
    <Channel column="velocity" units="miles/h" legend="Velocity"/>
  </TimeSeries>
  <Choices name="certainty" toName="ts" perRegion="true"><Choice value="Sure"/><Choice value="Unsure"/></Choices>
</View>"""


def data_times() -> list[float]:
    """The sample's time column as Label Studio stores it: ms since 1970."""
    with SAMPLE.open() as f:
        return [datetime.strptime(row["time"], "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC).timestamp() * 1000
                for row in csv.DictReader(f)]


def drag(page: Page, x0: float, x1: float) -> None:
    """Press on the plot at x0 (a fraction of its width) and let go at x1."""
    box = fresh(page.locator(".lk-ts svg")).first.bounding_box()
    y = box["y"] + 60
    page.mouse.move(box["x"] + box["width"] * x0, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * x1, y, steps=8)
    page.mouse.up()


def test_drag_a_range_and_click_an_instant_then_submit(server: Server, new_page) -> None:
    project_id = server.project("Velocity", CONFIG, [{"csv": "/data/upload/samples/velocity.csv"}])

    page = new_page()
    sign_in(page, server, path=f"/label?project={project_id}")
    see(page, "Drag across the plot to label a range")
    fresh(page.locator(".lk-ts svg")).first.wait_for()
    with rerun(page):
        drag(page, 0.3, 0.5)
    see(page, "1. Steady · 2026-06-01")
    click(page, page.get_by_text("Sure", exact=True))
    click(page, page.locator('button:has-text("Change")'))
    with rerun(page):
        drag(page, 0.7, 0.7)  # a click without a drag
    see(page, "2. Change · @ 2026-06-01")
    assert fresh(page.get_by_role("radio", name=re.compile(r"^2\. Change"))).is_checked()
    with rerun(page):
        drag(page, 0.4, 0.4)  # a click on the first band picks it in the list
    fresh(page.get_by_role("radio", name=re.compile(r"^1\. Steady")).and_(page.locator(":checked"))).wait_for()
    click(page, "Submit")
    see(page, "You're all done here")

    with server.db() as db:
        annotation = db.exec(select(Annotation).join(Task).where(Task.project_id == project_id)).one()
    labeled = [r for r in annotation.result if r["type"] == "timeserieslabels"]
    assert [(r["from_name"], r["to_name"], sorted(r["value"])) for r in labeled] == [
        ("label", "ts", ["end", "instant", "start", "timeserieslabels"])] * 2
    (steady, change) = [r["value"] for r in labeled]
    times = data_times()
    assert steady["timeserieslabels"] == ["Steady"] and steady["instant"] is False
    assert times[0] < steady["start"] < steady["end"] < times[-1]
    assert min(abs(steady["start"] - t) for t in times) < 1 and min(abs(steady["end"] - t) for t in times) < 1
    assert change == {"start": change["start"], "end": change["start"], "instant": True, "timeserieslabels": ["Change"]}
    assert steady["end"] < change["start"] < times[-1]
    (answer,) = [r for r in annotation.result if r["type"] == "choices"]
    assert answer["id"] == labeled[0]["id"]
    assert answer["value"] == {"start": steady["start"], "end": steady["end"], "instant": False, "choices": ["Sure"]}
