"""Importing tasks: every format, every row checked, a bad file changes nothing."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image
from sqlmodel import func, select

from labelkit import importers
from labelkit.config.templates import template
from labelkit.db import session_scope
from labelkit.errors import InvalidInput, PermissionDenied
from labelkit.models import Prediction, Role, Task
from labelkit.storage import local


@pytest.fixture
def owner(factory):
    return factory.user(Role.ADMIN)


def run_import(user, project, files: dict[str, bytes], progress=None):
    sources = [(name, io.BytesIO(content), len(content)) for name, content in files.items()]
    with session_scope() as s:
        return importers.import_sources(s, user, project.id, sources, progress=progress)


def task_data(project) -> list[dict]:
    with session_scope() as s:
        return [t.data for t in s.exec(select(Task).where(Task.project_id == project.id).order_by(Task.id)).all()]


def png(color: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (20, 10), color).save(out, "PNG")
    return out.getvalue()


def test_every_text_format_imports(factory, owner) -> None:
    project = factory.project(owner)
    report = run_import(owner, project, {
        "a.json": json.dumps([{"data": {"text": "one"}}, {"text": "two", "source": "web"}]).encode(),
        "b.jsonl": b'{"text": "three"}\n\n{"data": {"text": "four"}}\n',
        "c.csv": b"text,lang\nfive,en\n\"six, with a comma\",fr\n",
        "d.tsv": b"text\tlang\nseven\tde\n",
        "e.txt": b"eight\n\nnine\n",
    })
    assert report.created == 9 and report.files == 5
    texts = [d["text"] for d in task_data(project)]
    assert texts == ["one", "two", "three", "four", "five", "six, with a comma", "seven", "eight", "nine"]
    assert task_data(project)[1]["source"] == "web"


def test_label_studio_predictions_are_kept(factory, owner) -> None:
    project = factory.project(owner)
    prediction = {"result": [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["Positive"]}}],
                  "score": 0.9, "model_version": "v1"}
    report = run_import(owner, project, {"ls.json": json.dumps([{"data": {"text": "x"}, "predictions": [prediction]}]).encode()})
    assert report.predictions == 1
    with session_scope() as s:
        stored = s.exec(select(Prediction)).one()
    assert stored.score == 0.9 and stored.model_version == "v1" and stored.result == prediction["result"]


def test_images_become_tasks_with_stored_files(factory, owner) -> None:
    project = factory.project(owner, config=template("image-classification").config)
    report = run_import(owner, project, {"cat.png": png(), "dog.png": png("blue")})
    assert report.created == 2
    paths = [d["image"] for d in task_data(project)]
    assert all(p.startswith(f"/data/upload/{project.id}/") for p in paths)
    assert local.resolve(paths[0]).read_bytes() == png()


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"good.csv": b"text\nok\n", "bad.csv": b"text,other\nok,1\n,2\n"}, "bad.csv, line 3: missing key 'text'"),
        ({"bad.jsonl": b'{"text": "a"}\n{"text": "b"\n'}, "bad.jsonl, line 2: not valid JSON"),
        ({"bad.json": b'[{"text": "a"}, "just a string"]'}, "bad.json, task 2: a task must be an object"),
        ({"bad.json": b"[{"}, "bad.json: not valid JSON"),
        ({"short.csv": b"text,lang\na,en\nb\n"}, "short.csv, line 3: 1 columns where the header has 2"),
        ({"latin.txt": "caf\xe9".encode("latin-1")}, "latin.txt: is not UTF-8 text"),
        ({"image.png": b"not an image"}, "this project's config has no <Image>"),
        ({"notes.docx": b"x"}, "cannot import .docx"),
        ({"empty.json": b"[]"}, "the files hold no tasks"),
    ],
)
def test_a_bad_file_is_refused_whole_and_nothing_is_imported(factory, owner, files, expected) -> None:
    project = factory.project(owner)
    with pytest.raises(InvalidInput) as refused:
        run_import(owner, project, files)
    assert expected in str(refused.value)
    assert task_data(project) == []


def test_a_refused_image_import_leaves_no_files(factory, owner, settings) -> None:
    project = factory.project(owner, config=template("image-classification").config)
    with pytest.raises(InvalidInput, match=r"broken\.png: not a readable image"):
        run_import(owner, project, {"fine.png": png(), "broken.png": b"\x89PNG broken"})
    folder = settings.media_dir / "upload" / str(project.id)
    assert not folder.exists() or not any(folder.iterdir())
    assert task_data(project) == []


def test_large_imports_report_progress_and_insert_in_batches(factory, owner) -> None:
    project = factory.project(owner)
    lines = b"".join(json.dumps({"text": f"task {i}"}).encode() + b"\n" for i in range(2500))
    seen: list[float] = []
    report = run_import(owner, project, {"big.jsonl": lines}, progress=lambda share, _text: seen.append(share))
    assert report.created == 2500
    assert seen[-1] == 1.0 and seen == sorted(seen)  # intermediate calls come at most 4 times a second
    with session_scope() as s:
        assert s.exec(select(func.count(Task.id))).one() == 2500


def test_importing_needs_the_manager_role(factory, owner) -> None:
    project = factory.project(owner)
    annotator = factory.user()
    factory.member(project, annotator, Role.ANNOTATOR)
    with pytest.raises(PermissionDenied):
        run_import(annotator, project, {"a.txt": b"x\n"})
    assert task_data(project) == []


def test_oversized_files_are_refused(factory, owner, settings, monkeypatch) -> None:
    project = factory.project(owner)
    monkeypatch.setattr(settings, "max_upload_mb", 1)
    with pytest.raises(InvalidInput, match="larger than the 1 MB upload limit"):
        run_import(owner, project, {"big.txt": b"x\n" * 600_000})
    assert task_data(project) == []


def test_json_lines_keep_their_text_and_refuse_what_json_does_not_allow(factory, owner) -> None:
    project = factory.project(owner)
    report = run_import(owner, project, {"a.jsonl": b'{"text": "caf\\u00e9", "n": 1.50}\n{"data": {"text": "b"}}\n'})
    assert report.created == 2
    assert task_data(project) == [{"text": "café", "n": 1.5}, {"text": "b"}]
    for bad, why in [(b'{"text": NaN}\n', "NaN is not valid JSON"), (b'{"text": "a\\u0000b"}\n', "NUL character")]:
        with pytest.raises(InvalidInput, match=why):
            run_import(owner, project, {"bad.jsonl": bad})
    assert len(task_data(project)) == 2


def test_rows_with_and_without_predictions_mix(factory, owner) -> None:
    project = factory.project(owner)
    prediction = {"result": [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["Positive"]}}]}
    rows = [{"data": {"text": f"t{i}"}, "predictions": [prediction] if i % 3 == 0 else []} for i in range(25_000)]
    report = run_import(owner, project, {"mixed.json": json.dumps(rows).encode()})
    assert (report.created, report.predictions) == (25_000, len(range(0, 25_000, 3)))
    with session_scope() as s:
        predicted = s.exec(select(Task.data).join(Prediction, Prediction.task_id == Task.id)).all()
    assert sorted(int(d["text"][1:]) for d in predicted) == list(range(0, 25_000, 3))
