"""POST /api/projects/{id}/import: tasks as a JSON body (a list of tasks, or one task) or as
uploaded files (any field name), through the one import service: every row is checked
against the config and a bad import is refused whole."""

from __future__ import annotations

import tempfile
import time

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from labelkit import importers
from labelkit.api import schemas
from labelkit.api.auth import current_user, outsiders_see_nothing
from labelkit.api.routing import Id, Router, errors
from labelkit.db import session_scope
from labelkit.errors import InvalidInput
from labelkit.models import User
from labelkit.settings import get_settings

router = Router(tags=["import"])
SPOOL_BYTES = 8 * 1024 * 1024  # a larger JSON body waits on disk, not in memory

BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"oneOf": [
                {"type": "array", "items": {"type": "object"}, "description": "tasks: {data: {...}} or the data itself"},
                {"type": "object", "description": "one task"},
            ]}},
            "multipart/form-data": {"schema": {"type": "object", "additionalProperties": {"type": "string", "format": "binary"}}},
        },
    }
}


async def _sources(request: Request) -> list[tuple[str, object, int | None]]:
    limit = get_settings().max_upload_mb * 1024 * 1024
    if int(request.headers.get("content-length") or 0) > limit:
        raise InvalidInput(f"The request is larger than the {get_settings().max_upload_mb} MB upload limit.")
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        form = await request.form(max_files=100, max_fields=100)
        files = [(item.filename or key, item.file, item.size) for key, item in form.multi_items() if isinstance(item, UploadFile)]
        if not files:
            raise InvalidInput("Attach at least one file of tasks (any field name, e.g. -F file=@tasks.json).")
        return files
    body = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - closed after the import
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            body.close()
            raise InvalidInput(f"The request is larger than the {get_settings().max_upload_mb} MB upload limit.")
        body.write(chunk)
    body.seek(0)
    # The JSON importer reads a list of tasks item by item, or one task object, and names a bad row.
    return [("request.json", body, size)]


@router.post("/projects/{id}/import", status_code=201, response_model=schemas.ImportReport,
             responses=errors(400, 401, 403, 404), openapi_extra=BODY)
async def import_tasks(id: Id, request: Request, user: User = Depends(current_user)) -> dict:
    """Import tasks (managers). Nothing is imported when any row is wrong; the detail names the rows."""
    sources = await _sources(request)
    started = time.monotonic()

    def run() -> importers.ImportReport:
        with session_scope() as session, outsiders_see_nothing(session, user, id):
            return importers.import_sources(session, user, id, sources)

    try:
        report = await run_in_threadpool(run)
    finally:
        for _, stream, _ in sources:
            stream.close()
    return {
        "task_count": report.created, "annotation_count": report.annotations, "prediction_count": report.predictions,
        "duration": round(time.monotonic() - started, 3), "file_upload_ids": [], "could_be_tasks_list": False,
        "found_formats": [], "data_columns": [], "duplicates": report.duplicates,
    }
