"""JSON-MIN, as Label Studio writes it: a JSON list with one flat object per annotation,

    {<task data keys>..., "id": task id, <control name>: its value..., "annotator": user id,
     "annotation_id", "created_at", "updated_at", "lead_time"}

A control's value in Label Studio's min form: one choice as a string ("Positive"), several
as its value ({"choices": [...]}); one text of a TextArea as a string; anything else
(regions, ratings...) as the list of its items' values, each with original_width and
original_height when the item has them. "annotator" is the annotator's user id, as Label
Studio writes it here (its CSV and our CSV give the email); null for work imported for
nobody here. A task without annotations gets one object with its data, its id and nulls,
as Label Studio writes it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, BinaryIO

from labelkit.exporters.base import ExportContext, Exporter, iso

_dump = json.JSONEncoder(ensure_ascii=False).encode


def min_value(items: list[dict]) -> Any:
    """The items of one control as Label Studio's JSON-MIN writes them (its converter's
    _prettify): each item's value with original_width/height; a Choices item with one
    choice as that string, a TextArea item with one text as that string; one such string
    alone, anything else as the list."""
    out: list[Any] = []
    kind = None
    for item in items:
        value = dict(item.get("value") or {})
        for key in ("original_width", "original_height"):
            if key in item:
                value[key] = item[key]
        kind = item.get("type")
        if kind == "choices" and len(value.get("choices") or []) == 1:
            out.append(value["choices"][0])
        elif kind == "textarea" and len(value.get("text") or []) == 1:
            out.append(value["text"][0])
        else:
            out.append(value)
    return out[0] if kind in ("choices", "textarea") and len(out) == 1 else out


def rows(ctx: ExportContext) -> Iterator[dict]:
    for item in ctx.tasks():
        data = item.data if isinstance(item.data, dict) else {"data": item.data}
        if not item.annotations:
            yield {**data, "id": item.id, "annotator": None, "annotation_id": None, "created_at": None,
                   "updated_at": None, "lead_time": None}
        for a in item.annotations:
            by_control: dict[str, list[dict]] = {}
            for entry in a.result:
                if isinstance(entry, dict) and entry.get("from_name") and entry.get("type") != "relation":
                    by_control.setdefault(entry["from_name"], []).append(entry)
            yield {
                **data,
                "id": item.id,
                **{name: min_value(entries) for name, entries in by_control.items()},
                "annotator": a.user_id,
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
             " control (one choice or text as a string, regions as a list of their values), annotator id and times."),
]
