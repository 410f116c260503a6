"""Hugging Face exports read back as their users read them: the Parquet with pyarrow and
with `datasets.load_dataset("parquet", ...)` (local files only, offline), the JSON lines
with `load_dataset("json", ...)`; every value compared with the annotations, on SQLite
and PostgreSQL."""

from __future__ import annotations

import io
import json
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from labelkit import exporters
from labelkit.cli import main
from labelkit.config import parse_config
from labelkit.db import session_scope
from labelkit.exporters import huggingface
from labelkit.exporters.base import ExportContext, ExportedAnnotation, ExportedTask
from labelkit.labeling import queue, submissions
from labelkit.models import Project, Role
from tests.app.conftest import app_as  # noqa: F401 (the AppTest fixture, for the export page)

# datasets reads these when it is imported: never the network, only the files given.
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"

CLASSIFY = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text"><Choice value="Positive"/><Choice value="Negative"/></Choices>
  <Choices name="topics" toName="text" choice="multiple"><Choice value="Sport"/><Choice value="Politics"/><Choice value="Tech"/></Choices>
  <Rating name="stars" toName="text" maxRating="5"/>
  <Number name="confidence" toName="text"/>
  <TextArea name="comment" toName="text"/>
</View>"""
TEXTS = ["A great match for the home team.", "The new phone is disappointing.", "Nobody labeled this one."]


def answer(name: str, kind: str, value: object) -> dict:
    return {"id": f"i-{name}", "from_name": name, "to_name": "text", "type": kind, "origin": "manual", "value": {kind if kind != "textarea" else "text": value}}


def submit(person, project, result: list) -> int:
    with session_scope() as s:
        task = queue.claim_next(s, person, project.id).task
    with session_scope() as s:
        submissions.submit(s, person, task.id, result)
    return task.id


def export(user, project, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    with session_scope(write=False) as s:
        exporters.export_project(s, user, project.id, fmt, out, **options)
    return out.getvalue()


def parquet_rows(raw: bytes) -> tuple[pa.Table, list[dict]]:
    table = pq.read_table(io.BytesIO(raw))
    return table, table.to_pylist()


def load_hf(raw: bytes, tmp_path, kind: str = "parquet"):
    """The file as a person loads it: datasets.load_dataset on the local file."""
    import datasets

    path = tmp_path / f"export.{kind}"
    path.write_bytes(raw)
    return datasets.load_dataset(kind, data_files=str(path), split="train", cache_dir=str(tmp_path / "hf-cache"))


@pytest.fixture
def reviews(factory):
    """Task 1 labeled by ann and bob (overlap 2), task 2 by ann, task 3 by nobody."""
    admin = factory.user(Role.ADMIN, email="admin@example.com")
    project = factory.project(admin, config=CLASSIFY, title="Reviews", overlap=2)
    factory.tasks(project, admin, [{"text": t, "meta": {"source": "web"}, "sentiment": "guess"} for t in TEXTS])
    ann, bob = factory.user(email="ann@example.com"), factory.user(email="bob@example.com")
    for person in (ann, bob):
        factory.member(project, person, Role.ANNOTATOR)
    submit(ann, project, [answer("sentiment", "choices", ["Positive"]), answer("topics", "choices", ["Sport", "Tech"]),
                          answer("stars", "rating", 4), answer("confidence", "number", 0.75), answer("comment", "textarea", ["Nice", "match"])])
    submit(ann, project, [answer("sentiment", "choices", ["Negative"]), answer("stars", "rating", 1)])
    submit(bob, project, [answer("sentiment", "choices", ["Negative"]), answer("topics", "choices", ["Sport"])])
    return project, admin


def test_text_classification_reads_back_typed_with_pyarrow_and_datasets(reviews, tmp_path) -> None:
    project, admin = reviews
    table, rows = parquet_rows(export(admin, project, "HF_PARQUET"))
    schema = table.schema
    assert schema.names == ["id", "text", "meta", "data.sentiment", "sentiment", "topics", "stars", "confidence", "comment",
                            "annotation_id", "annotator", "review_status", "created_at", "lead_time", "annotations"]
    assert schema.field("id").type == pa.int64() and schema.field("text").type == pa.string()
    assert schema.field("sentiment").type == pa.string() and schema.field("topics").type == pa.list_(pa.string())
    assert schema.field("stars").type == pa.int64() and schema.field("confidence").type == pa.float64()
    assert schema.field("comment").type == pa.string()

    assert len(rows) == 4  # a row per annotation; the unlabeled task once
    first = [r for r in rows if r["text"] == TEXTS[0]]
    ann_first, bob_first = sorted(first, key=lambda r: r["annotation_id"])
    assert ann_first["id"] == bob_first["id"]
    assert (ann_first["annotator"], bob_first["annotator"]) == ("ann@example.com", "bob@example.com")
    assert ann_first["sentiment"] == "Positive" and ann_first["topics"] == ["Sport", "Tech"]
    assert ann_first["stars"] == 4 and ann_first["confidence"] == 0.75 and ann_first["comment"] == "Nice\nmatch"
    assert bob_first["sentiment"] == "Negative" and bob_first["topics"] == ["Sport"] and bob_first["stars"] is None
    # The data key named like a control keeps its value under data.<key>; non-strings as JSON.
    assert ann_first["data.sentiment"] == "guess" and json.loads(ann_first["meta"]) == {"source": "web"}
    # Nothing lost: the annotation's whole Label Studio JSON.
    (full,) = json.loads(ann_first["annotations"])
    assert full["id"] == ann_first["annotation_id"] and full["completed_by_email"] == "ann@example.com"
    assert {i["from_name"] for i in full["result"]} == {"sentiment", "topics", "stars", "confidence", "comment"}
    unlabeled = next(r for r in rows if r["text"] == TEXTS[2])
    assert unlabeled["annotation_id"] is None and unlabeled["sentiment"] is None and unlabeled["annotations"] is None

    data = load_hf(export(admin, project, "HF_PARQUET"), tmp_path)
    assert data.num_rows == 4
    features = data.features
    assert features["sentiment"].dtype == "string" and features["stars"].dtype == "int64"
    assert features["confidence"].dtype == "float64" and features["topics"].feature.dtype == "string"
    assert data.to_list() == rows  # the same values, as a training script sees them


def test_jsonl_has_the_same_rows(reviews, tmp_path) -> None:
    project, admin = reviews
    _, rows = parquet_rows(export(admin, project, "HF_PARQUET"))
    raw = export(admin, project, "HF_JSONL")
    assert [json.loads(line) for line in raw.decode().splitlines()] == rows
    data = load_hf(raw, tmp_path, "json")
    assert data.num_rows == 4 and data.features["stars"].dtype == "int64"
    assert sorted(data["sentiment"], key=str) == sorted((r["sentiment"] for r in rows), key=str)


def test_one_annotation_per_task_gives_one_row_per_task(reviews) -> None:
    project, admin = reviews
    _, rows = parquet_rows(export(admin, project, "HF_PARQUET", one_per_task=True))
    assert [r["text"] for r in rows] == TEXTS
    assert rows[0]["annotator"] == "bob@example.com"  # the two disagree: the latest


def test_the_cli_writes_the_same_parquet(reviews, tmp_path) -> None:
    project, admin = reviews
    out = tmp_path / "reviews.parquet"
    result = CliRunner().invoke(main, ["export", "Reviews", "--format", "hf_parquet", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert pq.read_table(out).to_pylist() == parquet_rows(export(admin, project, "HF_PARQUET"))[1]


NER = """<View>
  <Labels name="entities" toName="text"><Label value="PER"/><Label value="ORG"/></Labels>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text"><Choice value="Positive"/><Choice value="Negative"/></Choices>
