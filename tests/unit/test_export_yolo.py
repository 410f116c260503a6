"""YOLO exports read back as Ultralytics reads a dataset: data.yaml parsed with PyYAML,
a label file per image named after it, one line per object, numbers checked against the
annotations (pixel arithmetic done here by hand, not with the exporter's code)."""

from __future__ import annotations

import io
import itertools
import math
import zipfile

import pytest
import yaml
from click.testing import CliRunner
from PIL import Image

from labelkit import exporters
from labelkit.cli import main
from labelkit.db import session_scope
from labelkit.errors import InvalidInput
from labelkit.labeling import queue, submissions
from labelkit.models import Role
from labelkit.storage import local

CONFIG = """<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="box" toName="image"><Label value="Car"/><Label value="Person"/></RectangleLabels>
  <PolygonLabels name="outline" toName="image"><Label value="Person"/><Label value="Tree: oak"/></PolygonLabels>
  <Choices name="quality" toName="image"><Choice value="Clear"/><Choice value="Blurry"/></Choices>
</View>"""
W, H = 200, 100  # the images' size in pixels
NAMES = ["Car", "Person", "Tree: oak"]


def png(color: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (W, H), color).save(out, format="PNG")
    return out.getvalue()


def rect(rid: str, label: str, x: float, y: float, w: float, h: float, rotation: float = 0) -> dict:
    return {"id": rid, "from_name": "box", "to_name": "image", "type": "rectanglelabels", "origin": "manual",
            "original_width": W, "original_height": H, "image_rotation": 0,
            "value": {"x": x, "y": y, "width": w, "height": h, "rotation": rotation, "rectanglelabels": [label]}}


def polygon(rid: str, label: str, points: list[list[float]]) -> dict:
    return {"id": rid, "from_name": "outline", "to_name": "image", "type": "polygonlabels", "origin": "manual",
            "original_width": W, "original_height": H, "image_rotation": 0,
            "value": {"points": points, "closed": True, "polygonlabels": [label]}}


def quality(value: str) -> dict:
    return {"id": "q1", "from_name": "quality", "to_name": "image", "type": "choices", "origin": "manual",
            "value": {"choices": [value]}}


STRAIGHT = rect("r1", "Car", 10, 20, 30, 40)
ROTATED = rect("r2", "Person", 10, 20, 30, 40, rotation=30)
TREE = polygon("p1", "Tree: oak", [[50, 10], [90, 20], [70, 80]])
# The rotated box by hand: 20,20 px top-left, 60 x 40 px, 30 degrees clockwise about the top-left corner.
C, S = math.cos(math.radians(30)), math.sin(math.radians(30))
ROTATED_PX = [(20, 20), (20 + 60 * C, 20 + 60 * S), (20 + 60 * C - 40 * S, 20 + 60 * S + 40 * C), (20 - 40 * S, 20 + 40 * C)]


@pytest.fixture
def street(factory):
    """Tasks: street.png (a box, a rotated box, a polygon), empty.png (labeled, no
    objects), todo.png (not labeled) and a URL image labeled later by a second annotator."""
    admin = factory.user(Role.ADMIN, email="admin@example.com")
    project = factory.project(admin, config=CONFIG, title="Street", overlap=2)
    paths = [local.save_upload(project.id, name, png(color))
             for name, color in (("street.png", "gray"), ("empty.png", "white"), ("todo.png", "black"))]
    factory.tasks(project, admin, [{"image": p} for p in paths])
    ann, bob = factory.user(email="ann@example.com"), factory.user(email="bob@example.com")
    for person in (ann, bob):
        factory.member(project, person, Role.ANNOTATOR)

    def label(person, result: list) -> None:
        with session_scope() as s:
            task = queue.claim_next(s, person, project.id).task
        with session_scope() as s:
            submissions.submit(s, person, task.id, result)

    label(ann, [STRAIGHT, quality("Clear")])  # street.png, replaced by bob's later annotation
    label(ann, [quality("Blurry")])  # empty.png
    label(bob, [STRAIGHT, ROTATED, TREE, quality("Clear")])  # street.png, the latest
    return project, admin, paths


def export(user, project, fmt: str, with_images: bool = True) -> zipfile.ZipFile:
    out = io.BytesIO()
    with session_scope(write=False) as s:
        exporters.export_project(s, user, project.id, fmt, out, with_images=with_images)
    return zipfile.ZipFile(io.BytesIO(out.getvalue()))


