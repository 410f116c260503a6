"""Import sources beyond task files: audio, video and PDF files become tasks of the object
that shows them; ZIP archives import what they hold and are refused whole when they try
to escape or explode; text files in the encodings spreadsheets save still read right."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from sqlmodel import select

from labelkit import importers
from labelkit.db import session_scope
from labelkit.errors import InvalidInput
from labelkit.models import Role, Task
from labelkit.storage import local

SAMPLES = Path(__file__).resolve().parents[2] / "labelkit" / "samples"
MEDIA = """<View>
  <Audio name="call" value="$call"/>
  <Choices name="ok" toName="call"><Choice value="Fine"/></Choices>
</View>"""


def run_import(user, project, files: dict[str, bytes]):
    sources = [(name, io.BytesIO(content), len(content)) for name, content in files.items()]
    with session_scope() as s:
        return importers.import_sources(s, user, project.id, sources)


def task_data(project) -> list[dict]:
    with session_scope(write=False) as s:
        return [t.data for t in s.exec(select(Task).where(Task.project_id == project.id).order_by(Task.id)).all()]


def zipped(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return out.getvalue()


@pytest.fixture
def owner(factory):
    return factory.user(Role.ADMIN)


@pytest.mark.parametrize(("tag", "sample"), [
    ("Audio", "conversation.wav"), ("AudioPlus", "events.wav"), ("Video", "shapes.webm"), ("Pdf", "invoice.pdf"),
])
def test_audio_video_and_pdf_files_become_tasks_of_their_objects(factory, owner, tag, sample) -> None:
    config = f'<View><{tag} name="media" value="$media"/><Choices name="ok" toName="media"><Choice value="Fine"/></Choices></View>'
    project = factory.project(owner, config=config)
    content = (SAMPLES / sample).read_bytes()
    report = run_import(owner, project, {sample: content, f"again-{sample}": content})
    assert report.created == 2
    for data in task_data(project):
        assert list(data) == ["media"] and data["media"].endswith(sample)
        assert local.resolve(data["media"]).read_bytes() == content


@pytest.mark.parametrize(("name", "content", "expected"), [
    ("call.wav", b"<html>not audio</html>", "call.wav: not a readable audio file"),
    ("second.mp3", b"\x00" * 64, "second.mp3: not a readable audio file"),
])
def test_a_file_that_is_not_what_its_name_says_is_refused(factory, owner, name, content, expected) -> None:
    project = factory.project(owner, config=MEDIA)
    with pytest.raises(InvalidInput, match=expected):
        run_import(owner, project, {"good.wav": (SAMPLES / "events.wav").read_bytes(), name: content})
    assert task_data(project) == []


def test_media_needs_an_object_that_shows_it(factory, owner) -> None:
    project = factory.project(owner)  # a text config
    with pytest.raises(InvalidInput, match=r"no <Audio> or <AudioPlus>, so audio files cannot be imported"):
        run_import(owner, project, {"call.wav": (SAMPLES / "conversation.wav").read_bytes()})


def test_a_zip_imports_the_tasks_and_media_it_holds(factory, owner) -> None:
    project = factory.project(owner, config=MEDIA)
    archive = zipped({
        "batch/tasks.json": json.dumps([{"call": "/data/upload/samples/events.wav", "note": "from json"}]).encode(),
        "batch/audio/one.wav": (SAMPLES / "events.wav").read_bytes(),
        "__MACOSX/batch/._one.wav": b"junk",
    })
    report = run_import(owner, project, {"batch.zip": archive})
    assert report.created == 2
    first, second = task_data(project)
    assert first["note"] == "from json" and second["call"].endswith("one.wav")


@pytest.mark.parametrize(("members", "expected"), [
    ({"ok.txt": b"fine\n", "../../etc/cron.d/evil.txt": b"x\n"}, "points outside the archive"),
    ({"/abs/evil.txt": b"x\n"}, "points outside the archive"),
    ({"inner.zip": b"PK"}, "archives inside archives"),
    ({"notes.docx": b"x"}, "cannot import .docx"),
    ({"big.txt": b"a\n" * 10_000_000}, "a ZIP bomb"),
])
def test_a_dangerous_or_unreadable_zip_is_refused_whole(factory, owner, members, expected) -> None:
    project = factory.project(owner)
    with pytest.raises(InvalidInput, match=expected):
        run_import(owner, project, {"tasks.txt": b"kept only if all is well\n", "upload.zip": zipped(members)})
    assert task_data(project) == []


def test_a_truncated_zip_is_refused(factory, owner) -> None:
    project = factory.project(owner)
    with pytest.raises(InvalidInput, match="not a readable ZIP archive"):
        run_import(owner, project, {"upload.zip": zipped({"a.txt": b"one\n"})[:40]})


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1"])
def test_csv_in_the_encodings_spreadsheets_save_reads_right(factory, owner, encoding) -> None:
    project = factory.project(owner)
    text = 'text,city\n"Crème brûlée, café",Zürich\n"two\nlines",Malmö\n'
    if encoding == "cp1252":
        text = text.replace("Crème", "€ Crème")
    run_import(owner, project, {"tasks.csv": text.encode(encoding)})
    assert task_data(project) == [
        {"text": ("€ " if encoding == "cp1252" else "") + "Crème brûlée, café", "city": "Zürich"},
        {"text": "two\nlines", "city": "Malmö"},
    ]


def test_a_json_list_is_read_item_by_item_not_whole() -> None:
    from labelkit.importers import json_tasks
    from labelkit.importers.base import ReadContext

    content = json.dumps([{"text": f"task number {i}"} for i in range(50_000)]).encode()
    stream = io.BytesIO(content)
    rows = json_tasks.read_json(stream, ReadContext("big.json", 1, "text", {}))
    first = next(rows)
    assert first.value == {"text": "task number 0"} and stream.tell() < len(content) // 4


def test_a_truncated_json_list_says_where_it_broke(factory, owner) -> None:
    project = factory.project(owner)
    with pytest.raises(InvalidInput, match=r"cut\.json: not valid JSON after task 2"):
        run_import(owner, project, {"cut.json": b'[{"text": "a"}, {"text": "b"}, {"text": '})
    assert task_data(project) == []


def test_a_list_of_media_urls_becomes_a_task_each_under_the_right_object(factory, owner) -> None:
    config = """<View><Image name="photo" value="$photo"/><Audio name="call" value="$call"/>
      <Choices name="ok" toName="photo"><Choice value="Fine"/></Choices></View>"""
    project = factory.project(owner, config=config)
    # Both keys are needed by this config, so each URL must fill the key it belongs to: refused here...
    with pytest.raises(InvalidInput, match="missing key 'call'"):
        run_import(owner, project, {"list.urls": b"https://example.org/a/cat.JPG\n"})
    only_audio = factory.project(owner, config='<View><Audio name="call" value="$call"/>'
                                               '<TextArea name="t" toName="call"/></View>')
    report = run_import(owner, only_audio, {"list.urls": b"# calls\nhttps://example.org/c/1.wav\n\ns3://bucket/c/2\n"})
    assert report.created == 2
    assert task_data(only_audio) == [{"call": "https://example.org/c/1.wav"}, {"call": "s3://bucket/c/2"}]


@pytest.mark.parametrize(("line", "expected"), [
    (b"file:///etc/passwd\n", r"line 2: 'file:///etc/passwd' is not an http\(s\) or s3:// URL"),
    (b"https://example.org/v/clip.mp4\n", "line 2: a video file, and this project's config has no object to show it"),
])
def test_a_url_list_names_the_line_it_cannot_take(factory, owner, line, expected) -> None:
    project = factory.project(owner, config=MEDIA)
    with pytest.raises(InvalidInput, match=expected):
        run_import(owner, project, {"list.urls": b"https://example.org/ok.wav\n" + line})
    assert task_data(project) == []
