"""Brush masks as PNG, as Label Studio's "Brush labels to PNG" export: a ZIP with one
PNG per brush region of every submitted annotation, named as Label Studio names them,

    task-<task id>-annotation-<annotation id>-by-<annotator>-<control>-<labels>-<n>.png

e.g. task-12-annotation-40-by-3-tag-Road-0.png for a region labeled Road with the
BrushLabels named "tag": the annotator is the user id (the email for work imported for
nobody here), several labels are joined with "-", and n counts the regions of the same
control and labels in the annotation from 0. Each PNG is the mask's alpha channel as an
8-bit grayscale image of the original size (255 where painted, 0 elsewhere). Characters
that are unsafe in file names (/ : * ? ...) become "_". A region without
original_width/height, or whose RLE does not hold that many pixels, is left out (its
pixels cannot be placed). PNGs are written here with zlib, one at a time.
"""

from __future__ import annotations

import re
import struct
import zipfile
import zlib
from collections import Counter
from typing import BinaryIO

import numpy as np

from labelkit.config import LabelConfig
from labelkit.errors import InvalidInput
from labelkit.exporters.base import ExportContext, ExportedAnnotation, Exporter, zip_entry
from labelkit.results import brush
from labelkit.results.regions import regions_of

_SAFE = re.compile(r"[^\w.@ -]+")  # what is safe in a file name on every system
_BRUSH_TOOLS = ("BrushLabels", "Brush")


def supports(config: LabelConfig) -> str | None:
    images = {o.name for o in config.objects_of("Image")}
    if not any(c.tag in _BRUSH_TOOLS and images.intersection(c.to_name) for c in config.controls.values()):
        return "brush masks need a <BrushLabels> or <Brush> on an <Image>; this project has none."
    return None


def png(mask: np.ndarray) -> bytes:
    """An 8-bit grayscale PNG of a 2-D uint8 array."""
    height, width = mask.shape
    rows = np.zeros((height, width + 1), dtype=np.uint8)  # each row starts with filter type 0
    rows[:, 1:] = mask

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows.tobytes(), 6)) + chunk(b"IEND", b"")


def _safe(text: str) -> str:
    return _SAFE.sub("_", text).strip("_") or "_"


def alpha(rle: list, width: int, height: int) -> np.ndarray | None:
    """The mask's alpha channel (what Label Studio saves), or None when the RLE does not
    hold width x height pixels."""
    try:
        values = brush.decode_values(rle)
    except InvalidInput:
        return None
    if values.size != width * height * 4:
        return None
    return np.clip(values.reshape(height, width, 4)[:, :, 3], 0, 255).astype(np.uint8)


def _annotator(a: ExportedAnnotation) -> str:
    """Label Studio's "by-" part: the user id; the email of work imported for nobody here."""
    return str(a.user_id) if a.user_id is not None else _safe(a.annotator or "nobody")


def write(ctx: ExportContext, out: BinaryIO) -> None:
    with zipfile.ZipFile(out, "w") as archive:
        for item in ctx.tasks():
            for a in item.annotations:
                counters: Counter[str] = Counter()
                for region in regions_of(a.result, ctx.config):
                    width, height = region.get("original_width"), region.get("original_height")
                    rle = region["geometry"].get("rle")
                    if region["shape"] != "brush" or not isinstance(width, int) or not isinstance(height, int) or not isinstance(rle, list):
                        continue
                    mask = alpha(rle, width, height)
                    if mask is None:
                        continue
                    labels = [str(name) for names in region["labels"].values() for name in names] or ["no_label"]
                    tag = _safe(f"{region['tool']}-{'-'.join(labels)}")
                    name = f"task-{item.id}-annotation-{a.id}-by-{_annotator(a)}-{tag}-{counters[tag]}.png"
                    counters[tag] += 1
                    archive.writestr(zip_entry(name, zipfile.ZIP_STORED), png(mask))


EXPORTERS = [
    Exporter("BRUSH_PNG", "Brush masks (PNG)", "masks.zip", "application/zip", write,
             "A ZIP with a grayscale PNG per brush region of every annotation (255 painted), named"
             " task-<id>-annotation-<id>-by-<annotator>-tag-<label>-<n>.png as Label Studio names them.",
             supports),
]