def labels_of(archive: zipfile.ZipFile, stem: str) -> list[tuple[int, list[float]]]:
    rows = []
    for text in archive.read(f"labels/train/{stem}.txt").decode().splitlines():
        first, *numbers = text.split()
        values = [float(n) for n in numbers]
        assert all(0 <= v <= 1 for v in values), text
        rows.append((int(first), values))
    return rows


def close(found: list[float], expected: list[float]) -> bool:
    return len(found) == len(expected) and all(abs(a - b) <= 1e-6 for a, b in zip(found, expected, strict=True))


def normalized(points_px: list[tuple[float, float]]) -> list[float]:
    return [v for x, y in points_px for v in (x / W, y / H)]


def check_layout(archive: zipfile.ZipFile, stems: list[str]) -> None:
    """The layout Ultralytics documents, with images uploaded here packed beside their labels."""
    data = yaml.safe_load(archive.read("data.yaml"))
    assert data["train"] == "images/train" and data["val"] == "images/train" and "path" not in data
    assert data["names"] == dict(enumerate(NAMES))
    assert archive.read("classes.txt").decode().splitlines() == NAMES
    labels = sorted(n for n in archive.namelist() if n.startswith("labels/"))
    images = sorted(n for n in archive.namelist() if n.startswith("images/"))
    assert labels == sorted(f"labels/train/{s}.txt" for s in stems)
    assert [n.rsplit("/", 1)[1].rsplit(".", 1)[0] for n in images] == sorted(stems)
    for name in images:  # the image itself, readable and of its size
        assert Image.open(io.BytesIO(archive.read(name))).size == (W, H)


def test_yolo_detection_boxes_from_the_latest_annotation(street) -> None:
    project, admin, paths = street
    archive = export(admin, project, "YOLO")
    stems = [p.rsplit("/", 1)[1].rsplit(".", 1)[0] for p in paths[:2]]  # todo.png is not labeled: left out
    check_layout(archive, stems)
    street_rows = labels_of(archive, stems[0])
    assert [c for c, _ in street_rows] == [0, 1, 2]
    # The straight box: 20..80 x 20..60 px.
    assert close(street_rows[0][1], [50 / W, 40 / H, 60 / W, 40 / H])
    # The rotated box: the box around its corners.
    xs, ys = [p[0] for p in ROTATED_PX], [p[1] for p in ROTATED_PX]
    expected = [(min(xs) + max(xs)) / 2 / W, (min(ys) + max(ys)) / 2 / H, (max(xs) - min(xs)) / W, (max(ys) - min(ys)) / H]
    assert close(street_rows[1][1], expected)
    # The polygon: x 50..90 %, y 10..80 %.
    assert close(street_rows[2][1], [0.70, 0.45, 0.40, 0.70])
    assert archive.read(f"labels/train/{stems[1]}.txt") == b""  # labeled, no objects


def test_yolo_segmentation_polygons_and_boxes_as_corners(street) -> None:
    project, admin, paths = street
    archive = export(admin, project, "YOLO_SEG")
    stem = paths[0].rsplit("/", 1)[1].rsplit(".", 1)[0]
    rows = labels_of(archive, stem)
    assert [c for c, _ in rows] == [0, 1, 2]
    assert close(rows[0][1], normalized([(20, 20), (80, 20), (80, 60), (20, 60)]))
    assert close(rows[1][1], normalized(ROTATED_PX))
    assert close(rows[2][1], [0.5, 0.1, 0.9, 0.2, 0.7, 0.8])


def test_yolo_obb_rotated_boxes_give_their_four_corners(street) -> None:
    project, admin, paths = street
    archive = export(admin, project, "YOLO_OBB")
    stem = paths[0].rsplit("/", 1)[1].rsplit(".", 1)[0]
    rows = labels_of(archive, stem)
    assert [c for c, _ in rows] == [0, 1]  # the polygon is not a box
    assert close(rows[0][1], normalized([(20, 20), (80, 20), (80, 60), (20, 60)]))
    assert close(rows[1][1], normalized(ROTATED_PX))
    # The corners keep the box's size: 60 px along the rotated top edge, 40 px down the side.
    (x1, y1), (x2, y2), (x3, y3) = ROTATED_PX[:3]
    assert math.isclose(math.dist((x1, y1), (x2, y2)), 60) and math.isclose(math.dist((x2, y2), (x3, y3)), 40)


