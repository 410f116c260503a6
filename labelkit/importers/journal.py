"""Media files an import writes before its transaction commits, journaled so that none is left
behind when the import never commits: a refused or rolled-back import removes its files at
once, and the files of an import whose process was killed are removed at the next start
(sweep, from labelkit.ops.startup.prepare).

A journal is a file under <media>/.importing/, locked (flock) by its import while it runs, so
a sweep by another process on this machine leaves a live import alone. Files an import wrote
that a task references (the import committed just before the process died) are kept."""

from __future__ import annotations

import contextlib
import fcntl
import json
import re
import time
import uuid
from pathlib import Path
from typing import IO

from sqlalchemy import String, cast, event
from sqlmodel import Session, select

from labelkit.models import Task
from labelkit.settings import get_settings
from labelkit.storage import local


def journal_dir() -> Path:
    return get_settings().media_dir / ".importing"


class Journal:
    """Opened before an import writes its first file; closed when its transaction ends."""

    def __init__(self, session: Session, project_id: int, saved_media: list[str]) -> None:
        self.saved_media = saved_media
        folder = journal_dir()
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"{uuid.uuid4().hex}.json"
        self.file: IO[str] | None = self.path.open("w")
        fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        json.dump({"project_id": project_id, "started": time.time()}, self.file)
        self.file.flush()
        event.listen(session, "after_commit", self._committed, once=True)
        event.listen(session, "after_rollback", self._rolled_back, once=True)

    def _committed(self, _session: Session) -> None:
        self.close()

    def _rolled_back(self, _session: Session) -> None:
        self.discard()

    def discard(self) -> None:
        """The import did not commit: its files go."""
        for path in self.saved_media:
            with contextlib.suppress(Exception):  # best effort; the next sweep tries again
                local.resolve(path).unlink(missing_ok=True)
        self.close()

    def close(self) -> None:
        if self.file is None:
            return
        self.path.unlink(missing_ok=True)
        self.file.close()  # releases the lock
        self.file = None


def _sweep(session: Session) -> int:
    """Remove the files of imports that died before committing; returns how many went."""
    removed = 0
    folder = journal_dir()
    for path in sorted(folder.glob("*.json")) if folder.exists() else []:
        with path.open("r+") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a live import in another process
            try:
                entry = json.loads(f.read() or "{}")
            except json.JSONDecodeError:
                entry = {}
            if isinstance(entry.get("project_id"), int):
                removed += _remove_unreferenced(session, entry["project_id"], float(entry.get("started", 0)))
            path.unlink(missing_ok=True)
    return removed


def _remove_unreferenced(session: Session, project_id: int, since: float) -> int:
    uploads = local.upload_root() / str(project_id)
    written = [p for p in uploads.iterdir() if p.is_file() and p.stat().st_mtime >= since - 1] if uploads.exists() else []
    if not written:
        return 0
    prefix = f"{local.UPLOAD_PREFIX}{project_id}/"
    pattern = re.compile(re.escape(prefix) + r"([^\"?\\]+)")
    rows = session.exec(
        select(cast(Task.data, String)).where(Task.project_id == project_id, cast(Task.data, String).contains(prefix))
        .execution_options(yield_per=5_000)
    )
    referenced = {name for data in rows for name in pattern.findall(data)}
    gone = 0
    for file in written:
        if file.name not in referenced:
            file.unlink(missing_ok=True)
            gone += 1
    return gone