</View>"""
SENTENCE = "Ada Lovelace wrote to Babbage at the Royal Society."


def span(rid: str, part: str, label: str) -> dict:
    start = SENTENCE.index(part)
    return {"id": rid, "from_name": "entities", "to_name": "text", "type": "labels", "origin": "manual",
            "value": {"start": start, "end": start + len(part), "text": part, "labels": [label]}}


def test_ner_spans_are_structs_that_slice_the_text(factory, tmp_path) -> None:
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin, config=NER)
    factory.tasks(project, admin, [{"text": SENTENCE}, {"text": "No names here."}])
    submit(admin, project, [span("a", "Ada Lovelace", "PER"), span("b", "Babbage", "PER"), span("c", "Royal Society", "ORG")])
    submit(admin, project, [answer("sentiment", "choices", ["Negative"])])
    table, rows = parquet_rows(export(admin, project, "HF_PARQUET"))
    assert table.schema.field("entities").type == pa.list_(pa.struct([
        ("start", pa.int64()), ("end", pa.int64()), ("text", pa.string()), ("labels", pa.list_(pa.string()))]))
    spans = rows[0]["entities"]
    assert [(SENTENCE[s["start"]:s["end"]], s["labels"]) for s in spans] == [
        ("Ada Lovelace", ["PER"]), ("Babbage", ["PER"]), ("Royal Society", ["ORG"])]
    assert all(s["text"] == SENTENCE[s["start"]:s["end"]] for s in spans)
    assert rows[1]["entities"] == []  # labeled, no entities: empty, not null
    data = load_hf(export(admin, project, "HF_PARQUET"), tmp_path)
    assert data[0]["entities"] == spans


IMAGES = """<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="box" toName="image"><Label value="Car"/><Label value="Person"/></RectangleLabels>
  <PolygonLabels name="outline" toName="image"><Label value="Tree"/></PolygonLabels>
  <Choices name="quality" toName="image" perRegion="true"><Choice value="Clear"/><Choice value="Blurry"/></Choices>
