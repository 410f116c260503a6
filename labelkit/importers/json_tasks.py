"""JSON (a list of tasks, or one task) and JSON Lines (a task a line).

A task is Label Studio's {"data": {...}, "annotations": [...], "predictions": [...]} or a flat object."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import BinaryIO

from labelkit.errors import InvalidInput
from labelkit.importers.base import Format, ReadContext, Row, text_of


def read_json(stream: BinaryIO, ctx: ReadContext) -> Iterator[Row]:
    """One task object, or a list of them read item by item (ijson): a list of a million
    tasks is never held whole."""
    import ijson

    text = text_of(stream)
    try:
        first = _first_char(text)
    except UnicodeDecodeError:
        raise InvalidInput(f"{ctx.filename}: is not UTF-8 text") from None
    if first == "{":
        try:
            yield Row("task 1", _DECODER.decode("{" + text.read()))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise InvalidInput(f"{ctx.filename}: not valid JSON ({_reason(e)})") from None
        return
    if first != "[":
        raise InvalidInput(f"{ctx.filename}: expected a list of tasks or one task object")
    number = 0
    try:
        for number, item in enumerate(ijson.items(_Utf8("[", text), "item", use_float=True), start=1):
            yield Row(f"task {number}", item)
    except ijson.JSONError as e:
        where = f" after task {number}" if number else ""
        raise InvalidInput(f"{ctx.filename}: not valid JSON{where} ({str(e).splitlines()[0]})") from None
    except UnicodeDecodeError:
        raise InvalidInput(f"{ctx.filename}: is not UTF-8 text") from None


def _first_char(text: io.TextIOBase) -> str:
    while True:
        char = text.read(1)
        if not char or not char.isspace():
            return char


class _Utf8:
    """Text read back as UTF-8 bytes (ijson reads bytes), after what was already read."""

    def __init__(self, head: str, text: io.TextIOBase) -> None:
        self.head, self.text = head, text

    def read(self, size: int = -1) -> bytes:
        if size == 0:  # ijson asks for nothing, to see whether it reads bytes
            return b""
        chunk = self.head + self.text.read(size if size > 0 else -1)
        self.head = ""
        return chunk.encode("utf-8")


def read_jsonl(stream: BinaryIO, ctx: ReadContext) -> Iterator[Row]:
    text = text_of(stream)
    try:
        for number, line in enumerate(text, start=1):
            if not line.strip():
                continue
            line = line.strip()
            try:
                value, end = _DECODER.raw_decode(line)
            except json.JSONDecodeError as e:
                raise InvalidInput(f"{ctx.filename}, line {number}: not valid JSON ({_reason(e)})") from None
            if end != len(line):
                raise InvalidInput(f"{ctx.filename}, line {number}: not valid JSON (extra data after the object)")
            yield Row(number, value, line)
    except UnicodeDecodeError:
        raise InvalidInput(f"{ctx.filename}: is not UTF-8 text") from None


def _no_constants(name: str) -> None:
    """NaN and Infinity are not JSON; Python would accept them."""
    raise json.JSONDecodeError(f"{name} is not valid JSON", name, 0)


_DECODER = json.JSONDecoder(parse_constant=_no_constants)


def _reason(e: Exception) -> str:
    return e.msg if isinstance(e, json.JSONDecodeError) else "not UTF-8 text"


FORMATS = [
    Format("json", (".json",), read_json, "A JSON list of tasks: Label Studio's export ({\"data\": {...}} with annotations and predictions) or flat objects"),
    Format("jsonl", (".jsonl", ".ndjson"), read_jsonl, "JSON Lines: one task object per line"),
]
