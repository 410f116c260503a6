"""YOLO, as Ultralytics trains on it (https://docs.ultralytics.com/datasets/detect/,
/segment/, /obb/): a ZIP with

    data.yaml            train: images/train, val: images/train, names: {0: Car, 1: Person}
    classes.txt          the class names, one a line, in class id order
    images/train/<file>  the task's image, when the user asks for the images (with_images;
                         read by labelkit.exporters.images, from uploads, S3 or public URLs)
    labels/train/<stem>.txt
                         one line per object, coordinates normalized to 0-1:
                         YOLO      class cx cy w h
                         YOLO_SEG  class x1 y1 x2 y2 ... xn yn
                         YOLO_OBB  class x1 y1 x2 y2 x3 y3 x4 y4

Three formats rather than one with a mode: each is what one kind of Ultralytics model
(detect, segment, obb) trains on, a user picks it by that name (as Label Studio names
its YOLO and YOLO_OBB exports), and the registry, the page and the CLI need no option.

data.yaml has no `path`: Ultralytics then takes the folder data.yaml is in as the
dataset root, while a relative `path: .` resolves against its own datasets folder or the
working directory, depending on the version. val is the train split (Ultralytics needs
one); split it yourself for a real validation.

Boxes, polygons and ellipses are written (see each format's description); keypoints and
brush masks are not (a mask needs tracing into polygons).

Class ids follow the config: the <Label>s of the image region controls, in order.
Each image gets the labels of the latest submitted annotation of its task; a task
without one is left out (not labeled is not "no objects"); an annotated image without
objects gets an empty label file. Rectangles are rotated about their top-left corner in
pixels (Label Studio's convention), so a rotated one needs original_width/height.
Coordinates are clipped to 0-1: Ultralytics drops an image's labels if one is outside.
"""

from __future__ import annotations

import json
import math
import posixpath
import re
import zipfile
from collections.abc import Iterator
from typing import BinaryIO
from urllib.parse import parse_qs, unquote, urlparse

from labelkit.config import LABEL_REGION_CONTROLS, LabelConfig
from labelkit.exporters.base import ExportContext, ExportedTask, Exporter, zip_entry
from labelkit.results.geometry import (
    box_corners,
    box_in_pixels,
    ellipse_bounds,
    ellipse_corners,
    ellipse_in_pixels,
    ellipse_outline,
)
from labelkit.results.regions import regions_of

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
# What each format writes, from which region shapes.
SHAPES = {
    "YOLO": ("rectangle", "polygon", "ellipse"),
    "YOLO_SEG": ("rectangle", "polygon", "ellipse"),
    "YOLO_OBB": ("rectangle", "ellipse"),
}
_TOOLS = {"rectangle": ("RectangleLabels", "Rectangle"), "polygon": ("PolygonLabels", "Polygon"),
          "ellipse": ("EllipseLabels", "Ellipse")}
_WORDS = {"rectangle": "boxes", "polygon": "polygons", "ellipse": "ellipses"}
# An ellipse in each format: the box around it, an outline of 36 points, its own turned box.
_ELLIPSE_AS = {"YOLO": ellipse_bounds, "YOLO_SEG": ellipse_outline, "YOLO_OBB": ellipse_corners}


def _images(config: LabelConfig) -> list:
    return [o for o in config.objects_of("Image") if o.key]


def class_names(config: LabelConfig) -> list[str]:
    """The classes, in config order: each <Label> of the region controls on images, once."""
    images = {o.name for o in _images(config)}
    names: dict[str, None] = {}
    for control in config.controls.values():
        if control.tag in LABEL_REGION_CONTROLS and images.intersection(control.to_name):
            for option in control.options:
                names.setdefault(option.stored)
    return list(names)


def _supports(fmt: str):
    shapes = SHAPES[fmt]
    words = [_WORDS[s] for s in shapes]
    wanted = f"{', '.join(words[:-1])} or {words[-1]}" if len(words) > 1 else words[0]

    def supports(config: LabelConfig) -> str | None:
        images = _images(config)
        tools = {t for s in shapes for t in _TOOLS[s]}
        if not any(c.tag in tools for o in images for c in config.region_controls(o.name)):
            return f"{fmt} needs {wanted} on an <Image>; this project has none."
        if not class_names(config):
            return f"{fmt} needs classes: <Label>s on the image's {wanted}; this project has none."
        return None

    return supports


def _latest(item: ExportedTask):
    return max(item.annotations, key=lambda a: (a.updated_at or a.created_at or "", a.id), default=None)


def _file_name(url: str, fallback: str) -> str:
    parts = urlparse(url)
    name = posixpath.basename(unquote(parts.path))
    if not name:  # Label Studio's local files: /data/local-files/?d=folder/photo.jpg
        name = posixpath.basename(parse_qs(parts.query).get("d", [""])[0])
    name = _SAFE.sub("_", name).strip("._")
    return name or fallback


def _clip(value: float) -> float:
    return min(1.0, max(0.0, value))


def _num(value: float) -> str:
    return f"{_clip(value):.6f}"


def _points(region: dict, fmt: str) -> list[tuple[float, float]]:
    """The region's points normalized 0-1 (not clipped): a box's 4 corners; an ellipse's box
    (2 corners) for YOLO, its own turned box (4 corners) for YOLO_OBB, an outline for YOLO_SEG."""
    value = region["geometry"]
    if region["shape"] not in ("rectangle", "ellipse"):
        return [(p[0] / 100, p[1] / 100) for p in value.get("points") or [] if len(p) >= 2]
    # Turned in pixels; without the image's size, in percent (as if it were 100 x 100).
    width, height = (region.get("original_width") or 100.0), (region.get("original_height") or 100.0)
    if region["shape"] == "rectangle":
        pixels = box_corners(box_in_pixels(value, width, height))
    else:
        pixels = _ELLIPSE_AS[fmt](ellipse_in_pixels(value, width, height))
    return [(x / width, y / height) for x, y in pixels]


