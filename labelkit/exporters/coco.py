"""COCO object detection JSON (https://cocodataset.org/#format-data), as pycocotools,
Detectron2 and MMDetection read it: one file

    {"info": {...}, "licenses": [],
     "categories": [{"id": 1, "name": "Car", "supercategory": ""},
                    {"id": 3, "name": "Nose", "supercategory": "", "keypoints": ["Nose"], "skeleton": []}],
     "images": [{"id": 1, "file_name": "street.png", "width": 200, "height": 100, "task_id": 7}],
     "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [x, y, w, h],
                      "area": ..., "segmentation": [], "iscrowd": 0}, ...]}

Categories are the <Label>s of the image's RectangleLabels, PolygonLabels, EllipseLabels,
KeyPointLabels, BrushLabels (and <Labels> on the image), once each, ids from 1 in config
order. All numbers are pixels. A box is bbox [x, y, w, h]; a rotated box gets the axis-aligned box around it,
its 4 corners as segmentation and "attributes": {"rotation": degrees} (as CVAT writes it).
A polygon is segmentation [[x1, y1, ...]] with its bbox and area; an ellipse an outline of
36 points with the exact box around it and its area (pi rx ry). A keypoint is
"keypoints": [x, y, 2], num_keypoints 1, on a category that names that one keypoint. A
brush mask is an uncompressed RLE {"counts", "size"} (column-major, as pycocotools has it).

Each image gets the regions of one annotation of its task, as the export filters choose it
(labelkit.exporters.choose: the accepted one, else the answer most annotators gave, else
the latest); a task without one is left out (not labeled is not "no objects"). An Image
with valueList gives one image per item. Width and height come from the regions (original_width/original_height), else from the header of an uploaded
file, else 0 (an image given by URL with no regions).

Streams: categories and images go to the output as tasks are read, the annotations to a
temporary file that is copied in after the images.

With the images (export_project(..., with_images=True)): a ZIP of annotations.json, whose
file_name is the image's path in the ZIP (images/street.png), and images/ (read by
labelkit.exporters.images; one that cannot be read is listed in missing-images.txt)."""

from __future__ import annotations

import json
import math
import posixpath
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import BinaryIO
from urllib.parse import parse_qs, unquote, urlparse

import numpy as np

from labelkit.config import LabelConfig
from labelkit.errors import LabelkitError
from labelkit.exporters import choose
from labelkit.exporters.base import ExportContext, Exporter, zip_entry
from labelkit.results import brush
from labelkit.results.geometry import (
    box_corners,
    box_in_pixels,
    ellipse_bounds,
    ellipse_in_pixels,
    ellipse_outline,
    to_pixels,
)
from labelkit.results.regions import regions_of
from labelkit.storage import local

CATEGORY_CONTROLS = ("RectangleLabels", "PolygonLabels", "EllipseLabels", "KeyPointLabels", "BrushLabels", "Labels")
# Tools that draw what COCO holds; a bare tool takes its class from a <Labels> on the image.
_TOOLS = ("RectangleLabels", "Rectangle", "PolygonLabels", "Polygon", "EllipseLabels", "Ellipse",
          "KeyPointLabels", "KeyPoint", "BrushLabels", "Brush")
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class LabeledImage:
    """One image of a labeled task, with the regions drawn on it."""

    task_id: int
    name: str  # a file name, unique in the export
    url: str
    width: int
    height: int
    regions: list[dict]


def images_of(config: LabelConfig) -> list:
    return [o for o in config.objects_of("Image") if o.key]


def _drawn(config: LabelConfig, tools: tuple[str, ...]) -> bool:
    return any(c.tag in tools for o in images_of(config) for c in config.region_controls(o.name))


def category_names(config: LabelConfig, controls: tuple[str, ...] = CATEGORY_CONTROLS) -> list[str]:
    """The class names of these controls on images, once each, in config order."""
    images = {o.name for o in images_of(config)}
    names: dict[str, None] = {}
    for control in config.controls.values():
        if control.tag in controls and images.intersection(control.to_name):
            for option in control.options:
                names.setdefault(option.stored)
    return list(names)


def refusal(fmt: str, config: LabelConfig, tools: tuple[str, ...], wanted: str,
            controls: tuple[str, ...] = CATEGORY_CONTROLS) -> str | None:
    """Why a project cannot be exported as `fmt` (None: it can)."""
    if not _drawn(config, tools):
        return f"{fmt} needs {wanted} on an <Image>; this project has none."
    if not category_names(config, controls):
        return f"{fmt} needs classes: <Label>s on the image's {wanted}; this project has none."
    return None


def file_name(url: str, fallback: str) -> str:
    """The image's file name from its URL or data path, made safe for a file system."""
    parts = urlparse(url)
    name = posixpath.basename(unquote(parts.path))
    if not name:  # Label Studio's local files: /data/local-files/?d=folder/photo.jpg
        name = posixpath.basename(parse_qs(parts.query).get("d", [""])[0])
    return _SAFE.sub("_", name).strip("._") or fallback


