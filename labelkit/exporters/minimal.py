"""JSON-MIN, as Label Studio writes it: a JSON list with one flat object per annotation,

    {<task data keys>..., "id": task id, <control name>: its value..., "annotator",
     "annotation_id", "created_at", "updated_at", "lead_time"}

A control's value in Label Studio's min form: one choice as a string ("Positive"),
several as {"choices": [...]}; one text of a TextArea as a string; anything else (regions,
ratings, per-region answers...) as the list of its items' values, each with
original_width/original_height when the item has them. A task without annotations
gets one object with its data and id, as a task without annotations gets in a table.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, BinaryIO

from labelkit.exporters.base import ExportContext, Exporter, iso

_dump = json.JSONEncoder(ensure_ascii=False).encode


def min_value(items: list[dict]) -> Any:
    """The items of one control as Label Studio's JSON-MIN writes them."""
    kind = items[0].get("type")
    values = []
    for item in items:
        value = dict(item.get("value") or {})
        for key in ("original_width", "original_height"):
            if key in item:
                value[key] = item[key]
        values.append(value)
    if kind == "choices" and len(values) == 1:
        choices = values[0].get("choices") or []
        return choices[0] if len(choices) == 1 else {"choices": choices}
    if kind == "textarea" and len(values) == 1:
        texts = values[0].get("text") or []
        return texts[0] if len(texts) == 1 else {"text": texts}
    return values


def rows(ctx: ExportContext) -> Iterator[dict]:
    for item in ctx.tasks():
        data = item.data if isinstance(item.data, dict) else {"data": item.data}
        if not item.annotations:
            yield {**data, "id": item.id}
        for a in item.annotations:
            by_control: dict[str, list[dict]] = {}
            for entry in a.result:
                if isinstance(entry, dict) and entry.get("from_name") and entry.get("type") != "relation":
                    by_control.setdefault(entry["from_name"], []).append(entry)
            yield {
                **data,
                "id": item.id,
                **{name: min_value(entries) for name, entries in by_control.items()},
                "annotator": a.annotator,
                "annotation_id": a.id,
                "created_at": iso(a.created_at),
                "updated_at": iso(a.updated_at),
                "lead_time": round(a.lead_time, 3),
            }


def write(ctx: ExportContext, out: BinaryIO) -> None:
    out.write(b"[")
    first = True
    for row in rows(ctx):
        out.write((("\n" if first else ",\n") + _dump(row)).encode())
        first = False
    out.write(b"\n]\n")


EXPORTERS = [
    Exporter("JSON_MIN", "JSON-MIN", "min.json", "application/json", write,
             "A JSON list with one flat object per annotation, as Label Studio's JSON-MIN: the task data, a key per"
             " control (one choice or text as a string, regions as a list of their values), who and when."),
]