def line(fmt: str, class_id: int, region: dict) -> str | None:
    """The label line of one region, or None when it has no geometry this format writes
    (a malformed one, a box of no size, a polygon of fewer than 3 points)."""
    try:
        points = [(float(x), float(y)) for x, y in _points(region, fmt)]
    except (KeyError, TypeError, ValueError):
        return None
    if not all(math.isfinite(v) for p in points for v in p):
        return None
    if fmt == "YOLO":
        if not points:
            return None
        xs, ys = [_clip(p[0]) for p in points], [_clip(p[1]) for p in points]
        left, right, top, bottom = min(xs), max(xs), min(ys), max(ys)
        if right <= left or bottom <= top:
            return None
        numbers = [(left + right) / 2, (top + bottom) / 2, right - left, bottom - top]
    elif fmt == "YOLO_SEG":
        if len(points) < 3:  # Ultralytics needs at least 3 points
            return None
        numbers = [v for p in points for v in p]
    else:
        numbers = [v for p in points for v in p]
    return " ".join([str(class_id), *(_num(v) for v in numbers)])


def _class_of(region: dict, classes: dict[str, int]) -> int | None:
    for labels in region["labels"].values():
        for label in labels:
            if label in classes:
                return classes[label]
    return None


def _entries(ctx: ExportContext, fmt: str, classes: dict[str, int]) -> Iterator[tuple[str, str, str | None]]:
    """(file name of the image, its label text, its data path) of each image of each
    labeled task, task by task."""
    shapes = SHAPES[fmt]
    images = _images(ctx.config)
    used: set[str] = set()
    for item in ctx.tasks():
        annotation = _latest(item)
        if annotation is None:
            continue
        data = item.data
        regions = [r for r in regions_of(annotation.result, ctx.config) if r["shape"] in shapes]
        for obj in images:
            value = data.get(obj.key)
            urls = value if isinstance(value, list) else [value]
            for index, url in enumerate(urls):
                if not isinstance(url, str) or not url:
                    continue
                name = _file_name(url, f"task-{item.id}-{index}.jpg")
                stem = posixpath.splitext(name)[0]
                if stem.lower() in used:  # two images of the same name (in any case): the task id tells them apart
                    name = _SAFE.sub("_", f"{item.id}-{obj.name}-{index}-{name}")
                    stem = posixpath.splitext(name)[0]
                used.add(stem.lower())
                lines = []
                for region in regions:
                    if region["to_name"] != obj.name or (region.get("item_index") or 0) != index:
                        continue
                    class_id = _class_of(region, classes)
                    text = line(fmt, class_id, region) if class_id is not None else None
                    if text:
                        lines.append(text)
                yield name, "".join(f"{t}\n" for t in lines), url


def _yaml_text(value: str) -> str:
    """A YAML double-quoted scalar (JSON's string escapes are YAML's)."""
    return json.dumps(value, ensure_ascii=False)


def data_yaml(names: list[str]) -> str:
    lines = [
        "# Ultralytics YOLO dataset exported from labelkit; the dataset root is this folder.",
        "train: images/train",
        "val: images/train  # the same images: split off a validation set for real training",
        "",
        "names:",
        *(f"  {i}: {_yaml_text(n)}" for i, n in enumerate(names)),
        "",
    ]
    return "\n".join(lines)


def _writer(fmt: str):
    def write(ctx: ExportContext, out: BinaryIO) -> None:
        names = class_names(ctx.config)
        classes = {n: i for i, n in enumerate(names)}
        with zipfile.ZipFile(out, "w") as archive:
            archive.writestr(zip_entry("data.yaml"), data_yaml(names))
            archive.writestr(zip_entry("classes.txt"), "".join(f"{n}\n" for n in names))
            for name, labels, url in _entries(ctx, fmt, classes):
                stem = posixpath.splitext(name)[0]
                archive.writestr(zip_entry(f"labels/train/{stem}.txt"), labels)
                if ctx.images is not None and url:  # the image beside its labels: same stem, images/ for labels/
                    ctx.images.pack(archive, f"images/train/{name}", url)
            if ctx.images is not None:
                ctx.images.finish(archive)

    return write


_COMMON = (" A ZIP for Ultralytics YOLO: data.yaml, classes.txt, labels/train/<image>.txt (and, when packed,"
           " the images in images/train); the latest annotation of each labeled task.")

EXPORTERS = [
    Exporter("YOLO", "YOLO (detection)", "zip", "application/zip", _writer("YOLO"),
             "Boxes as 'class cx cy w h', normalized; polygons, ellipses and rotated boxes as the box around them." + _COMMON,
             _supports("YOLO"), packs_images=True),
    Exporter("YOLO_SEG", "YOLO segmentation", "zip", "application/zip", _writer("YOLO_SEG"),
             "Polygons as 'class x1 y1 ... xn yn', normalized; boxes as their 4 corners, ellipses as 36 points." + _COMMON,
             _supports("YOLO_SEG"), packs_images=True),
    Exporter("YOLO_OBB", "YOLO oriented boxes", "zip", "application/zip", _writer("YOLO_OBB"),
             "Boxes, rotated or not, as 'class x1 y1 x2 y2 x3 y3 x4 y4': 4 corners, normalized; ellipses as their box." + _COMMON,
             _supports("YOLO_OBB"), packs_images=True),
]
