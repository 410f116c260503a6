"""Boxes and ellipses in percent and pixels, and their rotation (labelkit.results.geometry),
checked against numbers worked out by hand."""

from __future__ import annotations

import math
import random

import pytest

from labelkit.results.geometry import (
    Box,
    Ellipse,
    box_corners,
    box_in_pixels,
    ellipse_bounds,
    ellipse_corners,
    ellipse_in_pixels,
    ellipse_outline,
    rotate,
    rotate_point,
    to_percent,
    to_pixels,
)


def _close(points, expected) -> bool:
    return len(points) == len(expected) and all(
        p == pytest.approx(q, abs=1e-9) for p, q in zip(points, expected, strict=True)
    )


# Rotation: clockwise as a person sees a screen, whose y axis points down


def test_a_positive_angle_turns_right_to_down_clockwise_on_screen() -> None:
    assert rotate_point((1, 0), 90) == pytest.approx((0, 1))  # pointing right -> pointing down
    assert rotate_point((0, -1), 90) == pytest.approx((1, 0))  # pointing up -> pointing right
    assert rotate_point((1, 0), 30) == pytest.approx((math.sqrt(3) / 2, 0.5))  # a little below the x axis
    assert rotate_point((1, 0), -90) == pytest.approx((0, -1))  # negative: counterclockwise, up


def test_points_turn_about_the_origin_given_and_are_returned_as_points() -> None:
    assert rotate_point((3, 0), 90, about=(10, 20)) == pytest.approx((10, 23))
    assert _close(rotate([(0, 0), (2, 0), (0, 2)], 180, about=(5, 5)), [(5, 5), (3, 5), (5, 3)])


def test_a_full_turn_brings_a_point_back() -> None:
    assert rotate_point((7.5, -2.25), 360, about=(1, 1)) == pytest.approx((8.5, -1.25))


# Percent and pixels


def test_a_percent_is_of_the_width_for_x_and_of_the_height_for_y() -> None:
    assert to_pixels(25, 50, 640, 480) == (160.0, 240.0)
    assert to_pixels(10, 10, 200, 100) == (20.0, 10.0)  # a size: 10% wide is twice 10% high here
    assert to_percent(160, 240, 640, 480) == (25.0, 50.0)


def test_percent_and_pixels_round_trip() -> None:
    rnd = random.Random(3)
    for _ in range(200):
        x, y = rnd.uniform(-10, 110), rnd.uniform(-10, 110)
        width, height = rnd.randint(1, 5000), rnd.randint(1, 5000)
        assert to_percent(*to_pixels(x, y, width, height), width, height) == pytest.approx((x, y), abs=1e-9)
        px, py = rnd.uniform(0, width), rnd.uniform(0, height)
        assert to_pixels(*to_percent(px, py, width, height), width, height) == pytest.approx((px, py), abs=1e-9)


def test_label_studio_values_become_pixels_and_keep_their_rotation() -> None:
    assert box_in_pixels({"x": 10, "y": 20, "width": 30, "height": 40, "rotation": 15}, 200, 100) == Box(20, 20, 60, 40, 15)
    assert box_in_pixels({"x": 10, "y": 20, "width": 30, "height": 40, "rotation": None}, 200, 100).rotation == 0
    assert box_in_pixels({"x": 10, "y": 20, "width": 30, "height": 40}, 200, 100).rotation == 0
    ellipse = ellipse_in_pixels({"x": 50, "y": 50, "radiusX": 10, "radiusY": 10, "rotation": 45}, 200, 100)
    assert ellipse == Ellipse(100, 50, 20, 10, 45)  # radiusX of the width, radiusY of the height


# Boxes: turned about their top-left corner


def test_a_box_turned_90_degrees_hangs_down_from_its_top_left_corner() -> None:
    # 4 wide, 2 high at (10, 20): the top edge now points down, the box lies left of the corner.
    corners = box_corners(Box(10, 20, 4, 2, 90))
    assert _close(corners, [(10, 20), (10, 24), (8, 24), (8, 20)])