def _upload_size(url: str, project_id: int) -> tuple[int, int]:
    """The size in the header of an image of the project on this server; (0, 0) when there
    is none to read."""
    if not local.is_local(url):
        return 0, 0
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(local.resolve_for(url, project_id)) as image:  # reads the header only
            return image.size
    except (LabelkitError, OSError, UnidentifiedImageError):
        return 0, 0


def labeled_images(ctx: ExportContext, shapes: tuple[str, ...]) -> Iterator[LabeledImage]:
    """Each image of each labeled task, task by task, with its regions of these shapes."""
    used: set[str] = set()
    for item in ctx.tasks():
        annotation = choose.one(item.annotations)  # one set of regions per image
        if annotation is None:
            continue
        data = item.data
        regions = [r for r in regions_of(annotation.result, ctx.config) if r["shape"] in shapes]
        for obj in images_of(ctx.config):
            value = data.get(obj.key)
            for index, url in enumerate(value if isinstance(value, list) else [value]):
                if not isinstance(url, str) or not url:
                    continue
                name = file_name(url, f"task-{item.id}-{index}.jpg")
                if posixpath.splitext(name)[0].lower() in used:  # two images of one name (in any case): the task id tells them apart
                    name = _SAFE.sub("_", f"{item.id}-{obj.name}-{index}-{name}")
                used.add(posixpath.splitext(name)[0].lower())
                mine = [r for r in regions if r["to_name"] == obj.name and (r.get("item_index") or 0) == index]
                sized = next((r for r in mine if r.get("original_width") and r.get("original_height")), None)
                if sized:
                    width, height = int(sized["original_width"]), int(sized["original_height"])
                else:
                    width, height = _upload_size(url, ctx.project.id)
                yield LabeledImage(item.id, name, url, width, height, mine)


def class_of(region: dict, classes: dict[str, int]) -> int | None:
    for labels in region["labels"].values():
        for label in labels:
            if label in classes:
                return classes[label]
    return None


def polygon_points(geometry: dict, width: int, height: int) -> list[tuple[float, float]]:
    return [to_pixels(float(p[0]), float(p[1]), width, height) for p in geometry.get("points") or [] if len(p) >= 2]


