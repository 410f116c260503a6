"""Label Studio JSON: a list of tasks with their annotations and predictions, in the
shape Label Studio exports and imports (https://labelstud.io/guide/export#Label-Studio-JSON-format-of-annotated-tasks).

Data and results are spliced in as the JSON text the database holds: a million tasks
are written without parsing them."""

from __future__ import annotations

import json
from typing import BinaryIO

from labelkit.exporters.base import ExportContext, ExportedAnnotation, ExportedPrediction, ExportedTask, Exporter, iso
from labelkit.models import AnnotationState

_dump = json.JSONEncoder(ensure_ascii=False).encode


def _annotation(a: ExportedAnnotation, task_id: int, project_id: int) -> str:
    fields = _dump(
        {
            "id": a.id,
            # No "completed_by": Label Studio takes a number there as one of its own user ids
            # and refuses the whole file when it has no such user; without it, the annotations
            # go to the person importing. The annotator travels by email (our importer reads it).
            "completed_by_email": a.annotator,
            "was_cancelled": a.state == AnnotationState.SKIPPED,
            "ground_truth": False,
            "created_at": iso(a.created_at),
            "updated_at": iso(a.updated_at),
            "lead_time": round(a.lead_time, 3),
            "review_status": a.review_status,
            "task": task_id,
            "project": project_id,
        }
    )
    return f'{{"result": {a.result_json}, {fields[1:]}'


def _prediction(p: ExportedPrediction, task_id: int, project_id: int) -> str:
    fields = _dump(
        {
            "id": p.id,
            "score": p.score,
            "model_version": p.model_version,
            "created_at": iso(p.created_at),
            "task": task_id,
            "project": project_id,
        }
    )
    return f'{{"result": {p.result_json}, {fields[1:]}'


def task_json(item: ExportedTask, project_id: int) -> str:
    annotations = ", ".join(_annotation(a, item.id, project_id) for a in item.annotations)
    predictions = ", ".join(_prediction(p, item.id, project_id) for p in item.predictions)
    created = _dump(iso(item.created_at))
    return (
        f'{{"id": {item.id}, "data": {item.data_json}, "annotations": [{annotations}], '
        f'"predictions": [{predictions}], "meta": {{}}, "created_at": {created}, '
        f'"total_annotations": {item.total_annotations}, "cancelled_annotations": 0, '
        f'"total_predictions": {len(item.predictions)}, "project": {project_id}, "drafts": []}}'
    )


def _lines(ctx: ExportContext, out: BinaryIO, before: bytes, between: bytes, after: bytes) -> None:
    """Write task objects, buffering a few hundred at a time (one write per task is slow)."""
    pending: list[str] = []
    out.write(before)
    first = True
    for item in ctx.tasks():
        pending.append(task_json(item, ctx.project.id))
        if len(pending) >= 500:
            out.write((b"" if first else between) + between.join(p.encode() for p in pending))
            pending, first = [], False
    if pending:
        out.write((b"" if first else between) + between.join(p.encode() for p in pending))
    out.write(after)


def write_json(ctx: ExportContext, out: BinaryIO) -> None:
    _lines(ctx, out, b"[\n", b",\n", b"\n]\n")


def write_jsonl(ctx: ExportContext, out: BinaryIO) -> None:
    _lines(ctx, out, b"", b"\n", b"\n")


EXPORTERS = [
    Exporter("JSON", "Label Studio JSON", "json", "application/json", write_json,
             "Tasks with annotations and predictions, as Label Studio exports them; imports into Label Studio."),
    Exporter("JSONL", "JSON Lines", "jsonl", "application/jsonl", write_jsonl,
             "The same task objects as Label Studio JSON, one per line."),
]
