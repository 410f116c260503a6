"""Image regions <-> the drawing canvas's objects (Fabric.js JSON, in canvas pixels).

Pure functions, no Streamlit: regions are Label Studio values in percent of the image
(labelkit.results.regions); the canvas shows the image stretched to width x height pixels, so a
percent is a fraction of the canvas size. Conversions go through each object's centre,
which Fabric keeps for every origin, rotation and scale."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

import numpy as np

from labelkit.errors import InvalidInput
from labelkit.results import brush
from labelkit.results.geometry import (
    Box,
    Ellipse,
    box_corners,
    ellipse_outline,
    rotate_point,
    to_percent,
    to_pixels,
)

# The canvas's drawing modes for each shape.
MODES = {"rectangle": "labeled_rect", "polygon": "polygon", "keypoint": "point", "ellipse": "circle", "brush": "freedraw"}
KEYPOINT_RADIUS = 4
STROKE = 2
_ORIGIN = {"left": 0.0, "top": 0.0, "center": 0.5, "right": 1.0, "bottom": 1.0}
_TOLERANCE = 0.02  # percent: geometry this close is the same region, unchanged


@dataclass(frozen=True)
class Frame:
    width: float  # canvas pixels
    height: float
    natural_width: int  # image pixels
    natural_height: int

    def px(self, x: float, y: float) -> tuple[float, float]:
        """A point or a size in percent of the image, in canvas pixels."""
        return to_pixels(x, y, self.width, self.height)

    def pct(self, x: float, y: float) -> tuple[float, float]:
        """A point or a size in canvas pixels, in percent of the image."""
        return to_percent(x, y, self.width, self.height)


def _size(obj: dict) -> tuple[float, float]:
    """The object's size without its stroke."""
    if obj.get("type") == "Circle":
        r = float(obj.get("radius", 0))
        return 2 * r * float(obj.get("scaleX", 1)), 2 * r * float(obj.get("scaleY", 1))
    return float(obj.get("width", 0)) * float(obj.get("scaleX", 1)), float(obj.get("height", 0)) * float(obj.get("scaleY", 1))


def _center(obj: dict) -> tuple[float, float]:
    width, height = _size(obj)
    stroke = float(obj.get("strokeWidth") or 0)
    if not obj.get("strokeUniform"):
        stroke_x, stroke_y = stroke * float(obj.get("scaleX", 1)), stroke * float(obj.get("scaleY", 1))
    else:
        stroke_x = stroke_y = stroke
    ox = obj.get("originX", "left")
    oy = obj.get("originY", "top")
    ox = _ORIGIN.get(ox, 0.0) if isinstance(ox, str) else float(ox)
    oy = _ORIGIN.get(oy, 0.0) if isinstance(oy, str) else float(oy)
    dx, dy = rotate_point(((0.5 - ox) * (width + stroke_x), (0.5 - oy) * (height + stroke_y)), float(obj.get("angle", 0)))
    return float(obj.get("left", 0)) + dx, float(obj.get("top", 0)) + dy


def shape_of_object(obj: dict, drawing: str | None) -> str | None:
    """Which shape an object is; circles are keypoints or ellipses by the tool that drew them."""
    kind = obj.get("type")
    if kind in ("LabeledRect", "Rect"):
        return "rectangle"
    if kind == "Polygon":
        return "polygon"
    if kind in ("Path", "Image"):
        return "brush"
    if kind == "Circle":
        if drawing in ("keypoint", "ellipse"):
            return drawing
        return "keypoint" if float(obj.get("radius", 0)) <= KEYPOINT_RADIUS else "ellipse"
    return None


