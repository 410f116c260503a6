"""Audio segments in a real browser: drag across the waveform to mark a segment with the
chosen label, transcribe it, drag its start edge, type its end, submit, and find Label Studio's "labels" and "textarea"
results for the segment (seconds as floats, one id for both items)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page
from sqlmodel import select

from labelkit.models import Annotation, Task
from tests.e2e.servers import Server
from tests.e2e.steps import click, fill, rerun, see, sign_in

pytestmark = pytest.mark.e2e

CONFIG = """<View>
  <Labels name="speaker" toName="audio">
    <Label value="Speaker 1" background="#e6194b"/>
    <Label value="Speaker 2" background="#4363d8"/>
  </Labels>
  <Audio name="audio" value="$audio"/>
  <TextArea name="transcription" toName="audio" rows="2" perRegion="true" required="true"/>
</View>"""
DURATION = 8.0  # seconds of labelkit/samples/conversation.wav


def drag(page: Page, start: float, end: float) -> None:
    """Drag the mouse across the waveform from `start` to `end` seconds."""
    canvas = page.locator("canvas.lk-wave").first
    canvas.wait_for()
    box = canvas.bounding_box()
    y = box["y"] + box["height"] / 3
    page.mouse.move(box["x"] + box["width"] * start / DURATION, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * end / DURATION, y, steps=8)
    page.mouse.up()


def test_mark_a_segment_transcribe_it_adjust_it_and_submit(server: Server, new_page) -> None:
    project_id = server.project("Calls", CONFIG, [{"audio": "/data/upload/samples/conversation.wav"}])

    page = new_page()
    sign_in(page, server, path=f"/label?project={project_id}")
    see(page, "Drag across the waveform")
    see(page, "0:08.0")  # the waveform knows the audio's length
    click(page, page.locator('button:has-text("Speaker 2")'))
    with rerun(page):
        drag(page, 2.5, 4.0)
    see(page, "1. Speaker 2 ·")
    fill(page, "Transcription (required)", "is anybody there", reruns=True)
    with rerun(page):
        drag(page, 2.5, 2.0)  # the picked segment's start edge, dragged earlier
    see(page, re.compile(r"1\. Speaker 2 · 2\.0\d–"))
    fill(page, "end (s)", "4.25", reruns=True)  # set to the hundredth, past a drag's precision
    see(page, re.compile(r"1\. Speaker 2 · 2\.0\d–4\.25"))
    click(page, "Submit")
    see(page, "You're all done here")

    with server.db() as db:
        annotation = db.exec(select(Annotation).join(Task).where(Task.project_id == project_id)).one()
    (segment,) = [r for r in annotation.result if r["type"] == "labels"]
    (text,) = [r for r in annotation.result if r["type"] == "textarea"]
    value = segment["value"]
    assert (segment["from_name"], segment["to_name"], value["labels"], value["channel"]) == (
        "speaker", "audio", ["Speaker 2"], 0)
    assert isinstance(value["start"], float) and isinstance(value["end"], float)
    assert 0 <= value["start"] < value["end"] <= DURATION
    assert value["start"] == pytest.approx(2.0, abs=0.1) and value["end"] == 4.25
    assert text["id"] == segment["id"] and (text["from_name"], text["to_name"]) == ("transcription", "audio")
    assert text["value"] == {"start": value["start"], "end": value["end"], "channel": 0, "text": ["is anybody there"]}
    assert segment["original_length"] == text["original_length"] == DURATION  # as Label Studio writes it
    assert "original_width" not in segment
