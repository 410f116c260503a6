"""JSON (a list of tasks, or one task) and JSON Lines (a task a line).

A task is Label Studio's {"data": {...}, "annotations": [...], "predictions": [...]} or a flat object."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import BinaryIO

from labelkit.errors import InvalidInput
from labelkit.importers.base import Format, ReadContext, Row, text_of


def read_json(stream: BinaryIO, ctx: ReadContext) -> Iterator[Row]:
    try:
        payload = _DECODER.decode(text_of(stream).read())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InvalidInput(f"{ctx.filename}: not valid JSON ({_reason(e)})") from None
    if isinstance(payload, dict):
        payload = [payload]
    if not isinstance(payload, list):
        raise InvalidInput(f"{ctx.filename}: expected a list of tasks or one task object")
    for number, item in enumerate(payload, start=1):
        yield Row(f"task {number}", item)


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