def geometry(obj: dict, shape: str, frame: Frame) -> dict:
    """A canvas object as a Label Studio value (percent of the image), brush excepted."""
    cx, cy = _center(obj)
    angle = float(obj.get("angle", 0)) % 360
    width, height = _size(obj)
    if shape == "rectangle":
        dx, dy = rotate_point((-width / 2, -height / 2), angle)  # Label Studio's corner, from the centre
        x, y = frame.pct(cx + dx, cy + dy)
        w, h = frame.pct(width, height)
        return {"x": x, "y": y, "width": w, "height": h, "rotation": angle}
    if shape == "ellipse":
        x, y = frame.pct(cx, cy)
        rx, ry = frame.pct(width / 2, height / 2)
        return {"x": x, "y": y, "radiusX": rx, "radiusY": ry, "rotation": angle}
    if shape == "keypoint":
        x, y = frame.pct(cx, cy)
        return {"x": x, "y": y, "width": frame.pct(width / 2, 0)[0]}
    if shape == "polygon":
        points = obj.get("points") or []
        xs, ys = [p["x"] for p in points], [p["y"] for p in points]
        if not points:
            return {"points": [], "closed": True}
        px, py = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
        sx, sy = float(obj.get("scaleX", 1)), float(obj.get("scaleY", 1))
        out = []
        for p in points:
            dx, dy = rotate_point(((p["x"] - px) * sx, (p["y"] - py) * sy), angle)
            out.append(list(frame.pct(cx + dx, cy + dy)))
        return {"points": out, "closed": True}
    raise ValueError(shape)


def to_object(region: dict, frame: Frame, color: str, caption: str, can_rotate: bool) -> dict | None:
    """The canvas object that draws a region (brush masks are drawn as an image by the caller)."""
    g = region["geometry"]
    style = {
        "stroke": color, "fill": translucent(color), "strokeWidth": STROKE, "strokeUniform": True,
        "scaleX": 1, "scaleY": 1, "originX": "center", "originY": "center",
    }
    shape = region["shape"]
    if shape == "rectangle":
        width, height = frame.px(g["width"], g["height"])
        x, y = frame.px(g["x"], g["y"])
        angle = float(g.get("rotation") or 0)
        dx, dy = rotate_point((width / 2, height / 2), angle)  # Fabric's centre, from Label Studio's corner
        box = {**style, "left": x + dx, "top": y + dy, "width": width, "height": height, "angle": angle}
        if can_rotate:  # the canvas turns plain boxes only; their label is in the list beside
            return {**box, "type": "Rect", "lockRotation": False}
        return {**box, "type": "LabeledRect", "label": caption, "fontSize": 14, "lockRotation": True}
    if shape == "ellipse":
        rx, ry = frame.px(g["radiusX"], g["radiusY"])
        x, y = frame.px(g["x"], g["y"])
        rx, ry = max(rx, 0.5), max(ry, 0.5)
        return {**style, "type": "Circle", "left": x, "top": y, "radius": rx, "scaleY": ry / rx,
                "angle": float(g.get("rotation") or 0)}
    if shape == "keypoint":
        x, y = frame.px(g["x"], g["y"])
        return {**style, "type": "Circle", "left": x, "top": y, "radius": KEYPOINT_RADIUS, "fill": color,
                "lockScalingX": True, "lockScalingY": True}
    if shape == "polygon":
        points = [frame.px(p[0], p[1]) for p in g.get("points") or []]
        if not points:
            return None
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        return {**style, "type": "Polygon", "left": (min(xs) + max(xs)) / 2, "top": (min(ys) + max(ys)) / 2,
                "width": max(xs) - min(xs), "height": max(ys) - min(ys),
                "points": [{"x": p[0], "y": p[1]} for p in points]}
    return None


def translucent(color: str) -> str:
    color = color.lstrip("#")
    if len(color) == 6:
        r, g, b = (int(color[i : i + 2], 16) for i in (0, 2, 4))
        return f"rgba({r}, {g}, {b}, 0.2)"
    return "rgba(0, 0, 0, 0.1)"


def same(a: dict, b: dict) -> bool:
    """Two geometries of one shape within a hair of each other."""
    if a.keys() != b.keys():
        return False
    for key, value in a.items():
        other = b[key]
        if key == "points":
            if len(value) != len(other):
                return False
            if any(abs(p - q) > _TOLERANCE for pa, pb in zip(value, other, strict=True) for p, q in zip(pa, pb, strict=True)):
                return False
        elif key == "rotation":
            if abs(((float(value) - float(other) + 180) % 360) - 180) > 0.05:
                return False
        elif isinstance(value, (int, float)) and isinstance(other, (int, float)):
            if abs(value - other) > _TOLERANCE:
                return False
        elif value != other:
            return False
    return True


@dataclass
class Change:
    regions: list[dict]
    added: list[dict]
    removed: list[dict]
    ignored: int = 0  # objects that are no region (a stray click, another tool's shape)


