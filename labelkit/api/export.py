"""GET /api/projects/{id}/export?exportType=JSON: the project in one of the export formats,
streamed while the exporter writes it (memory does not grow with the project)."""

from __future__ import annotations

import io
import queue
import threading
from collections.abc import Iterator
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Query
from fastapi.responses import StreamingResponse
from starlette.concurrency import iterate_in_threadpool

from labelkit import exporters
from labelkit.api import schemas
from labelkit.api.auth import NO_NUL, current_user, outsiders_see_nothing
from labelkit.api.routing import MAX_ID, Id, Router, errors
from labelkit.auth.permissions import Capability
from labelkit.db import session_scope
from labelkit.models import User
from labelkit.projects import crud

router = Router(tags=["export"], dependencies=[NO_NUL])

# Label Studio's names of formats we write under another name.
LS_NAMES = {"BRUSH_TO_PNG": "BRUSH_PNG", "YOLO_OBB_WITH_IMAGES": "YOLO_OBB", "YOLO_WITH_IMAGES": "YOLO", "COCO_WITH_IMAGES": "COCO"}
CHUNK = 64 * 1024
_DONE = object()


class _Pipe(io.RawIOBase):
    """A write-only stream the exporter writes into from a worker thread; the response reads
    its chunks. Bounded, so a slow client slows the export instead of filling memory."""

    def __init__(self) -> None:
        super().__init__()
        self.chunks: queue.Queue = queue.Queue(maxsize=32)
        self.buffer = bytearray()
        self.closed_by_reader = threading.Event()

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self.buffer += data
        if len(self.buffer) >= CHUNK:
            self.flush()
        return len(data)

    def flush(self) -> None:
        if self.buffer:
            self._put(bytes(self.buffer))
            self.buffer.clear()

    def _put(self, item: object) -> None:
        while not self.closed_by_reader.is_set():
            try:
                self.chunks.put(item, timeout=1)
                return
            except queue.Full:
                continue
        raise BrokenPipeError("the client went away")

    def writable(self) -> bool:
        return True

    def close(self) -> None:
        """A text wrapper around the pipe closes it when it goes; the stream ends when the export does."""


def _export(user: User, project_id: int, fmt: str, only: exporters.Only, task_ids: list[int] | None, pipe: _Pipe) -> None:
    try:
        with session_scope(write=False) as session:
            exporters.export_project(session, user, project_id, fmt, pipe, only, task_ids=task_ids)
        pipe.flush()
        pipe._put(_DONE)
    except BaseException as error:  # noqa: BLE001 - whatever stopped the export reaches the reader, who re-raises it
        if not pipe.closed_by_reader.is_set():
            pipe._put(error)


def _chunks(first: bytes | object, pipe: _Pipe) -> Iterator[bytes]:
    try:
        item = first
        while item is not _DONE:
            if isinstance(item, BaseException):
                raise item  # after the first bytes the status is sent; the stream ends short
            yield item
            item = pipe.chunks.get()
    finally:
        pipe.closed_by_reader.set()


@router.get(
    "/projects/{id}/export",
    responses={**errors(400, 401, 403, 404),
               200: {"content": {mime: {} for mime in sorted({f.mime for f in exporters.FORMATS.values()})},
                     "description": "The file, in the format's media type"}},
    response_class=StreamingResponse,
)
def export_project(
    id: Id,
    exportType: Annotated[str | None, Query(max_length=40, description="JSON, JSON_MIN, CSV, TSV, COCO, YOLO, VOC, CONLL2003, ...")] = None,
    export_type: Annotated[str | None, Query(max_length=40, description="The same as exportType (label-studio-sdk sends this)")] = None,
    download_all_tasks: bool = False,
    ids: Annotated[list[Annotated[int, Query(ge=1, le=MAX_ID)]] | None, Query(alias="ids[]", max_length=10_000)] = None,
    ids_plain: Annotated[list[Annotated[int, Query(ge=1, le=MAX_ID)]] | None, Query(alias="ids", max_length=10_000)] = None,
    user: User = Depends(current_user),
) -> StreamingResponse:
    """Every task (download_all_tasks=true) or the completed ones (the default, as in Label
    Studio), of the project or of the tasks named by ids[]. Each export is written to the audit log."""
    ids = ids or ids_plain
    name = (exportType or export_type or "JSON").upper()
    fmt = exporters.exporter(LS_NAMES.get(name, name))
    with session_scope(write=False) as session, outsiders_see_nothing(session, user, id):
        project = crud.get_project(session, user, id, Capability.PROJECT_EXPORT)
    only = exporters.Only.ALL if download_all_tasks else exporters.Only.COMPLETED  # with ids[] too, as in Label Studio
    pipe = _Pipe()
    threading.Thread(target=_export, args=(user, id, fmt.name, only, ids, pipe), daemon=True, name="api-export").start()
    first = pipe.chunks.get()
    if isinstance(first, BaseException):
        pipe.closed_by_reader.set()
        raise first  # refused before a byte was written: a proper error answer
    filename = exporters.file_name(project, fmt, only)
    headers = {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"}
    return StreamingResponse(iterate_in_threadpool(_chunks(first, pipe)), media_type=fmt.mime, headers=headers)


@router.get("/projects/{id}/export/formats", response_model=list[schemas.ExportFormat], responses=errors(400, 401, 403, 404))
def export_formats(id: Id, user: User = Depends(current_user)) -> list[dict]:
    """The export formats, those this project's config cannot be written in marked disabled (with why)."""
    with session_scope(write=False) as session, outsiders_see_nothing(session, user, id):
        unfit = exporters.unfit_formats(crud.get_project(session, user, id, Capability.PROJECT_EXPORT))
    found = [{"name": name, "title": fmt.title, "description": fmt.description, "disabled": name in unfit,
              "why_disabled": unfit.get(name)} for name, fmt in exporters.FORMATS.items()]
    return sorted(found, key=lambda f: f["disabled"])
