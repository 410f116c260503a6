"""Video in a real browser: the player steps through frames, a box dragged over the frame
starts a track, moved on a later frame it gets a second keyframe, "End track here" ends
it, a range dragged along the timeline is labeled and its end dragged further; submitted, they are Label Studio's
videorectangle and timelinelabels results."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from labelkit.models import Annotation, Role, Task
from tests.e2e.servers import Server
from tests.e2e.steps import click, fresh, rerun, see, settled, sign_in

pytestmark = pytest.mark.e2e

CONFIG = """<View>
  <Labels name="objects" toName="video">
    <Label value="Square" background="#e6194b"/>
    <Label value="Circle" background="#4363d8"/>
  </Labels>
  <Video name="video" value="$video" frameRate="24"/>
  <VideoRectangle name="box" toName="video"/>
  <TimelineLabels name="actions" toName="video">
    <Label value="Moving" background="#3cb44b"/>
    <Label value="Still" background="#f58231"/>
  </TimelineLabels>
  <Choices name="hidden" toName="video" perRegion="true" whenTagName="box"><Choice value="Visible"/><Choice value="Hidden"/></Choices>
</View>"""
FRAMES = 96  # labelkit/samples/shapes.webm: 4 s at 24 fps


def shot(page: Page, name: str) -> None:
    """A screenshot for a person to look at, when LABELKIT_SHOTS names a folder."""
    if os.environ.get("LABELKIT_SHOTS"):
        page.screenshot(path=str(Path(os.environ["LABELKIT_SHOTS"]) / f"video-{name}.png"), full_page=True)


def rect(page: Page, selector: str) -> dict:
    """Where an element of the player is now (the player redraws its boxes and lanes, so
    an element found may be replaced before it is measured: then measure the new one)."""
    for _ in range(20):
        found = fresh(page.locator(selector)).first
        found.wait_for()
        box = found.bounding_box()
        if box:
            return box
    raise AssertionError(f"{selector} never stayed on the page")


def lane_x(page: Page, lane: str, frame: int) -> tuple[float, float]:
    """Where frame N is on a lane of the timeline (the middle of its slot)."""
    fresh(page.locator(".lk-tl")).first.evaluate("el => el.scrollIntoView({block: 'center'})")  # all of it in view
    box = rect(page, f".lk-tl {lane}")
    return box["x"] + (frame - 0.5) / FRAMES * box["width"], box["y"] + box["height"] / 2


def go_to_frame(page: Page, frame: int) -> None:
    """A click on the ruler (the player moves there by itself: nothing runs)."""
    settled(page)
    x, y = lane_x(page, ".lk-ruler", frame)
    page.mouse.click(x, y)
    see(page, re.compile(rf"^Frame {frame} / {FRAMES}"))


def drag(page: Page, start: tuple[float, float], end: tuple[float, float]) -> None:
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=8)
    page.mouse.up()


def on_frame(page: Page, x: float, y: float) -> tuple[float, float]:
    """A point of the video frame, in percent of it."""
    fresh(page.locator(".lk-over")).first.evaluate("el => el.scrollIntoView({block: 'center'})")
    box = rect(page, ".lk-over")
    return box["x"] + box["width"] * x / 100, box["y"] + box["height"] * y / 100


def test_track_a_box_and_label_a_range(server: Server, new_page) -> None:
    project_id = server.project("Clips", CONFIG, [{"video": "/data/upload/samples/shapes.webm"}])
    labeler = server.person("Lee Labeler", role=Role.ADMIN)  # another reviews

    page = new_page()
    sign_in(page, server, email=labeler.email, password=labeler.password, path=f"/label?project={project_id}")
    see(page, f"Frame 1 / {FRAMES}")
    click(page, "frame ▶", run="none")  # the player's own buttons and keys run nothing
    see(page, f"Frame 2 / {FRAMES}")
    click(page, page.locator(".lk-clock"), run="none")  # the player has the keys now
    page.keyboard.press("ArrowRight")
    see(page, f"Frame 3 / {FRAMES}")
    go_to_frame(page, 10)
    with rerun(page):
        drag(page, on_frame(page, 10, 20), on_frame(page, 30, 50))  # around the red square
    see(page, "1. Square · box, 1 keyframe")
    shot(page, "1-box")
    go_to_frame(page, 40)
    with rerun(page):
        box = rect(page, ".lk-box")  # held where it was (no later keyframe)
        drag(page, (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2),
             (box["x"] + box["width"] / 2 + rect(page, ".lk-over")["width"] * 0.3,
              box["y"] + box["height"] / 2))
    see(page, "1. Square · box, 2 keyframes")
    click(page, page.get_by_text("Visible", exact=True))
    go_to_frame(page, 60)
    click(page, "End track here")
    see(page, "1. Square · box, 3 keyframes")
    go_to_frame(page, 25)  # between keyframes 10 and 40: the box is interpolated, drawn dashed
    expect(fresh(page.locator(".lk-box.lk-between"))).to_have_count(1)
    go_to_frame(page, 70)  # after the track ended: no box
    expect(fresh(page.locator(".lk-box"))).to_have_count(0)
    shot(page, "2-track")

    click(page, page.get_by_text("Timeline ranges", exact=True))
    click(page, page.locator('button:has-text("Still")'))
    see(page, re.compile(rf"^Frame \d+ / {FRAMES}"))  # a player drawn anew has loaded its video
    with rerun(page):
        start = lane_x(page, ".lk-new", 12)
        drag(page, start, (lane_x(page, ".lk-new", 30)[0], start[1]))
    see(page, "2. Still · frames 12–30")
    with rerun(page):
        to_x = lane_x(page, ".lk-new", 36)[0]  # (scrolls the timeline into view first)
        bar = rect(page, ".lk-seg[data-range]")  # its end dragged further
        drag(page, (bar["x"] + bar["width"] - 2, bar["y"] + bar["height"] / 2), (to_x, bar["y"] + bar["height"] / 2))
    see(page, "2. Still · frames 12–36")
    go_to_frame(page, 80)  # or start and end at the current frame
    click(page, "Start range here", run="none")
    go_to_frame(page, 84)
    click(page, "End range here (from 80)")
    see(page, "3. Still · frames 80–84")
    shot(page, "3-range")
    click(page, "Submit")
    see(page, "You're all done here")

    page = new_page()  # the review page draws the annotation's track and range on the player
    sign_in(page, server, path=f"/review?project={project_id}")
    see(page, "1. Square · box, 3 keyframes")
    see(page, "2. Still · frames 12–36")
    see(page, "3. Still · frames 80–84")
    expect(fresh(page.locator(".lk-tl .lk-name", has_text="Still"))).to_have_count(2)
    expect(fresh(page.locator(".lk-tl .lk-name", has_text="Square (box)"))).to_have_count(1)
    shot(page, "4-review")

    with server.db() as db:
        annotation = db.exec(select(Annotation).join(Task).where(Task.project_id == project_id)).one()
    (track,) = [r for r in annotation.result if r["type"] == "videorectangle"]
    assert (track["from_name"], track["to_name"], track["origin"]) == ("box", "video", "manual")
    value = track["value"]
    assert value["labels"] == ["Square"] and value["framesCount"] == FRAMES
    assert value["duration"] == pytest.approx(4.0, abs=0.05)
    sequence = value["sequence"]
    assert [(k["frame"], k["enabled"]) for k in sequence] == [(10, True), (40, True), (60, False)]
    assert all(set(k) == {"frame", "enabled", "rotation", "x", "y", "width", "height", "time"} for k in sequence)
    assert sequence[0]["time"] == pytest.approx(10 / 24) and sequence[0]["rotation"] == 0
    first, second, last = sequence
    assert (first["x"], first["y"], first["width"], first["height"]) == pytest.approx((10, 20, 20, 30), abs=1.5)
    assert second["x"] == pytest.approx(40, abs=1.5) and second["width"] == pytest.approx(first["width"])
    assert (last["x"], last["y"]) == pytest.approx((second["x"], second["y"]))
    (answer,) = [r for r in annotation.result if r["type"] == "choices"]
    assert answer["id"] == track["id"] and answer["value"]["choices"] == ["Visible"]
    timeline, marked = [r for r in annotation.result if r["type"] == "timelinelabels"]
    assert (timeline["from_name"], timeline["to_name"]) == ("actions", "video")
    assert timeline["value"] == {"ranges": [{"start": 12, "end": 36}], "timelinelabels": ["Still"]}
    assert marked["value"] == {"ranges": [{"start": 80, "end": 84}], "timelinelabels": ["Still"]}