MIN_SIZE = 3  # canvas pixels: a box or an ellipse smaller than this is a click, not a region


def _degenerate(obj: dict, shape: str) -> bool:
    if shape in ("rectangle", "ellipse"):
        width, height = _size(obj)
        return width < MIN_SIZE or height < MIN_SIZE
    if shape == "polygon":
        return len(obj.get("points") or []) < 3
    return False


def sync(regions: list[dict], objects: list[dict], frame: Frame, drawing: str | None, new_region) -> Change:
    """The regions after the canvas reported its objects: unchanged objects keep their
    region, a moved or resized one updates its region, a new one becomes a region made
    by new_region(shape, obj) (None to ignore it), a missing one is removed."""
    remaining = list(regions)
    seen: list[tuple[dict, dict | None, str | None]] = []
    for obj in objects:
        hit = None
        for region in remaining:
            shape = region["shape"]
            if shape_of_object(obj, shape) != shape:
                continue
            if _matches(obj, region, frame):
                hit = region
                break
        if hit is not None:
            remaining.remove(hit)
        seen.append((obj, hit, hit["shape"] if hit else None))
    out: list[dict] = []
    added: list[dict] = []
    ignored = 0
    for obj, hit, _ in seen:
        if hit is not None:
            out.append(hit)
            continue
        shape = shape_of_object(obj, drawing)
        changed = next((r for r in remaining if shape_of_object(obj, r["shape"]) == r["shape"]), None)
        if changed is not None:
            remaining.remove(changed)
            out.append(_moved(changed, obj, frame))
            continue
        region = new_region(shape, obj) if shape is not None and not _degenerate(obj, shape) else None
        if region is None:
            ignored += 1
            continue
        out.append(region)
        added.append(region)
    return Change(regions=out, added=added, removed=remaining, ignored=ignored)


def _matches(obj: dict, region: dict, frame: Frame) -> bool:
    if region["shape"] == "brush":
        canvas = region.get("canvas") or {}
        return obj.get("type") == canvas.get("type") and all(
            abs(float(obj.get(k, 0)) - float(canvas.get(k, 0))) < 0.5 for k in ("left", "top")
        )
    return same(geometry(obj, region["shape"], frame), region["geometry"])


def _moved(region: dict, obj: dict, frame: Frame) -> dict:
    if region["shape"] == "brush":
        canvas = {**(region.get("canvas") or {}), "left": obj.get("left"), "top": obj.get("top")}
        if canvas.get("path") is None:  # a saved mask shown as an image: it does not move
            return region
        return {**region, "canvas": canvas, "geometry": brush_geometry(canvas, frame), "origin": changed_origin(region)}
    return {**region, "geometry": geometry(obj, region["shape"], frame), "origin": changed_origin(region)}


def changed_origin(region: dict) -> str:
    """Label Studio's origin of a region once a person has changed a model's region."""
    return "prediction-changed" if region.get("origin") == "prediction" else region.get("origin") or "manual"


def brush_canvas(obj: dict) -> dict:
    """What a brush region keeps of the stroke that drew it."""
    return {
        "type": obj.get("type"), "path": obj.get("path") or [], "strokeWidth": float(obj.get("strokeWidth") or 1),
        "left": obj.get("left", 0), "top": obj.get("top", 0),
        "origin_left": obj.get("left", 0), "origin_top": obj.get("top", 0),
    }


def brush_geometry(canvas: dict, frame: Frame) -> dict:
    """A brush stroke (a canvas path, maybe moved since) as a Label Studio RLE mask at the
    image's own resolution."""
    from PIL import Image, ImageDraw

    scale_x = frame.natural_width / frame.width
    scale_y = frame.natural_height / frame.height
    dx = float(canvas.get("left", 0)) - float(canvas.get("origin_left", 0))
    dy = float(canvas.get("top", 0)) - float(canvas.get("origin_top", 0))
    points = [((x + dx) * scale_x, (y + dy) * scale_y) for x, y in _path_points(canvas.get("path") or [])]
    width = max(1, round(float(canvas.get("strokeWidth", 1)) * scale_x))
    image = Image.new("L", (frame.natural_width, frame.natural_height), 0)
    draw = ImageDraw.Draw(image)
    if len(points) > 1:
        draw.line(points, fill=255, width=width, joint="curve")
    for x, y in points[:1] + points[-1:]:
        draw.ellipse((x - width / 2, y - width / 2, x + width / 2, y + width / 2), fill=255)
    return {"format": "rle", "rle": brush.encode(np.asarray(image))}


