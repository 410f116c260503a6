"""CoNLL 2003, spaCy, ASR manifest, JSON-MIN and brush-mask exports, read back as their
users read them: a CoNLL reader written here (BIO checked token by token), spaCy's
character offsets sliced out of the text, manifest lines parsed as JSON, the PNGs opened
with Pillow; every number compared with the annotations, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import re
import wave
import zipfile

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from sqlmodel import select

from labelkit import exporters
from labelkit.cli import main
from labelkit.db import session_scope
from labelkit.errors import InvalidInput
from labelkit.labeling import queue, review, submissions
from labelkit.models import Annotation, Role, User
from labelkit.results import brush
from labelkit.storage import local

NER = """<View>
  <Labels name="label" toName="text"><Label value="PER"/><Label value="ORG"/><Label value="LOC"/></Labels>
  <Text name="text" value="$text"/>
  <Choices name="topic" toName="text"><Choice value="News"/><Choice value="Sport"/></Choices>
</View>"""
FIRST = "Dr. John Smith met IBM's boss in New York, yesterday."
SECOND = "Nothing to see here!"
THIRD = "Not labeled by anyone."


def span(rid: str, text: str, part: str, label: str, nth: int = 0) -> dict:
    start = [m.start() for m in re.finditer(re.escape(part), text)][nth]
    return {"id": rid, "from_name": "label", "to_name": "text", "type": "labels", "origin": "manual",
            "value": {"start": start, "end": start + len(part), "text": part, "labels": [label]}}


def choice(value: str, name: str = "topic", to: str = "text") -> dict:
    return {"id": f"c-{name}", "from_name": name, "to_name": to, "type": "choices", "origin": "manual",
            "value": {"choices": [value]}}


JOHN = span("s1", FIRST, "John Smith", "PER")
IBM = span("s2", FIRST, "IBM", "ORG")
NEW_YORK = span("s3", FIRST, "New York", "LOC")
OVERLAP = span("s4", FIRST, "Smith met", "PER")  # starts inside John Smith: left out
EARLY = span("s0", FIRST, "Dr", "PER")  # in ann's annotation, replaced by bob's later one


def submit(person, project, result: list) -> int:
    with session_scope() as s:
        task = queue.claim_next(s, person, project.id).task
    with session_scope() as s:
        submissions.submit(s, person, task.id, result)
    return task.id


@pytest.fixture
def news(factory):
    admin = factory.user(Role.ADMIN, email="admin@example.com")
    project = factory.project(admin, config=NER, title="News", overlap=2)
    factory.tasks(project, admin, [{"text": t, "source": "wire"} for t in (FIRST, SECOND, THIRD)])
    ann, bob = factory.user(email="ann@example.com"), factory.user(email="bob@example.com")
    for person in (ann, bob):
        factory.member(project, person, Role.ANNOTATOR)
    submit(ann, project, [EARLY, choice("Sport")])  # FIRST
    submit(ann, project, [choice("News")])  # SECOND: labeled, no entities
    submit(bob, project, [JOHN, OVERLAP, IBM, NEW_YORK, choice("News")])  # FIRST, the latest
    return project, admin


def news_people() -> tuple:
    with session_scope(write=False) as s:
        return tuple(s.exec(select(User).where(User.email == email)).one() for email in ("ann@example.com", "bob@example.com"))


def export(user, project, fmt: str) -> bytes:
    out = io.BytesIO()
    with session_scope(write=False) as s:
        exporters.export_project(s, user, project.id, fmt, out)
    return out.getvalue()


def read_conll(text: str) -> list[list[tuple[str, str]]]:
    """Documents of (token, tag), as a CoNLL 2003 reader splits them: blank lines between
    documents, the -DOCSTART- line skipped, the first and last column of each line."""
    lines = text.split("\n")
    assert lines[0] == "-DOCSTART- -X- O" and lines[1] == ""
    docs, current = [], []
    for line in lines[2:]:
        if not line:
            if current:
                docs.append(current)
            current = []
            continue
        columns = line.split(" ")
        assert len(columns) == 4 and columns[1:3] == ["-X-", "_"], line
        current.append((columns[0], columns[3]))
    assert not current  # every document ends with a blank line
    return docs


def entities_of(doc: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(type, tokens joined by spaces) of each entity, checking BIO as it goes: every I-
    follows a B- or I- of the same type."""
    found: list[tuple[str, list[str]]] = []
    previous = "O"
    for token, tag in doc:
        assert tag == "O" or re.fullmatch(r"[BI]-\S+", tag), tag
        if tag.startswith("I-"):
            assert previous != "O" and previous[2:] == tag[2:], (token, previous, tag)
            found[-1][1].append(token)
        elif tag.startswith("B-"):
            found.append((tag[2:], [token]))
        previous = tag
    return [(kind, " ".join(tokens)) for kind, tokens in found]