</View>"""


def region(rid: str, control: str, kind: str, value: dict, label: str) -> dict:
    return {"id": rid, "from_name": control, "to_name": "image", "type": kind, "origin": "manual",
            "original_width": 640, "original_height": 480, "image_rotation": 0, "value": {**value, kind: [label]}}


CAR = region("r1", "box", "rectanglelabels", {"x": 10, "y": 20, "width": 30.5, "height": 40, "rotation": 15}, "Car")
TREE = region("p1", "outline", "polygonlabels", {"points": [[50, 10], [90, 20], [70, 80]], "closed": True}, "Tree")
CAR_CLEAR = {**CAR, "from_name": "quality", "type": "choices",
             "value": {**{k: CAR["value"][k] for k in ("x", "y", "width", "height", "rotation")}, "choices": ["Clear"]}}


def test_image_boxes_in_percent_with_the_image_size(factory, tmp_path) -> None:
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin, config=IMAGES)
    factory.tasks(project, admin, [{"image": "https://example.com/street.jpg"}, {"image": "s3://bucket/todo.jpg"}])
    submit(admin, project, [CAR, CAR_CLEAR, TREE])
    table, rows = parquet_rows(export(admin, project, "HF_PARQUET"))
    assert "quality" not in table.schema.names  # a perRegion answer sits in its region
    (box,) = rows[0]["box"]
    assert box == {"x": 10.0, "y": 20.0, "width": 30.5, "height": 40.0, "rotation": 15.0, "original_width": 640,
                   "original_height": 480, "labels": ["Car"], "attributes": json.dumps({"quality": ["Clear"]})}
    # In pixels, as the description says: percent of the image's size.
    assert (box["x"] / 100 * box["original_width"], box["width"] / 100 * box["original_width"]) == (64.0, 195.2)
    (tree,) = rows[0]["outline"]
    assert tree["points"] == [[50.0, 10.0], [90.0, 20.0], [70.0, 80.0]] and tree["closed"] and tree["labels"] == ["Tree"]
    assert rows[1]["image"] == "s3://bucket/todo.jpg" and rows[1]["box"] is None  # not labeled
    data = load_hf(export(admin, project, "HF_PARQUET"), tmp_path)
    assert data.features["box"].feature["width"].dtype == "float64"
    assert data[0]["box"] == rows[0]["box"] and data[0]["image"] == "https://example.com/street.jpg"


def test_row_groups_are_written_as_the_tasks_stream_with_one_schema(monkeypatch) -> None:
    """Structural streaming: with groups of 3 rows, a group is in the output before the
    tasks after it are read; groups with no answers at all keep the config's types."""
    monkeypatch.setattr(huggingface, "GROUP_ROWS", 3)
    out = io.BytesIO()
    sizes = []

    def tasks():
        for i in range(1, 11):
            sizes.append(out.tell())
            result = [answer("sentiment", "choices", ["Positive"]), answer("stars", "rating", i % 5 + 1)] if i <= 3 else []
            annotations = [ExportedAnnotation(i, 1, "a@example.com", "submitted", None, None, None, 1.0, json.dumps(result))] if i <= 5 else []
            yield ExportedTask(i, json.dumps({"text": f"text {i}"}), None, len(annotations), annotations)

    ctx = ExportContext(project=Project(id=7, title="Stream"), config=parse_config(CLASSIFY), tasks=tasks, data_keys=lambda: ["text"])
    exporters.FORMATS["HF_PARQUET"].write(ctx, out)
    assert sizes[3] < sizes[6] < sizes[9]  # a group was written before tasks 4, 7 and 10 were read
    parquet = pq.ParquetFile(io.BytesIO(out.getvalue()))
    assert parquet.metadata.num_row_groups == 4
    groups = [parquet.read_row_group(g) for g in range(4)]
    assert all(g.schema == groups[0].schema for g in groups)
    assert groups[0].schema.field("stars").type == pa.int64()
    rows = parquet.read().to_pylist()
    assert [r["id"] for r in rows] == list(range(1, 11))
    assert [r["stars"] for r in rows[:4]] == [2, 3, 4, None] and rows[9]["sentiment"] is None


