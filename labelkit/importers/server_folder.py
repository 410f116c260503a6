"""A folder on the server as an import source (admins only): every file under
LABELKIT_LOCAL_FILES_ROOT/<folder> that matches a pattern. Task files are read as if
uploaded; media files stay where they are, referenced as Label Studio's
/data/local-files/?d=<path under the root>, so a large image set is not copied.

A folder, a file or a symlink that resolves outside the root is refused."""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import BinaryIO

from labelkit.errors import InvalidInput
from labelkit.storage import local

MAX_FILES = 1_000_000


def root() -> Path:
    found = local.local_files_root()
    if found is None:
        raise InvalidInput("Importing from the server is off: an admin sets LABELKIT_LOCAL_FILES_ROOT to allow a folder.")
    if not found.is_dir():
        raise InvalidInput(f"LABELKIT_LOCAL_FILES_ROOT ({found}) is not a folder on this server.")
    return found


def inside(relative: str) -> Path:
    """The folder or file under the root a person named (as a path relative to the root,
    or an absolute path inside it)."""
    base = root()
    wanted = Path(relative.strip() or ".")
    path = (wanted if wanted.is_absolute() else base / wanted).resolve()
    if path != base and base not in path.parents:
        raise InvalidInput(f"{relative!r} is outside the folder the admin allowed ({base}).")
    if not path.exists():
        raise InvalidInput(f"{relative!r}: no such folder under {base}.")
    return path


def list_files(relative: str, pattern: str = "*", extensions: list[str] | None = None) -> list[str]:
    """The files under a folder (recursively, sorted) whose names match a glob pattern
    and an accepted extension, as paths relative to the root; a file names itself."""
    base, start = root(), inside(relative)
    if start.is_file():
        return [str(start.relative_to(base))]
    accepted = {f".{ext.lstrip('.')}" for ext in extensions} if extensions else None
    found: list[str] = []
    for path in sorted(start.rglob("*")):
        if not fnmatch.fnmatch(path.name, pattern or "*") or (accepted and path.suffix.lower() not in accepted):
            continue
        real = path.resolve()
        if base not in real.parents or not real.is_file():
            continue  # a symlink out of the root, or a folder named like a file
        found.append(str(real.relative_to(base)))
        if len(found) > MAX_FILES:
            raise InvalidInput(f"More than {MAX_FILES:,} files match; import a smaller folder or a narrower pattern.")
    return found


def opened(relatives: list[str]) -> list[tuple[str, BinaryIO, int]]:
    """(name, stream, size) sources for import_sources(in_place=True), which closes each
    one after reading it. A file is opened on its first read: a folder of 100,000 images
    is never 100,000 open files."""
    base = root()
    return [(name, _Lazy(base / name), (base / name).stat().st_size) for name in relatives]


class _Lazy:
    def __init__(self, path: Path) -> None:
        self._path, self._file = path, None

    def close(self) -> None:
        if self._file is not None:
            self._file.close()

    def __getattr__(self, name: str):
        if self._file is None:
            self._file = self._path.open("rb")
        return getattr(self._file, name)
