"""Brush masks as PNG, as Label Studio's "brush to PNG" export: a ZIP with one PNG per
brush region of every submitted annotation,

    task-<task id>-annotation-<annotation id>-by-<annotator>-tag-<label>-<n>.png

a grayscale (8-bit) image of the original size, 255 where painted and 0 elsewhere; n
counts the brush regions of the annotation from 0. The annotator is the email (or
"nobody" for imported work of nobody here); characters other than letters, digits and
". _ - @" in names and labels become "_". A region without original_width/height or
with an RLE that does not fit them is left out (its pixels cannot be placed).
PNGs are written here with zlib (the format is simple), one at a time.
"""

from __future__ import annotations

import re
import struct
import zipfile
import zlib
from typing import BinaryIO

import numpy as np

from labelkit import brush
from labelkit.config import LabelConfig
from labelkit.errors import InvalidInput
from labelkit.exporters.base import ExportContext, Exporter
from labelkit.regions import regions_of

_SAFE = re.compile(r"[^A-Za-z0-9._@-]+")
_BRUSH_TOOLS = ("BrushLabels", "Brush")


def supports(config: LabelConfig) -> str | None:
    images = {o.name for o in config.objects_of("Image")}
    if not any(c.tag in _BRUSH_TOOLS and images.intersection(c.to_name) for c in config.controls.values()):
        return "brush masks need a <BrushLabels> or <Brush> on an <Image>; this project has none."
    return None


def png(mask: np.ndarray) -> bytes:
    """A boolean mask as an 8-bit grayscale PNG (255 where painted)."""
    height, width = mask.shape
    rows = np.zeros((height, width + 1), dtype=np.uint8)  # each row starts with filter type 0
    rows[:, 1:] = np.where(mask, 255, 0)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows.tobytes(), 6)) + chunk(b"IEND", b"")


def _safe(text: str) -> str:
    return _SAFE.sub("_", text).strip("_") or "_"


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))  # same project, same bytes
    info.compress_type = zipfile.ZIP_STORED  # PNGs are compressed already
    info.external_attr = 0o644 << 16
    return info


def write(ctx: ExportContext, out: BinaryIO) -> None:
    with zipfile.ZipFile(out, "w") as archive:
        for item in ctx.tasks():
            for a in item.annotations:
                brushes = [r for r in regions_of(a.result, ctx.config) if r["shape"] == "brush"]
                for n, region in enumerate(brushes):
                    width, height = region.get("original_width"), region.get("original_height")
                    rle = region["geometry"].get("rle")
                    if not isinstance(width, int) or not isinstance(height, int) or not isinstance(rle, list):
                        continue
                    try:
                        mask = brush.decode(rle, width, height)
                    except InvalidInput:
                        continue
                    labels = [name for names in region["labels"].values() for name in names]
                    label = _safe(",".join(str(x) for x in labels)) if labels else "no_label"
                    name = f"task-{item.id}-annotation-{a.id}-by-{_safe(a.annotator or 'nobody')}-tag-{label}-{n}.png"
                    archive.writestr(_entry(name), png(mask))


EXPORTERS = [
    Exporter("BRUSH_PNG", "Brush masks (PNG)", "masks.zip", "application/zip", write,
             "A ZIP with a grayscale PNG per brush region of every annotation (255 painted), named"
             " task-<id>-annotation-<id>-by-<annotator>-tag-<label>-<n>.png as Label Studio names them.",
             supports),
]
