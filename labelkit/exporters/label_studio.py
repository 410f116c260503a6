"""Label Studio JSON: a list of tasks with their annotations and predictions, in the
shape Label Studio exports and imports (https://labelstud.io/guide/export#Label-Studio-JSON-format-of-annotated-tasks)."""

from __future__ import annotations

import json
from typing import BinaryIO

from labelkit.exporters.base import ExportContext, Exporter, ExportedTask, iso
from labelkit.models import AnnotationState


def task_json(item: ExportedTask, project_id: int) -> dict:
    task = item.task
    annotations = [
        {
            "id": a.annotation.id,
            "completed_by": a.annotation.user_id,
            "completed_by_email": a.annotator,
            "result": a.result,
            "was_cancelled": a.annotation.state == AnnotationState.SKIPPED,
            "ground_truth": False,
            "created_at": iso(a.annotation.created_at),
            "updated_at": iso(a.annotation.updated_at),
            "lead_time": round(a.annotation.lead_time, 3),
            "review_status": a.annotation.review_status,
            "task": task.id,
            "project": project_id,
        }
        for a in item.annotations
    ]
    predictions = [
        {
            "id": p.id,
            "result": p.result,
            "score": p.score,
            "model_version": p.model_version,
            "created_at": iso(p.created_at),
            "task": task.id,
            "project": project_id,
        }
        for p in item.predictions
    ]
    return {
        "id": task.id,
        "data": task.data,
        "annotations": annotations,
        "predictions": predictions,
        "meta": {},
        "created_at": iso(task.created_at),
        "total_annotations": task.total_annotations,
        "cancelled_annotations": 0,
        "total_predictions": len(predictions),
        "project": project_id,
        "drafts": [],
    }


def write_json(ctx: ExportContext, out: BinaryIO) -> None:
    out.write(b"[")
    first = True
    for item in ctx.tasks():
        out.write(b"\n" if first else b",\n")
        out.write(json.dumps(task_json(item, ctx.project.id), ensure_ascii=False).encode())
        first = False
    out.write(b"\n]\n")


def write_jsonl(ctx: ExportContext, out: BinaryIO) -> None:
    for item in ctx.tasks():
        out.write(json.dumps(task_json(item, ctx.project.id), ensure_ascii=False).encode())
        out.write(b"\n")


EXPORTERS = [
    Exporter("JSON", "Label Studio JSON", "json", "application/json", write_json,
             "Tasks with annotations and predictions, as Label Studio exports them; imports into Label Studio."),
    Exporter("JSONL", "JSON Lines", "jsonl", "application/jsonl", write_jsonl,
             "The same task objects as Label Studio JSON, one per line."),
]