def test_conll_bio_tags_from_the_latest_annotation(news) -> None:
    project, admin = news
    docs = read_conll(export(admin, project, "CONLL2003").decode())
    assert len(docs) == 2  # THIRD is not labeled: left out
    first, second = docs
    # The tokens are the text's words and punctuation marks, nothing lost but spaces.
    assert "".join(t for t, _ in first) == re.sub(r"\s", "", FIRST)
    assert [t for t, _ in first] == ["Dr", ".", "John", "Smith", "met", "IBM", "'", "s", "boss", "in", "New", "York", ",", "yesterday", "."]
    # Bob's spans; the one overlapping John Smith is left out, ann's older "Dr" too.
    assert entities_of(first) == [("PER", "John Smith"), ("ORG", "IBM"), ("LOC", "New York")]
    assert [tag for _, tag in first] == ["O", "O", "B-PER", "I-PER", "O", "B-ORG", "O", "O", "O", "O", "B-LOC", "I-LOC", "O", "O", "O"]
    assert [t for t, _ in second] == ["Nothing", "to", "see", "here", "!"] and entities_of(second) == []


def test_an_accepted_annotation_is_exported_rather_than_a_later_one(news, factory) -> None:
    project, admin = news
    rows = json.loads(export(admin, project, "JSON_MIN"))
    ann, _ = news_people()
    ann_first = next(r for r in rows if r.get("text") == FIRST and r.get("annotator") == ann.id)
    reviewer = factory.user(email="rev@example.com")
    factory.member(project, reviewer, Role.REVIEWER)
    with session_scope() as s:
        review.accept(s, reviewer, ann_first["annotation_id"])
    first, _ = read_conll(export(admin, project, "CONLL2003").decode())
    assert entities_of(first) == [("PER", "Dr")]  # ann's, accepted, though bob's is later
    assert json.loads(export(admin, project, "SPACY"))[0]["entities"] == [[0, 2, "PER"]]


def test_conll_two_entities_side_by_side_each_begin(factory) -> None:
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin, config=NER.replace('<Label value="LOC"/>', '<Label value="LOC"/><Label value="Big city"/>'))
    text = "Paris London and Rome"
    factory.tasks(project, admin, [{"text": text}])
    # Two spans next to each other, a span cutting a word (it takes the whole token).
    submit(admin, project, [span("a", text, "Paris", "Big city"), span("b", text, "London", "LOC"), span("c", text, "Rom", "LOC")])
    (doc,) = read_conll(export(admin, project, "CONLL2003").decode())
    assert [tag for _, tag in doc] == ["B-Big_city", "B-LOC", "O", "B-LOC"]
    assert entities_of(doc) == [("Big_city", "Paris"), ("LOC", "London"), ("LOC", "Rome")]


def test_spacy_offsets_give_the_span_texts(news) -> None:
    project, admin = news
    docs = json.loads(export(admin, project, "SPACY"))
    assert [d["text"] for d in docs] == [FIRST, SECOND]
    first = docs[0]
    # As spaCy builds its Doc: doc.char_span(start, end, label) over the same text.
    assert [[first["text"][s:e], label] for s, e, label in first["entities"]] == [["John Smith", "PER"], ["IBM", "ORG"], ["New York", "LOC"]]
    expected = [[r["value"]["start"], r["value"]["end"], r["value"]["labels"][0]] for r in (JOHN, IBM, NEW_YORK)]
    assert first["entities"] == expected
    assert docs[1]["entities"] == []


def test_json_min_one_flat_object_per_annotation(news) -> None:
    project, admin = news
    rows = json.loads(export(admin, project, "JSON_MIN"))
    assert len(rows) == 4  # FIRST twice (ann, bob), SECOND once (ann), THIRD without annotations
    ann, bob = news_people()
    ann_first, bob_first = sorted((r for r in rows if r.get("text") == FIRST), key=lambda r: r["annotation_id"])
    assert ann_first["annotator"] == ann.id and bob_first["annotator"] == bob.id  # user ids, as Label Studio writes
    assert ann_first["id"] == bob_first["id"] and ann_first["annotation_id"] != bob_first["annotation_id"]
    assert bob_first["source"] == "wire" and bob_first["topic"] == "News" and ann_first["topic"] == "Sport"
    assert bob_first["label"] == [r["value"] for r in (JOHN, OVERLAP, IBM, NEW_YORK)]
    for key in ("created_at", "updated_at"):
        assert bob_first[key].endswith("Z")
    assert isinstance(bob_first["lead_time"], (int, float))
    second = next(r for r in rows if r.get("text") == SECOND)
    assert second["topic"] == "News" and "label" not in second
    third = next(r for r in rows if r.get("text") == THIRD)
    assert third == {"text": THIRD, "source": "wire", "id": third["id"], "annotator": None, "annotation_id": None,
                     "created_at": None, "updated_at": None, "lead_time": None}


