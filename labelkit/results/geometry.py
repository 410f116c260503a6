"""Boxes and ellipses: Label Studio's percent values in pixels, and their rotation. One rule
for the exporters, agreement and the canvas.

Label Studio stores a rectangle as x, y (its top-left corner), width and height, and an
ellipse as its center x, y and radiusX, radiusY, all in percent of the image's width (x,
width, radiusX) or height (y, height, radiusY); `rotation` is in degrees. A box turns about
its top-left corner, an ellipse about its center, clockwise as a person sees the screen.

Turning happens in pixels: a percent of the width and a percent of the height are not the
same length unless the image is square, so turning in percent would shear the shape.

Screens count y downwards. The textbook formula (x cos - y sin, x sin + y cos) turns a
positive angle counterclockwise on axes whose y points up; on a screen the same formula
turns it clockwise, the direction Label Studio and Fabric.js turn a shape. So no sign is
flipped here.

The arithmetic keeps the order the exporters have always used (x / 100 * width; corner +
dx cos - dy sin, left to right): exports are compared digit for digit with Label Studio's
converter and pycocotools, and a different order can change the last digit.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import NamedTuple

Point = tuple[float, float]
ELLIPSE_POINTS = 36  # an ellipse's outline as exported and drawn: a point every 10 degrees


class Box(NamedTuple):
    """A rectangle in pixels: its top-left corner (x, y) and size before rotation, turned
    `rotation` degrees clockwise about that corner (Label Studio's convention)."""

    x: float
    y: float
    width: float
    height: float
    rotation: float = 0.0


class Ellipse(NamedTuple):
    """An ellipse in pixels: its center (x, y) and its radii along its own axes, turned
    `rotation` degrees clockwise about its center."""

    x: float
    y: float
    radius_x: float
    radius_y: float
    rotation: float = 0.0


# ---------------------------------------------------------------- percent and pixels


def to_pixels(x: float, y: float, width: float, height: float) -> Point:
    """A point or a size in percent of a width x height image, in pixels: x of the width, y of
    the height (so a radiusX and a radiusY, too)."""
    return x / 100 * width, y / 100 * height


def to_percent(x: float, y: float, width: float, height: float) -> Point:
    """A point or a size in pixels, in percent of a width x height image (to_pixels undone)."""
    return x * 100 / width, y * 100 / height


def box_in_pixels(value: dict, width: float, height: float) -> Box:
    """A Label Studio rectangle value (percent) as a Box in pixels of a width x height image.
    No rotation (absent, None or 0) is 0; a rotation is kept as given."""
    x, y = to_pixels(value["x"], value["y"], width, height)
    w, h = to_pixels(value["width"], value["height"], width, height)
    return Box(x, y, w, h, value.get("rotation") or 0)


def ellipse_in_pixels(value: dict, width: float, height: float) -> Ellipse:
    """A Label Studio ellipse value (percent) as an Ellipse in pixels of a width x height image:
    radiusX is a percent of the width, radiusY of the height."""
    x, y = to_pixels(value["x"], value["y"], width, height)
    rx, ry = to_pixels(value["radiusX"], value["radiusY"], width, height)
    return Ellipse(x, y, rx, ry, value.get("rotation") or 0)


# ---------------------------------------------------------------- rotation


def rotate(offsets: Iterable[Point], degrees: float, about: Point = (0.0, 0.0)) -> list[Point]:
    """Points given by their offset (dx, dy) from `about`, turned `degrees` clockwise about it
    on a screen (y down), as points: about + the turned offset. Offsets rather than points,
    so a corner or a center is added once, in the order the exports have always used."""
    angle = math.radians(degrees)
    cos, sin = math.cos(angle), math.sin(angle)
    ox, oy = about
    return [(ox + dx * cos - dy * sin, oy + dx * sin + dy * cos) for dx, dy in offsets]


def rotate_point(offset: Point, degrees: float, about: Point = (0.0, 0.0)) -> Point:
    """One point given by its offset from `about`, turned `degrees` clockwise about it on a
    screen (y down); with no `about`, the turned offset itself."""
    return rotate([offset], degrees, about)[0]


# ---------------------------------------------------------------- shapes in pixels


def box_corners(box: Box) -> list[Point]:
    """A box's 4 corners in pixels: top-left, top-right, bottom-right, bottom-left as drawn
    before rotation, then turned about the top-left corner (which therefore stays put)."""
    return rotate([(0, 0), (box.width, 0), (box.width, box.height), (0, box.height)], box.rotation, (box.x, box.y))


def ellipse_outline(ellipse: Ellipse, count: int = ELLIPSE_POINTS) -> list[Point]:
    """`count` points on an ellipse, evenly spaced in angle from the end of its own x axis
    (radius_x from the center, before rotation), turning towards its y axis (downwards on
    screen before rotation), then turned about the center."""
    steps = [2 * math.pi * i / count for i in range(count)]
    rx, ry = ellipse.radius_x, ellipse.radius_y
    return rotate([(rx * math.cos(t), ry * math.sin(t)) for t in steps], ellipse.rotation, (ellipse.x, ellipse.y))


def ellipse_corners(ellipse: Ellipse) -> list[Point]:
    """The 4 corners of the ellipse's own box (2 radii by 2 radii, turned with it): top-left,
    top-right, bottom-right, bottom-left before rotation, turned about the center."""
    rx, ry = ellipse.radius_x, ellipse.radius_y
    return rotate([(-rx, -ry), (rx, -ry), (rx, ry), (-rx, ry)], ellipse.rotation, (ellipse.x, ellipse.y))


def ellipse_bounds(ellipse: Ellipse) -> list[Point]:
    """The top-left and bottom-right corners of the axis-aligned box around a turned ellipse,
    exact (not from an outline, which would cut its curve short): each half-extent is the
    length of the radii's projections on that axis."""
    angle = math.radians(ellipse.rotation)
    rx, ry = ellipse.radius_x, ellipse.radius_y
    ex = math.hypot(rx * math.cos(angle), ry * math.sin(angle))
    ey = math.hypot(rx * math.sin(angle), ry * math.cos(angle))
    return [(ellipse.x - ex, ellipse.y - ey), (ellipse.x + ex, ellipse.y + ey)]
