"""Packing a task's images into an export archive (YOLO, COCO and VOC "with images").

An image is read from where the task's data says it is:
- /data/upload/... and /data/local-files/?d=...: the file on this server (labelkit.storage.local);
- s3://bucket/key: through a storage of the project that has that bucket (a task cannot make
  the portal read any bucket; a source storage's keys are preferred, as for media links);
- http(s)://...: fetched through labelkit.media.fetch, public addresses only, at most the upload
  size limit (LABELKIT_MAX_UPLOAD_MB).

One image at a time: a remote one is first read whole into a spooled temporary file (so a
read that fails half-way leaves no broken entry in the archive), then copied into its ZIP
entry in chunks; the archive is never held in memory.

An image that cannot be read does not fail the export and does not vanish silently: its
labels still go, and `missing-images.txt` in the archive lists it (entry, value, reason);
the export's report counts them.
"""

from __future__ import annotations

import io
import posixpath
import shutil
import tempfile
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO

from sqlmodel import Session

from labelkit import cloud
from labelkit.errors import InvalidInput
from labelkit.exporters.base import zip_entry
from labelkit.media import fetch
from labelkit.settings import get_settings
from labelkit.storage import local, s3

MISSING_LIST = "missing-images.txt"
CHUNK = 1 << 20
SPOOL = 8 << 20  # a remote image up to this size stays in memory while it is packed
# The image files Ultralytics trains on (an image without one of these suffixes is skipped there).
IMAGE_SUFFIXES = {".bmp", ".dng", ".jpeg", ".jpg", ".mpo", ".png", ".tif", ".tiff", ".webp", ".pfm", ".heic", ".gif"}
_PIL_SUFFIX = {"JPEG": ".jpg", "PNG": ".png", "GIF": ".gif", "BMP": ".bmp", "TIFF": ".tif", "WEBP": ".webp", "MPO": ".jpg"}


@dataclass(frozen=True)
class Packed:
    """An image put into the archive: its entry's path, and its size in pixels (0 when
    its header could not be read)."""

    path: str
    width: int
    height: int

    @property
    def name(self) -> str:
        return posixpath.basename(self.path)


class ImagePacker:
    """Puts images into an archive for one export and remembers which could not be read."""

    def __init__(self, session: Session, project_id: int) -> None:
        self.session = session
        self.project_id = project_id
        self.packed = 0
        self.missing = 0
        self._missing = tempfile.TemporaryFile()  # noqa: SIM115 - closed by finish()
        self._buckets: dict[str, s3.S3Settings | None] = {}

    def storage_for(self, bucket: str) -> s3.S3Settings | None:
        """The settings of the project's storage with this bucket (a source storage first),
        or None when the project has none."""
        if bucket not in self._buckets:
            storage = cloud._storage_for_bucket(self.session, self.project_id, bucket)
            self._buckets[bucket] = cloud.settings_of(storage) if storage else None
        return self._buckets[bucket]

    @contextmanager
    def open(self, value: str):
        """The image a task value names, readable from its start."""
        if local.is_local(value):
            path = local.resolve_for(value, self.project_id)  # refuses another project's upload
            with path.open("rb") as source:
                yield source
            return
        if value.startswith(s3.SCHEME):
            parsed = s3.parse_url(value)
            if parsed is None:
                raise InvalidInput("an s3:// value needs a bucket and a key")
            settings = self.storage_for(parsed[0])
            if settings is None:
                raise InvalidInput(f"no cloud storage of this project has the bucket {parsed[0]!r}")
            with tempfile.SpooledTemporaryFile(SPOOL) as copy:
                body = s3.open_object(settings, parsed[1])
                try:
                    shutil.copyfileobj(body, copy, CHUNK)
                finally:
                    body.close()
                copy.seek(0)
                yield copy
            return
        if value.startswith(("http://", "https://")):
            limit = get_settings().max_upload_mb * 2**20
            yield io.BytesIO(fetch.fetch_bytes(value, limit))
            return
        raise InvalidInput("not an uploaded file, an s3:// object or an http(s) URL")

    def pack(self, archive: zipfile.ZipFile, path: str, value: str) -> Packed | None:
        """Copy the image into the archive at `path` (a suffix is added when the name has no
        image suffix and the image's header tells its type); None when it cannot be read
        (then it is listed in missing-images.txt)."""
        try:
            with self.open(value) as source:
                width, height, kind = _header(source)
                if posixpath.splitext(path)[1].lower() not in IMAGE_SUFFIXES and kind in _PIL_SUFFIX:
                    path = posixpath.splitext(path)[0] + _PIL_SUFFIX[kind]  # the stem stays: labels match by it
                with archive.open(zip_entry(path, zipfile.ZIP_STORED), "w") as target:
                    shutil.copyfileobj(source, target, CHUNK)
        except Exception as e:  # noqa: BLE001 - one unreadable image never fails the export; its reason is listed
            self.missing += 1
            reason = " ".join(str(e).split()) or type(e).__name__
            self._missing.write(f"{path}\t{value}\t{reason}\n".encode())
            return None
        self.packed += 1
        return Packed(path, width, height)

    def finish(self, archive: zipfile.ZipFile) -> None:
        """Write missing-images.txt (when an image could not be read) and let go of the list."""
        with self._missing:
            if not self.missing:
                return
            self._missing.seek(0)
            with archive.open(zip_entry(MISSING_LIST), "w") as listing:
                listing.write(b"# Images that could not be packed: entry, task value, reason (tab-separated). "
                              b"Their labels are in the archive.\n")
                shutil.copyfileobj(self._missing, listing)

    def summary(self) -> str:
        text = f"{self.packed} image{'s' * (self.packed != 1)} packed"
        if self.missing:
            text += f"; {self.missing} could not be read (listed in {MISSING_LIST} in the archive)"
        return text


def _header(source: BinaryIO) -> tuple[int, int, str | None]:
    """(width, height, Pillow's format name) from the image's header, then back to the start."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(source) as image:
            found = (*image.size, image.format)
    except (OSError, UnidentifiedImageError, ValueError):
        found = (0, 0, None)
    source.seek(0)
    return found
