"""ZIP archives of any files the other formats import (tasks as JSON/CSV/..., media),
read member by member. Refused whole: a member whose path climbs out of the archive or is
absolute, a member of a kind that cannot be imported, and archives that would unpack to
far more than they weigh (a ZIP bomb) or past the unpacked-size limit."""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import PurePosixPath
from typing import BinaryIO

from labelkit.errors import InvalidInput
from labelkit.importers.base import Format, ReadContext, Row
from labelkit.settings import get_settings

MAX_RATIO = 200  # unpacked / packed, per member: text compresses ~10x, a bomb ~1000x
UNPACKED_FACTOR = 4  # an archive may unpack to this many times the upload limit


def read_zip(stream: BinaryIO, ctx: ReadContext) -> Iterator[Row]:
    from labelkit.importers import format_for  # the registry this format belongs to

    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise InvalidInput(f"{ctx.filename}: not a readable ZIP archive") from None
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir() and not _hidden(m.filename)]
        _check(members, ctx.filename)
        formats = {m.filename: format_for(f"{ctx.filename}/{m.filename}") for m in members}
        if not members:
            raise InvalidInput(f"{ctx.filename}: the archive holds no files")
        for member in members:
            fmt = formats[member.filename]
            if fmt.name == "zip":
                raise InvalidInput(f"{ctx.filename}/{member.filename}: archives inside archives are not imported")
            inner = replace(ctx, filename=f"{ctx.filename}/{member.filename}", in_place=False)  # members are copied
            try:
                with archive.open(member) as opened:
                    yield from fmt.read(opened, inner)
            except (zipfile.BadZipFile, EOFError, ValueError, OSError, zlib.error) as e:
                raise InvalidInput(f"{inner.filename}: cannot be unpacked ({e})") from None


def _hidden(name: str) -> bool:
    """Folders' bookkeeping that archivers add (macOS __MACOSX, ._files)."""
    parts = PurePosixPath(name).parts
    return any(p == "__MACOSX" or p.startswith("._") for p in parts)


def _check(members: list[zipfile.ZipInfo], filename: str) -> None:
    limit = get_settings().max_upload_mb * 1024 * 1024 * UNPACKED_FACTOR
    total = 0
    for m in members:
        path = PurePosixPath(m.filename.replace("\\", "/"))
        if path.is_absolute() or ".." in path.parts or ":" in m.filename:
            raise InvalidInput(f"{filename}: {m.filename!r} points outside the archive; nothing was imported")
        if m.file_size > MAX_RATIO * max(m.compress_size, 1) and m.file_size > 1024 * 1024:
            raise InvalidInput(f"{filename}: {m.filename} unpacks to {m.file_size:,} bytes from {m.compress_size:,} "
                               "(a ZIP bomb?); nothing was imported")
        total += m.file_size
        if total > limit:
            raise InvalidInput(f"{filename}: unpacks to more than {limit // 2**20:,} MB; nothing was imported")


FORMATS = [Format("zip", (".zip",), read_zip, "A ZIP of any of these files (tasks and media)")]
