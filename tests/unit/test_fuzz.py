"""Fuzzing (hypothesis) the readers of untrusted input: every importer (JSON, JSONL, CSV,
TSV, TXT, URL lists, Label Studio exports, ZIP) and the label config parser. Whatever the
bytes, the answer is a valid result or a clean labelkit error (InvalidInput and its family)
that a page, the CLI and the API can show; never another exception. Bounded: a few hundred
examples per target, no deadline, well under a minute in all."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from labelkit import importers
from labelkit.config import parse_config
from labelkit.config.templates import TEMPLATES
from labelkit.errors import LabelkitError
from labelkit.importers.base import ReadContext
from labelkit.settings import get_settings

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                           HealthCheck.too_slow])
KEYS = ["text", "image"]

# JSON values of every shape, with the keys a config uses turning up often.
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from([*KEYS, "data", "x", ""]) | st.text(max_size=5),
                                                                inner, max_size=4),
    max_leaves=12,
)
results = st.lists(st.dictionaries(
    st.sampled_from(["from_name", "to_name", "type", "value", "id", "origin", "score"]),
    values | st.sampled_from(["sentiment", "text", "choices", "labels"]), max_size=6), max_size=3)
ls_annotation = st.fixed_dictionaries({}, optional={
    "result": results | values, "completed_by": values | st.fixed_dictionaries({"email": st.emails() | values}),
    "created_at": st.text(max_size=30) | values, "was_cancelled": values, "lead_time": values, "ground_truth": values,
})
ls_task = st.fixed_dictionaries({"data": st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=5), values, max_size=3)},
                                optional={"annotations": st.lists(ls_annotation, max_size=3) | values,
                                          "predictions": st.lists(ls_annotation, max_size=3) | values,
                                          "id": values, "meta": values})


def read_all(format_name: str, content: bytes, filename: str | None = None) -> None:
    """Read every row and check it as the import service does; only labelkit errors may come out."""
    fmt = importers.FORMATS[format_name]
    ctx = ReadContext(filename or f"fuzz{fmt.extensions[0]}", 1, "text", {"image": "image"})
    issues: list[str] = []
    try:
        for row in fmt.read(io.BytesIO(content), ctx):
            importers._task_from(row, ["text"], ctx.filename, issues, ctx.project_id)
    except LabelkitError:
        pass


@pytest.fixture
def media_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Media read from a ZIP or a file is saved under this test's data dir (no database is needed)."""
    monkeypatch.setenv("LABELKIT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LABELKIT_ENV", "test")
    get_settings.cache_clear()
    yield tmp_path / "data"
    get_settings.cache_clear()


@FUZZ
@given(st.binary(max_size=2000))
@example(b'[{"text": "a"}, 1, [], null, {"data": 5}]')
@example(b"\xef\xbb\xbf[" + b"[" * 5000)
@example(b'{"text": "\\ud800"}')
@example(b"\x80")  # found by this test: a short file that is not UTF-8 crashed the JSON reader
@example(b"[1e999999]")
def test_json_bytes(content: bytes) -> None:
    read_all("json", content)


@FUZZ
@given(st.lists(values | ls_task, max_size=6))
def test_json_tasks_and_label_studio_exports(tasks: list) -> None:
    read_all("json", json.dumps(tasks).encode())
    read_all("jsonl", "\n".join(json.dumps(t) for t in tasks).encode())


@FUZZ
@given(st.binary(max_size=2000))
@example(b'{"text": "a"}\n\n[1]\n{"text": NaN}\n{"text": Infinity}\n"x"\n')
@example(b"\xff\xfe{\x00")
def test_jsonl_bytes(content: bytes) -> None:
    read_all("jsonl", content)


@FUZZ
@given(st.lists(st.lists(st.text(max_size=12), max_size=5), max_size=6), st.sampled_from([",", "\t"]))
def test_csv_and_tsv_tables(rows: list[list[str]], delimiter: str) -> None:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter).writerows([["text", "x"], *rows])
    read_all("csv" if delimiter == "," else "tsv", out.getvalue().encode())


@FUZZ
@given(st.binary(max_size=2000), st.sampled_from(["csv", "tsv", "txt", "urls"]))
@example(b'text\n"unclosed\n', "csv")
@example(b"text\x00,x\n", "csv")
@example(b"text\n" + b"a" * 200_000 + b"\n", "csv")
@example(b"\xff\xfe\x00\xd8", "txt")
@example(b"http://[::1\n", "urls")  # found by this test: urlsplit's ValueError
def test_delimited_text_and_url_list_bytes(content: bytes, format_name: str) -> None:
    read_all(format_name, content)