def test_an_unturned_box_lists_its_corners_clockwise_from_the_top_left() -> None:
    assert box_corners(Box(1, 2, 3, 4)) == [(1, 2), (4, 2), (4, 6), (1, 6)]


def test_the_top_left_corner_stays_put_whatever_the_angle() -> None:
    for degrees in (0, 17, 90, 180, 271.5, -45):
        corners = box_corners(Box(30, 40, 12, 5, degrees))
        assert corners[0] == pytest.approx((30, 40))
        assert math.dist(corners[0], corners[1]) == pytest.approx(12)  # the width stays the width
        assert math.dist(corners[1], corners[2]) == pytest.approx(5)


def test_a_box_turns_in_pixels_so_it_keeps_its_shape_on_a_wide_image() -> None:
    # 20% x 10% of a 200 x 100 image is 40 x 10 pixels; turned a quarter it is 10 x 40 pixels,
    # which is 5% of the width by 40% of the height (turning in percent would give 10% x 20%).
    corners = box_corners(box_in_pixels({"x": 10, "y": 10, "width": 20, "height": 10, "rotation": 90}, 200, 100))
    assert _close(corners, [(20, 10), (20, 50), (10, 50), (10, 10)])
    xs, ys = [to_percent(x, y, 200, 100)[0] for x, y in corners], [to_percent(x, y, 200, 100)[1] for x, y in corners]
    assert (max(xs) - min(xs), max(ys) - min(ys)) == pytest.approx((5, 40))


# Ellipses: turned about their center


def test_an_ellipse_outline_starts_at_the_end_of_its_x_radius_and_goes_clockwise() -> None:
    assert _close(ellipse_outline(Ellipse(10, 10, 5, 2), 4), [(15, 10), (10, 12), (5, 10), (10, 8)])
    assert _close(ellipse_outline(Ellipse(10, 10, 5, 2, 90), 4), [(10, 15), (8, 10), (10, 5), (12, 10)])
    assert len(ellipse_outline(Ellipse(0, 0, 1, 1))) == 36


def test_an_ellipse_turned_90_degrees_swaps_its_extents() -> None:
    assert _close(ellipse_bounds(Ellipse(100, 50, 40, 10, 90)), [(90, 10), (110, 90)])
    assert _close(ellipse_bounds(Ellipse(100, 50, 40, 10)), [(60, 40), (140, 60)])


def test_an_ellipse_at_45_degrees_reaches_as_far_as_its_radii_projected() -> None:
    half = math.sqrt((40**2 + 10**2) / 2)  # sqrt(rx^2 cos^2 + ry^2 sin^2), cos = sin = 1/sqrt(2)
    assert _close(ellipse_bounds(Ellipse(0, 0, 40, 10, 45)), [(-half, -half), (half, half)])


@pytest.mark.parametrize("degrees", [0, 10, 33.3, 45, 90, 120, 200, -75])
def test_the_box_around_an_ellipse_holds_its_outline_and_touches_it(degrees: float) -> None:
    ellipse = Ellipse(300, 200, 120, 45, degrees)
    (left, top), (right, bottom) = ellipse_bounds(ellipse)
    outline = ellipse_outline(ellipse, 3600)
    xs, ys = [p[0] for p in outline], [p[1] for p in outline]
    assert left - 1e-9 <= min(xs) and max(xs) <= right + 1e-9 and top - 1e-9 <= min(ys) and max(ys) <= bottom + 1e-9
    # a point every tenth of a degree comes within a hair of each side
    assert (min(xs), min(ys), max(xs), max(ys)) == pytest.approx((left, top, right, bottom), abs=0.01)


def test_an_ellipses_own_box_turns_with_it_about_its_center() -> None:
    assert _close(ellipse_corners(Ellipse(0, 0, 2, 1)), [(-2, -1), (2, -1), (2, 1), (-2, 1)])
    assert _close(ellipse_corners(Ellipse(0, 0, 2, 1, 90)), [(1, -2), (1, 2), (-1, 2), (-1, -2)])