def test_every_config_is_exportable_and_odd_values_do_not_break_the_export(factory) -> None:
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin, config=CLASSIFY)
    assert exporters.FORMATS["HF_PARQUET"].supports(parse_config(CLASSIFY)) is None
    assert "HF_PARQUET" not in exporters.unfit_formats(project) and "HF_JSONL" not in exporters.unfit_formats(project)
    factory.tasks(project, admin, [{"text": "odd"}])
    # An imported result whose rating is not a number: null in its typed column, kept in the JSON.
    submit(admin, project, [answer("stars", "rating", "lots"), answer("confidence", "number", "n/a")])
    _, (row,) = parquet_rows(export(admin, project, "HF_PARQUET"))
    assert row["stars"] is None and row["confidence"] is None
    assert {i["from_name"]: i["value"] for i in json.loads(row["annotations"])[0]["result"]}["stars"] == {"rating": "lots"}


MEDIA = """<View>
  <Audio name="audio" value="$audio"/>
  <Labels name="speaker" toName="audio"><Label value="Ann"/></Labels>
  <Image name="image" value="$image"/>
  <BrushLabels name="paint" toName="image"><Label value="Sky"/></BrushLabels>
</View>"""


def test_audio_segments_in_seconds_and_other_shapes_as_json_geometry() -> None:
    segment = {"id": "s1", "from_name": "speaker", "to_name": "audio", "type": "labels", "origin": "manual",
               "value": {"start": 1.25, "end": 3.5, "channel": 0, "labels": ["Ann"]}}
    mask = {"id": "b1", "from_name": "paint", "to_name": "image", "type": "brushlabels", "origin": "manual",
            "original_width": 4, "original_height": 2, "value": {"format": "rle", "rle": [0, 1, 2], "brushlabels": ["Sky"]}}
    annotation = ExportedAnnotation(1, 1, "a@example.com", "submitted", None, None, None, 2.0, json.dumps([segment, mask]))
    task = ExportedTask(1, json.dumps({"audio": "/data/upload/1/a.wav", "image": "/data/upload/1/b.png"}), None, 1, [annotation])
    ctx = ExportContext(project=Project(id=1, title="Media"), config=parse_config(MEDIA), tasks=lambda: iter([task]),
                        data_keys=lambda: ["audio", "image"])
    out = io.BytesIO()
    exporters.FORMATS["HF_PARQUET"].write(ctx, out)
    (row,) = pq.read_table(io.BytesIO(out.getvalue())).to_pylist()
    assert row["speaker"] == [{"start": 1.25, "end": 3.5, "labels": ["Ann"]}]
    (paint,) = row["paint"]
    assert paint["shape"] == "brush" and json.loads(paint["geometry"]) == {"format": "rle", "rle": [0, 1, 2]}
    assert paint["labels"] == ["Sky"] and row["audio"] == "/data/upload/1/a.wav"


def test_the_export_page_offers_and_writes_the_parquet(reviews, app_as, settings) -> None:  # noqa: F811
    from pathlib import Path

    project, admin = reviews
    at = app_as(admin, "export", project=project.id)
    radio = at.radio(key="lk_export_format")
    assert {"Hugging Face Parquet", "Hugging Face JSON lines"} <= set(radio.options)
    radio.set_value("HF_PARQUET").run()
    next(b for b in at.button if b.label == "Prepare the export").click().run()
    (button,) = at.get("download_button")
    assert ".parquet" in button.proto.label
    (written,) = Path(settings.export_dir).glob("*.part")
    assert pq.read_table(written).to_pylist() == parquet_rows(export(admin, project, "HF_PARQUET"))[1]