def test_images_of_the_same_name_and_from_urls(factory) -> None:
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin, config=CONFIG)
    same = [local.save_upload(project.id, "a.png", png("red")) for _ in range(2)]
    urls = ["https://example.com/pics/cat%201.jpg?sig=x", "https://example.com/other/cat%201.jpg", "s3://bucket/CAT_1.png"]
    factory.tasks(project, admin, [*({"image": u} for u in urls), *({"image": p} for p in same)])
    for _ in range(5):
        with session_scope() as s:
            task = queue.claim_next(s, admin, project.id).task
        with session_scope() as s:
            submissions.submit(s, admin, task.id, [rect("r1", "Car", 0, 0, 100, 100)])
    archive = export(admin, project, "YOLO", with_images=False)  # packing URLs: tests/unit/test_export_images.py
    labels = [n for n in archive.namelist() if n.startswith("labels/")]
    assert len(labels) == len({n.lower() for n in labels}) == 5  # distinct on a case-insensitive disk too
    assert "labels/train/cat_1.txt" in labels  # named after the URL's file
    assert not [n for n in archive.namelist() if n.startswith("images/")]  # images only when asked for
    for name in labels:
        assert labels_of(archive, name[len("labels/train/"):-4]) == [(0, [0.5, 0.5, 1.0, 1.0])]


ELLIPSES = """<View>
  <Image name="photo" value="$photo"/>
  <EllipseLabels name="ring" toName="photo"><Label value="Cell"/></EllipseLabels>
</View>"""


def ellipse(rid: str, rotation: float) -> dict:
    # Center 100,50 px, radii 40 px (20 % of 200) and 30 px (30 % of 100).
    return {"id": rid, "from_name": "ring", "to_name": "photo", "type": "ellipselabels", "origin": "manual",
            "original_width": W, "original_height": H, "image_rotation": 0,
            "value": {"x": 50, "y": 50, "radiusX": 20, "radiusY": 30, "rotation": rotation, "ellipselabels": ["Cell"]}}


def test_ellipses_as_boxes_rotated_boxes_and_outlines(factory) -> None:
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin, config=ELLIPSES)
    factory.tasks(project, admin, [{"photo": local.save_upload(project.id, "cells.png", png("blue"))}])
    with session_scope() as s:
        task = queue.claim_next(s, admin, project.id).task
    with session_scope() as s:
        submissions.submit(s, admin, task.id, [ellipse("e1", 90), ellipse("e2", 30)])
    (stem,) = {n.rsplit("/", 1)[1][:-4] for n in export(admin, project, "YOLO").namelist() if n.startswith("labels/")}
    # Turned a quarter: 60 px wide (2 x 30) and 80 px high (2 x 40) about the center.
    upright, tilted = labels_of(export(admin, project, "YOLO"), stem)
    assert upright[0] == 0 and close(upright[1], [0.5, 0.5, 60 / W, 80 / H])
    # Tilted 30 degrees: the box around a dense outline of it.
    t = [2 * math.pi * i / 100000 for i in range(100000)]
    xs = [100 + 40 * math.cos(a) * C - 30 * math.sin(a) * S for a in t]
    ys = [50 + 40 * math.cos(a) * S + 30 * math.sin(a) * C for a in t]
    expected = [(min(xs) + max(xs)) / 2 / W, (min(ys) + max(ys)) / 2 / H, (max(xs) - min(xs)) / W, (max(ys) - min(ys)) / H]
    assert all(abs(a - b) < 1e-5 for a, b in zip(tilted[1], expected, strict=True))
    upright, _ = labels_of(export(admin, project, "YOLO_OBB"), stem)
    assert close(upright[1], normalized([(130, 10), (130, 90), (70, 90), (70, 10)]))
    _, outline = labels_of(export(admin, project, "YOLO_SEG"), stem)
    assert len(outline[1]) == 72  # 36 points
    for x, y in zip(outline[1][::2], outline[1][1::2], strict=True):  # each on the ellipse
        dx, dy = x * W - 100, y * H - 50
        u, v = dx * C + dy * S, -dx * S + dy * C
        assert abs((u / 40) ** 2 + (v / 30) ** 2 - 1) < 1e-4


def test_a_text_project_is_refused_with_the_reason(factory) -> None:
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin)  # sentiment of a text
    for fmt, wanted in (("YOLO", "boxes, polygons or ellipses"), ("YOLO_SEG", "boxes, polygons or ellipses"), ("YOLO_OBB", "boxes or ellipses")):
        with session_scope(write=False) as s, pytest.raises(InvalidInput, match=f"{fmt} needs {wanted} on an <Image>"):
            exporters.export_project(s, admin, project.id, fmt, io.BytesIO())
    polygons_only = CONFIG.replace('<RectangleLabels name="box" toName="image"><Label value="Car"/><Label value="Person"/></RectangleLabels>', "")
    assert exporters.FORMATS["YOLO_OBB"].supports(parse(polygons_only)) == "YOLO_OBB needs boxes or ellipses on an <Image>; this project has none."
    assert exporters.FORMATS["YOLO_SEG"].supports(parse(polygons_only)) is None