AUDIO = """<View>
  <Audio name="audio" value="$audio"/>
  <TextArea name="transcription" toName="audio"/>
  <Labels name="speaker" toName="audio"><Label value="Ann"/><Label value="Bob"/></Labels>
  <TextArea name="said" toName="audio" perRegion="true"/>
</View>"""
RATE = 8000


def wav(seconds: float) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(b"\0\0" * int(seconds * RATE))
    return out.getvalue()


def transcription(text: str) -> dict:
    return {"id": "t1", "from_name": "transcription", "to_name": "audio", "type": "textarea", "origin": "manual",
            "value": {"text": [text]}}


def segment(rid: str, start: float, end: float, who: str, said: str | None, length: float = 12.5) -> list[dict]:
    geometry = {"start": start, "end": end, "channel": 0}
    items = [{"id": rid, "from_name": "speaker", "to_name": "audio", "type": "labels", "origin": "manual",
              "original_length": length, "value": {**geometry, "labels": [who]}}]
    if said is not None:
        items.append({"id": rid, "from_name": "said", "to_name": "audio", "type": "textarea", "origin": "manual",
                      "original_length": length, "value": {**geometry, "text": [said]}})
    return items


def test_asr_manifest_lines_and_durations(factory) -> None:
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin, config=AUDIO, title="Calls")
    uploaded = local.save_upload(project.id, "hello.wav", wav(2.5))
    url = "https://example.com/calls/call1.mp3"
    factory.tasks(project, admin, [{"audio": uploaded}, {"audio": url}, {"audio": "https://example.com/x.mp3"}, {"audio": "https://example.com/todo.mp3"}])
    submit(admin, project, [transcription("hello there")])
    submit(admin, project, [transcription("a whole call"), *segment("g1", 1.25, 4.0, "Ann", "good morning"),
                            *segment("g2", 5.5, 9.125, "Bob", "hi ann"), *segment("g3", 10, 11, "Ann", None)])
    submit(admin, project, [transcription("no length known")])
    lines = [json.loads(line) for line in export(admin, project, "ASR_MANIFEST").decode().splitlines()]
    assert {line.pop("annotator") for line in lines} == {admin.email}
    assert lines == [
        {"audio_filepath": uploaded, "duration": 2.5, "text": "hello there"},  # from the WAV header
        {"audio_filepath": url, "duration": 12.5, "text": "a whole call"},  # the segments' original_length
        {"audio_filepath": url, "offset": 1.25, "duration": 2.75, "text": "good morning"},
        {"audio_filepath": url, "offset": 5.5, "duration": 3.625, "text": "hi ann"},  # g3 has no text: no line
        {"audio_filepath": "https://example.com/x.mp3", "duration": None, "text": "no length known"},
    ]  # the fourth task is not labeled: left out
    for line in lines:  # as NeMo reads a segment: it lies within the file
        if "offset" in line:
            assert line["offset"] >= 0 and line["offset"] + line["duration"] <= lines[1]["duration"]


BRUSHES = """<View>
  <Image name="image" value="$image"/>
  <BrushLabels name="tag" toName="image"><Label value="Road"/><Label value="Sky: clear"/></BrushLabels>
</View>"""
W, H = 7, 5


def painted(cells: list[tuple[int, int]]) -> np.ndarray:
    mask = np.zeros((H, W), dtype=bool)
    for y, x in cells:
        mask[y, x] = True
    return mask


def brush_item(rid: str, label: str, mask: np.ndarray) -> dict:
    return {"id": rid, "from_name": "tag", "to_name": "image", "type": "brushlabels", "origin": "manual",
            "original_width": W, "original_height": H, "image_rotation": 0,
            "value": {"format": "rle", "rle": brush.encode(mask), "brushlabels": [label]}}


def test_brush_masks_decode_to_the_painted_pixels(factory) -> None:
    admin = factory.user(Role.ADMIN, email="admin@example.com")
    project = factory.project(admin, config=BRUSHES)
    factory.tasks(project, admin, [{"image": "https://example.com/a.png"}, {"image": "https://example.com/b.png"}])
    road = painted([(4, x) for x in range(W)] + [(3, 2), (3, 3)])
    sky = painted([(0, x) for x in range(W)] + [(1, 0)])
    puddle = painted([(2, 5)])
    first = submit(admin, project, [brush_item("r1", "Road", road), brush_item("r2", "Sky: clear", sky), brush_item("r3", "Road", puddle)])
    # A mask whose RLE does not hold W x H pixels cannot be placed: left out.
    second = submit(admin, project, [brush_item("r4", "Road", np.ones((2, 2), dtype=bool))])
    archive = zipfile.ZipFile(io.BytesIO(export(admin, project, "BRUSH_PNG")))
    with session_scope(write=False) as s:
        annotation_id = s.exec(select(Annotation.id).where(Annotation.task_id == first)).one()
    prefix = f"task-{first}-annotation-{annotation_id}-by-{admin.id}-tag"  # as Label Studio names them
    names = archive.namelist()
    assert names == [f"{prefix}-Road-0.png", f"{prefix}-Sky_ clear-0.png", f"{prefix}-Road-1.png"]
    assert not any(f"task-{second}-" in n for n in names)
    for name, mask in zip(names, (road, sky, puddle), strict=True):
        image = Image.open(io.BytesIO(archive.read(name)))
        assert image.mode == "L" and image.size == (W, H)
        pixels = np.asarray(image)
        assert np.array_equal(pixels, np.where(mask, 255, 0))