def bounds(points: list[tuple[float, float]]) -> tuple[float, float, float, float]:
    """(left, top, right, bottom) around the points."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return min(xs), min(ys), max(xs), max(ys)


def _bbox(points: list[tuple[float, float]]) -> list[float]:
    left, top, right, bottom = bounds(points)
    return [_r(left), _r(top), _r(right - left), _r(bottom - top)]


def _r(value: float) -> float:
    return round(value, 4)


def _shoelace(points: list[tuple[float, float]]) -> float:
    twice = sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1], strict=True))
    return abs(twice) / 2


def coco_fields(region: dict, image: LabeledImage) -> dict | None:
    """bbox, area, segmentation (and keypoints) of one region in pixels; None when it has
    no geometry COCO holds (or a malformed one: left out rather than failing the export)."""
    if not image.width or not image.height:
        return None  # percentages of an unknown size
    try:
        fields = _fields(region, image.width, image.height)
    except (KeyError, TypeError, ValueError, IndexError, LabelkitError):
        return None
    if fields is None or not all(math.isfinite(v) for v in [*fields["bbox"], fields["area"]]):
        return None
    if "keypoints" not in fields and (fields["bbox"][2] <= 0 or fields["bbox"][3] <= 0):
        return None  # a box of no size
    return fields


def _fields(region: dict, width: int, height: int) -> dict | None:
    shape, geometry = region["shape"], region["geometry"]
    if shape == "rectangle":
        corners = box_corners(box_in_pixels(geometry, width, height))
        fields = {"bbox": _bbox(corners), "area": _r(_shoelace(corners)), "segmentation": []}
        if geometry.get("rotation"):
            fields["segmentation"] = [[_r(v) for p in corners for v in p]]
            fields["attributes"] = {"rotation": geometry["rotation"]}
        return fields
    if shape == "polygon":
        points = polygon_points(geometry, width, height)
        if len(points) < 3:
            return None
        return {"bbox": _bbox(points), "area": _r(_shoelace(points)),
                "segmentation": [[_r(v) for p in points for v in p]]}
    if shape == "ellipse":
        ellipse = ellipse_in_pixels(geometry, width, height)
        return {"bbox": _bbox(ellipse_bounds(ellipse)), "area": _r(math.pi * ellipse.radius_x * ellipse.radius_y),
                "segmentation": [[_r(v) for p in ellipse_outline(ellipse) for v in p]]}
    if shape == "keypoint":
        x, y = (_r(v) for v in to_pixels(geometry["x"], geometry["y"], width, height))
        return {"bbox": [x, y, 0, 0], "area": 0, "segmentation": [], "keypoints": [x, y, 2], "num_keypoints": 1}
    if shape == "brush" and geometry.get("rle"):
        return _mask_fields(brush.decode(geometry["rle"], width, height))
    return None


def _mask_fields(mask: np.ndarray) -> dict | None:
    if not mask.any():
        return None
    rows, cols = np.nonzero(mask)
    bbox = [int(cols.min()), int(rows.min()), int(cols.max() - cols.min() + 1), int(rows.max() - rows.min() + 1)]
    # Uncompressed RLE: run lengths of 0s then 1s, alternating, down the columns.
    flat = mask.ravel(order="F").astype(np.int8)
    changes = np.flatnonzero(np.diff(flat)) + 1
    edges = np.concatenate(([0], changes, [flat.size]))
    counts = np.diff(edges).tolist()
    if flat[0]:
        counts = [0, *counts]
    return {"bbox": bbox, "area": int(mask.sum()),
            "segmentation": {"counts": counts, "size": [int(mask.shape[0]), int(mask.shape[1])]}}


def categories(config: LabelConfig) -> list[dict]:
    found = []
    keypoints = set(category_names(config, ("KeyPointLabels",)))
    for number, name in enumerate(category_names(config), start=1):
        category = {"id": number, "name": name, "supercategory": ""}
        if name in keypoints:
            category |= {"keypoints": [name], "skeleton": []}
        found.append(category)
    return found


SHAPES = ("rectangle", "polygon", "ellipse", "keypoint", "brush")


def write(ctx: ExportContext, out: BinaryIO) -> None:
    if ctx.images is None:
        _write_json(ctx, out)
        return
    # With the images: a ZIP of annotations.json (file_name: the image's path in the ZIP)
    # and images/; the JSON is streamed to a temporary file while the images are packed.
    with zipfile.ZipFile(out, "w") as archive, tempfile.TemporaryFile() as text:
        _write_json(ctx, text, archive)
        text.seek(0)
        with archive.open(zip_entry("annotations.json"), "w") as target:
            shutil.copyfileobj(text, target, 1 << 20)
        ctx.images.finish(archive)


def _write_json(ctx: ExportContext, out: BinaryIO, archive: zipfile.ZipFile | None = None) -> None:
    cats = categories(ctx.config)
    classes = {c["name"]: c["id"] for c in cats}
    info = {"description": ctx.project.title, "version": "1.0", "contributor": "labelkit"}
    out.write(b'{"info": ' + _dumps(info) + b', "licenses": [], "categories": [')
    out.write(b", ".join(_dumps(c) for c in cats))
    out.write(b'],\n"images": [')
    annotation_id = 0
    with tempfile.TemporaryFile() as annotations:
        for image_id, image in enumerate(labeled_images(ctx, SHAPES), start=1):
            if archive is not None:
                image = packed_image(ctx, archive, "images", image)
            record = {"id": image_id, "file_name": image.name, "width": image.width, "height": image.height,
                      "task_id": image.task_id}
            out.write((b"\n" if image_id == 1 else b",\n") + _dumps(record))
            for region in image.regions:
                category = class_of(region, classes)
                fields = coco_fields(region, image) if category is not None else None
                if fields is None:
                    continue
                annotation_id += 1
                entry = {"id": annotation_id, "image_id": image_id, "category_id": category, "iscrowd": 0, **fields}
                annotations.write((b"\n" if annotation_id == 1 else b",\n") + _dumps(entry))
        out.write(b'],\n"annotations": [')
        annotations.seek(0)
        shutil.copyfileobj(annotations, out)
    out.write(b"]}\n")


def packed_image(ctx: ExportContext, archive: zipfile.ZipFile, folder: str, image: LabeledImage) -> LabeledImage:
    """Pack the image under folder/; the image with its name as packed (a path from the
    archive's root when folder is "images": COCO's file_name) and, when no region told its
    size, the size from its header. Unchanged when it cannot be read (then listed as missing)."""
    packed = ctx.images.pack(archive, f"{folder}/{image.name}", image.url)
    if packed is None:
        return replace(image, name=f"{folder}/{image.name}") if folder == "images" else image
    name = packed.path if folder == "images" else packed.name
    if image.width and image.height:
        return replace(image, name=name)
    return replace(image, name=name, width=packed.width, height=packed.height)


def _dumps(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


def supports(config: LabelConfig) -> str | None:
    return refusal("COCO", config, _TOOLS, "boxes, polygons, ellipses, keypoints or brush masks")


EXPORTERS = [
    Exporter("COCO", "COCO", "json", "application/json", write,
             "One COCO JSON for pycocotools, Detectron2 or MMDetection: categories from the image's labels, an "
             "image per task image, an annotation per region in pixels (boxes, polygons and ellipses as segmentation, "
             "keypoints, brush masks as RLE); one annotation per labeled task (accepted, else the majority's, else "
             "the latest). With the images packed: a ZIP of annotations.json and images/.",
             supports, packs_images=True),
]