def _path_points(path: list) -> list[tuple[float, float]]:
    """The points along an SVG-like path of M, L, Q and C commands."""
    points: list[tuple[float, float]] = []
    for command in path:
        if not command:
            continue
        op, args = str(command[0]).upper(), [float(a) for a in command[1:]]
        if op in ("M", "L") and len(args) >= 2:
            points.append((args[0], args[1]))
        elif op == "Q" and len(args) >= 4 and points:
            (x0, y0), (cx, cy), (x1, y1) = points[-1], args[:2], args[2:4]
            for i in range(1, 5):
                t = i / 4
                points.append(((1 - t) ** 2 * x0 + 2 * (1 - t) * t * cx + t * t * x1,
                               (1 - t) ** 2 * y0 + 2 * (1 - t) * t * cy + t * t * y1))
        elif op == "C" and len(args) >= 6:
            points.append((args[4], args[5]))
    return points


def mask_object(region: dict, frame: Frame, color: str) -> dict | None:
    """A saved brush mask as a canvas image object (it can be deleted, not moved)."""
    width, height = region.get("original_width"), region.get("original_height")
    try:
        mask = brush.decode(region["geometry"].get("rle") or [], int(width), int(height))
    except (InvalidInput, TypeError, ValueError):
        return None
    from PIL import Image

    color = color.lstrip("#")
    rgb = tuple(int(color[i : i + 2], 16) for i in (0, 2, 4)) if len(color) == 6 else (255, 0, 0)
    rgba = np.zeros((*mask.shape, 4), dtype=np.uint8)
    rgba[mask] = (*rgb, 140)
    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, format="PNG")
    src = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    return {
        "type": "Image", "src": src, "left": 0, "top": 0, "originX": "left", "originY": "top",
        "width": int(width), "height": int(height), "scaleX": frame.width / int(width), "scaleY": frame.height / int(height),
        "lockMovementX": True, "lockMovementY": True, "lockScalingX": True, "lockScalingY": True, "lockRotation": True,
    }


def draw_regions(path, regions: list[dict], colors: dict[str, str]):
    """The image with its regions drawn on it (a PIL image), for read-only views."""
    from PIL import Image, ImageDraw

    with Image.open(path) as opened:
        image = opened.convert("RGB")
    scale = max(1.0, 480 / max(image.width, 1))
    if scale > 1:
        image = image.resize((round(image.width * scale), round(image.height * scale)), Image.NEAREST)
    frame = Frame(image.width, image.height, image.width, image.height)
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for number, region in enumerate(regions, start=1):
        color = colors.get(region["id"], "#ff9900")
        g = region["geometry"]
        if region["shape"] == "brush":
            try:
                mask = brush.decode(g["rle"], int(region["original_width"]), int(region["original_height"]))
            except (InvalidInput, KeyError, TypeError, ValueError):
                continue
            layer = Image.fromarray((mask * 140).astype(np.uint8), "L").resize(image.size)
            overlay.paste(Image.new("RGBA", image.size, color), (0, 0), layer)
            continue
        if region["shape"] == "rectangle":
            box = Box(*frame.px(g["x"], g["y"]), *frame.px(g["width"], g["height"]), float(g.get("rotation") or 0))
            points = box_corners(box)
        elif region["shape"] == "polygon":
            points = [frame.px(p[0], p[1]) for p in g.get("points") or []]
        elif region["shape"] == "ellipse":
            ellipse = Ellipse(*frame.px(g["x"], g["y"]), *frame.px(g["radiusX"], g["radiusY"]), float(g.get("rotation") or 0))
            points = ellipse_outline(ellipse)
        else:
            cx, cy = frame.px(g["x"], g["y"])
            draw.ellipse((cx - 4, cy - 4, cx + 4, cy + 4), fill=color)
            points = [(cx + 6, cy - 6)]
        if len(points) > 1:
            draw.polygon(points, outline=color, width=2)
        draw.text(points[0], str(number), fill=color)
    return Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB")