def test_projects_without_what_a_format_needs_are_refused(factory) -> None:
    admin = factory.user(Role.ADMIN)
    text_project = factory.project(admin, config=NER)
    audio_project = factory.project(admin, config=AUDIO)
    sentiment = factory.project(admin)  # a text with Choices only
    cases = [
        (audio_project, "CONLL2003", "CoNLL 2003 needs <Labels> on a <Text>"),
        (sentiment, "SPACY", "spaCy needs <Labels> on a <Text>"),
        (text_project, "ASR_MANIFEST", "needs a <TextArea> on an <Audio>"),
        (text_project, "BRUSH_PNG", "need a <BrushLabels> or <Brush> on an <Image>"),
    ]
    for project, fmt, reason in cases:
        out = io.BytesIO()
        with session_scope(write=False) as s, pytest.raises(InvalidInput, match=re.escape(reason)):
            exporters.export_project(s, admin, project.id, fmt, out)
        assert out.getvalue() == b""  # refused before writing
    # JSON-MIN takes any project.
    assert json.loads(export(admin, sentiment, "JSON_MIN")) == []


def test_cli_writes_the_same_bytes_as_the_page(news, tmp_path) -> None:
    project, admin = news
    for fmt in ("conll2003", "spacy", "json_min"):
        out = tmp_path / f"news.{fmt}"
        result = CliRunner().invoke(main, ["export", "News", "--format", fmt, "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert out.read_bytes() == export(admin, project, fmt.upper())


def test_downloads_are_named_after_their_format(news) -> None:
    project, _ = news
    names = {fmt: exporters.file_name(project, exporters.exporter(fmt), "all")
             for fmt in ("JSON", "SPACY", "JSON_MIN", "CONLL2003", "ASR_MANIFEST", "BRUSH_PNG")}
    assert names["SPACY"].endswith("-all.spacy.json") and names["JSON_MIN"].endswith("-all.min.json")
    assert names["CONLL2003"].endswith(".conll") and names["ASR_MANIFEST"].endswith(".manifest.jsonl")
    assert names["BRUSH_PNG"].endswith(".masks.zip") and len(set(names.values())) == len(names)


def _streamed(fmt: str, config: str, data: dict, result: list, marker: bytes) -> None:
    from labelkit.config import parse_config
    from labelkit.exporters.base import ExportContext, ExportedAnnotation, ExportedTask

    out = io.BytesIO()
    seen = []

    def tasks():
        for task_id in (1, 2, 3):
            if task_id > 1:  # the previous task is written by now
                assert out.getvalue().count(marker) == task_id - 1, (fmt, task_id)
            seen.append(task_id)
            annotation = ExportedAnnotation(1, 1, "a@example.com", "submitted", None, "2026-01-01 00:00:00",
                                            "2026-01-01 00:00:00", 1.0, json.dumps(result))
            yield ExportedTask(task_id, json.dumps(data), None, 1, [annotation])

    ctx = ExportContext(project=None, config=parse_config(config), tasks=tasks, data_keys=lambda: list(data))
    exporters.exporter(fmt).write(ctx, out)
    assert seen == [1, 2, 3] and out.getvalue().count(marker) == 3, fmt


def test_each_format_writes_a_task_before_reading_the_next() -> None:
    """Streaming, checked structurally: when the exporter asks for task n+1, task n's
    output is already in the file (nothing is held back for the end)."""
    _streamed("CONLL2003", NER, {"text": FIRST}, [JOHN], b"John -X- _ B-PER")
    _streamed("SPACY", NER, {"text": FIRST}, [JOHN], b'"PER"')
    _streamed("JSON_MIN", NER, {"text": FIRST}, [JOHN], b'"John Smith"')
    _streamed("ASR_MANIFEST", AUDIO, {"audio": "https://example.com/a.mp3"}, [transcription("hi")], b'"hi"')
    _streamed("BRUSH_PNG", BRUSHES, {"image": "https://example.com/a.png"}, [brush_item("r1", "Road", painted([(0, 0)]))], b"IEND")