members = st.dictionaries(
    st.sampled_from(["tasks.json", "t.jsonl", "t.csv", "t.tsv", "t.txt", "a.png", "b.wav", "c.pdf", "inner.zip",
                     "../up.txt", "/abs.txt", "dir/", "x.docx", "__MACOSX/._a.txt", "C:/win.txt"]) | st.text(max_size=12),
    st.binary(max_size=300) | st.lists(values | ls_task, max_size=3).map(lambda v: json.dumps(v).encode()),
    max_size=4,
)


@FUZZ
@given(members, st.integers(min_value=0, max_value=400))
def test_zip_archives(media_dir, archive_members: dict[str, bytes], cut: int) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in archive_members.items():
            with contextlib.suppress(ValueError, IndexError):  # a name zipfile cannot write (the input is built, not read)
                archive.writestr(name or "empty", content)
    data = out.getvalue()
    read_all("zip", data)
    read_all("zip", data[:cut] + data[cut + 1:] if cut < len(data) else data[:-1])  # a damaged archive


@FUZZ
@given(st.binary(max_size=600), st.sampled_from(["image", "audio", "video", "pdf"]))
@example(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "image")
def test_media_bytes(media_dir, content: bytes, format_name: str) -> None:
    read_all(format_name, content)


# The config parser: real configs of the template gallery, cut, spliced and sprinkled with
# the pieces of XML and of Label Studio's language that trip parsers.
PIECES = ["<", ">", "/>", "</View>", "<View>", '"', "'", "&", "&amp;", "&#0;", "&#x110000;", "<!DOCTYPE v>", "<!ENTITY a 'b'>",
          "&a;", "<![CDATA[x]]>", "<?xml version='1.0'?>", "<!-- -->", "$", "$text", 'name=""', 'toName="nope"',
          'value="$"', "<Choice/>", "<Label value=''/>", "<Choices name='c' toName='t'>", "<Text name='t' value='$t'/>",
          'maxRating="-1"', 'hotkey="ctrl+"', "<Repeater on='$x' indexFlag='{{idx}}'>", "{{idx}}", "\x00", "\ud800",
          "<Image name='i' value='$i'/>", "<RectangleLabels name='r' toName='i'><Label value='a'/></RectangleLabels>",
          "<Taxonomy name='x' toName='t'>", "<Relations>", "<Style>", "<HyperText name='h' value='$h'/>", "ÿ"]
CONFIGS = [t.config for t in TEMPLATES]


@st.composite
def mutated_configs(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(CONFIGS))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        at = draw(st.integers(min_value=0, max_value=len(text)))
        action = draw(st.sampled_from(["insert", "cut", "splice"]))
        if action == "insert":
            text = text[:at] + draw(st.sampled_from(PIECES) | st.text(max_size=6)) + text[at:]
        elif action == "cut":
            text = text[:at] + text[at + draw(st.integers(min_value=1, max_value=40)):]
        else:
            other = draw(st.sampled_from(CONFIGS))
            start = draw(st.integers(min_value=0, max_value=len(other)))
            text = text[:at] + other[start:start + draw(st.integers(min_value=1, max_value=200))] + text[at:]
    return text


@FUZZ
@given(mutated_configs() | st.text(max_size=300))
@example("<View><Text name='t' value='$t'/><Choices name='c' toName='t'><Choice value='a' hotkey='1'/>"
         "<Choice value='a' hotkey='1'/></Choices></View>")
@example("<View>" * 2000)
@example("<View>\ud800</View>")  # found by this test: a lone surrogate crashed the size check
def test_config_parser(xml: str) -> None:
    with contextlib.suppress(LabelkitError):
        parse_config(xml)


@pytest.fixture
def target(factory):
    from labelkit.models import Role

    admin = factory.user(Role.ADMIN)
    return admin, factory.project(admin)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(ls_task | st.fixed_dictionaries({"text": st.text(min_size=1, max_size=20)}), min_size=1, max_size=4))
def test_label_studio_exports_through_the_import_service(target, tasks: list) -> None:
    """The whole import (rows checked, annotations and predictions written) on a real database."""
    from labelkit.db import session_scope

    admin, project = target
    payload = json.dumps(tasks).encode()
    try:
        with session_scope() as s:
            importers.import_sources(s, admin, project.id, [("export.json", io.BytesIO(payload), len(payload))])
    except LabelkitError:
        pass