def parse(xml: str):
    from labelkit.config import parse_config

    return parse_config(xml)


def test_the_cli_writes_the_same_zip(street, tmp_path) -> None:
    project, admin, _ = street
    out = tmp_path / "street.zip"
    result = CliRunner().invoke(main, ["export", "Street", "--format", "yolo_obb", "--out", str(out)])
    assert result.exit_code == 0, result.output
    page = io.BytesIO()
    with session_scope(write=False) as s:
        exporters.export_project(s, admin, project.id, "YOLO_OBB", page)
    assert out.read_bytes() == page.getvalue()


def test_labels_are_written_task_by_task() -> None:
    """Structural streaming: when the writer asks for the next task, the last one's label
    file is already in the output (nothing waits for the end of the project)."""
    import json

    from labelkit.config import parse_config
    from labelkit.exporters.base import ExportContext, ExportedAnnotation, ExportedTask
    from labelkit.exporters.yolo import EXPORTERS

    out = io.BytesIO()
    sizes = []

    def tasks():
        for i in range(1, 201):
            sizes.append(out.tell())
            annotation = ExportedAnnotation(i, 1, "a@example.com", "submitted", None, None, None, 0.0, json.dumps([STRAIGHT]))
            yield ExportedTask(i, json.dumps({"image": f"https://example.com/{i}.jpg"}), None, 1, [annotation])

    ctx = ExportContext(project=None, config=parse_config(CONFIG), tasks=tasks, data_keys=lambda: ["image"])
    EXPORTERS[0].write(ctx, out)
    assert all(a < b for a, b in itertools.pairwise(sizes[1:]))  # the output grew before every next task
    archive = zipfile.ZipFile(io.BytesIO(out.getvalue()))
    assert len([n for n in archive.namelist() if n.startswith("labels/")]) == 200
    assert labels_of(archive, "200") == [(0, [50 / W, 40 / H, 60 / W, 40 / H])]


def test_several_images_of_a_task_each_get_their_labels(factory) -> None:
    config = """<View>
      <Image name="pages" valueList="$images"/>
      <RectangleLabels name="box" toName="pages"><Label value="Stamp"/></RectangleLabels>
    </View>"""
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin, config=config)
    images = [local.save_upload(project.id, f"page{i}.png", png("white")) for i in (1, 2)]
    factory.tasks(project, admin, [{"images": [*images, "/data/local-files/?d=scans/page3.jpg"]}])
    box = rect("r1", "Stamp", 50, 50, 25, 50) | {"to_name": "pages", "item_index": 1}  # on the second image
    with session_scope() as s:
        task = queue.claim_next(s, admin, project.id).task
    with session_scope() as s:
        submissions.submit(s, admin, task.id, [box])
    archive = export(admin, project, "YOLO")
    stems = [p.rsplit("/", 1)[1][:-4] for p in images]
    assert archive.read(f"labels/train/{stems[0]}.txt") == b""
    assert labels_of(archive, stems[1]) == [(0, [0.625, 0.75, 0.25, 0.5])]
    assert archive.read("labels/train/page3.txt") == b""  # named after the local file; not packed
    assert sorted(n for n in archive.namelist() if n.startswith("images/")) == sorted(f"images/train/{p.rsplit('/', 1)[1]}" for p in images)


def test_malformed_or_empty_regions_are_left_out_not_fatal() -> None:
    from labelkit.exporters.yolo import line

    def region(shape: str, **geometry: object) -> dict:
        return {"shape": shape, "geometry": geometry, "original_width": W, "original_height": H}

    assert line("YOLO", 0, region("rectangle", x=10, y=10, width=20)) is None  # no height
    assert line("YOLO", 0, region("rectangle", x="a", y=10, width=20, height=5)) is None
    assert line("YOLO", 0, region("rectangle", x=10, y=10, width=0, height=5)) is None  # no size
    assert line("YOLO_SEG", 0, region("polygon", points=[[1, 2], [3, 4]])) is None  # 2 points
    assert line("YOLO_SEG", 0, region("polygon", points=[[1, 2], "x", [3, 4]])) is None
    assert line("YOLO", 0, region("rectangle", x=90, y=-10, width=20, height=20)) == "0 0.950000 0.050000 0.100000 0.100000"  # clipped
