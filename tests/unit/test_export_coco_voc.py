"""COCO read back with pycocotools (COCO(), getAnnIds/loadAnns, annToMask), Pascal VOC
validated against the devkit's layout (tests/pascal_voc.xsd, with lxml) and parsed with
defusedxml as a VOC reader does; the pixel numbers are worked out here by hand
from the annotations, not with the exporters' code."""

from __future__ import annotations

import io
import itertools
import json
import math
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from defusedxml import ElementTree
from lxml import etree
from PIL import Image
from pycocotools.coco import COCO

from labelkit import exporters
from labelkit.cli import main
from labelkit.config import parse_config
from labelkit.db import session_scope
from labelkit.errors import InvalidInput
from labelkit.labeling import queue, review, submissions
from labelkit.models import Project, Role
from labelkit.results import brush
from labelkit.storage import local

VOC_SCHEMA = Path(__file__).resolve().parents[1] / "pascal_voc.xsd"

CONFIG = """<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="box" toName="image"><Label value="Car"/><Label value="Person"/></RectangleLabels>
  <PolygonLabels name="outline" toName="image"><Label value="Person"/><Label value="Tree: oak"/></PolygonLabels>
  <KeyPointLabels name="point" toName="image"><Label value="Nose"/></KeyPointLabels>
  <BrushLabels name="paint" toName="image"><Label value="Sky"/></BrushLabels>
  <Choices name="quality" toName="image"><Choice value="Clear"/><Choice value="Blurry"/></Choices>
</View>"""
W, H = 200, 100  # the images' size in pixels
NAMES = ["Car", "Person", "Tree: oak", "Nose", "Sky"]


def png(color: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (W, H), color).save(out, format="PNG")
    return out.getvalue()


def item(rid: str, control: str, kind: str, value: dict, label: str) -> dict:
    return {"id": rid, "from_name": control, "to_name": "image", "type": kind, "origin": "manual",
            "original_width": W, "original_height": H, "image_rotation": 0, "value": {**value, kind: [label]}}


def rect(rid: str, label: str, x: float, y: float, w: float, h: float, rotation: float = 0) -> dict:
    return item(rid, "box", "rectanglelabels", {"x": x, "y": y, "width": w, "height": h, "rotation": rotation}, label)


def polygon(rid: str, label: str, points: list[list[float]]) -> dict:
    return item(rid, "outline", "polygonlabels", {"points": points, "closed": True}, label)


def quality(value: str) -> dict:
    return {"id": "q1", "from_name": "quality", "to_name": "image", "type": "choices", "origin": "manual",
            "value": {"choices": [value]}}


STRAIGHT = rect("r1", "Car", 10, 20, 30, 40)  # 20..80 x 20..60 px
ROTATED = rect("r2", "Person", 10, 20, 30, 40, rotation=30)
EDGE = rect("r3", "Car", 90, 90, 20, 20)  # 180..220 x 90..110 px: past the image's corner
TREE = polygon("p1", "Tree: oak", [[50, 10], [90, 20], [70, 80]])  # (100,10) (180,20) (140,80) px
NOSE = item("k1", "point", "keypointlabels", {"x": 25, "y": 50, "width": 1}, "Nose")  # 50,50 px
SKY_MASK = np.zeros((H, W), dtype=bool)
SKY_MASK[0:20, 30:170] = True  # rows 0..19, columns 30..169
SKY = item("b1", "paint", "brushlabels", {"format": "rle", "rle": brush.encode(SKY_MASK)}, "Sky")
# The rotated box by hand: 20,20 px top-left, 60 x 40 px, 30 degrees clockwise about the top-left corner.
C, S = math.cos(math.radians(30)), math.sin(math.radians(30))
ROTATED_PX = [(20, 20), (20 + 60 * C, 20 + 60 * S), (20 + 60 * C - 40 * S, 20 + 60 * S + 40 * C), (20 - 40 * S, 20 + 40 * C)]


@pytest.fixture
def street(factory):
    """Tasks: street.png (every shape), empty.png (labeled, no regions), todo.png (not
    labeled); street.png's first annotation is replaced by a later one of another person."""
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

    label(ann, [rect("old", "Person", 0, 0, 50, 50), quality("Clear")])  # street.png, replaced by bob's
    label(ann, [quality("Blurry")])  # empty.png
    label(bob, [STRAIGHT, ROTATED, EDGE, TREE, NOSE, SKY, quality("Clear")])  # street.png, the latest
    return project, admin, [p.rsplit("/", 1)[1] for p in paths]


def export(user, project, fmt: str, with_images: bool = False) -> bytes:
    out = io.BytesIO()
    with session_scope(write=False) as s:
        exporters.export_project(s, user, project.id, fmt, out, with_images=with_images)
    return out.getvalue()


def load_coco(raw: bytes, tmp_path) -> COCO:
    path = tmp_path / "coco.json"
    path.write_bytes(raw)
    return COCO(str(path))


def near(found: list[float], expected: list[float], tolerance: float = 1e-3) -> bool:
    return len(found) == len(expected) and all(abs(a - b) <= tolerance for a, b in zip(found, expected, strict=True))


def test_coco_reads_back_with_pycocotools_in_pixels(street, tmp_path) -> None:
    project, admin, files = street
    coco = load_coco(export(admin, project, "COCO"), tmp_path)
    cats = coco.loadCats(coco.getCatIds())
    assert [(c["id"], c["name"]) for c in cats] == list(enumerate(NAMES, start=1))
    assert coco.loadCats([4])[0]["keypoints"] == ["Nose"]
    images = coco.loadImgs(coco.getImgIds())
    # todo.png is not labeled: left out. empty.png has no regions: its size from the file.
    assert [(i["file_name"], i["width"], i["height"]) for i in images] == [(files[0], W, H), (files[1], W, H)]
    street_id, empty_id = images[0]["id"], images[1]["id"]
    assert coco.getAnnIds(imgIds=[empty_id]) == []
    anns = coco.loadAnns(coco.getAnnIds(imgIds=[street_id]))
    assert [a["category_id"] for a in anns] == [1, 2, 1, 3, 4, 5]  # bob's regions, not ann's
    assert all(a["iscrowd"] == 0 and a["image_id"] == street_id for a in anns)
    straight, rotated, edge, tree, nose, sky = anns

    assert near(straight["bbox"], [20, 20, 60, 40]) and near([straight["area"]], [2400])
    assert straight["segmentation"] == [] and "attributes" not in straight
    xs, ys = [p[0] for p in ROTATED_PX], [p[1] for p in ROTATED_PX]
    assert near(rotated["bbox"], [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)])
    assert rotated["attributes"] == {"rotation": 30} and near([rotated["area"]], [2400])
    assert near(rotated["segmentation"][0], [v for p in ROTATED_PX for v in p])
    assert near(edge["bbox"], [180, 90, 40, 20])  # as drawn

    assert tree["segmentation"] == [[100, 10, 180, 20, 140, 80]]
    assert near(tree["bbox"], [100, 10, 80, 70])
    # Shoelace by hand: |100 (20 - 80) + 180 (80 - 10) + 140 (10 - 20)| / 2
    assert near([tree["area"]], [2600])
    mask = coco.annToMask(tree)
    assert mask.shape == (H, W) and mask[40, 140] == 1 and mask[5, 5] == 0 and mask[15, 175] == 0
    assert abs(int(mask.sum()) - 2600) < 150  # pixels rasterized along the edges

    assert nose["keypoints"] == [50, 50, 2] and nose["num_keypoints"] == 1

    assert np.array_equal(coco.annToMask(sky).astype(bool), SKY_MASK)
    assert sky["bbox"] == [30, 0, 140, 20] and sky["area"] == 140 * 20
    assert [a["id"] for a in coco.loadAnns(coco.getAnnIds(catIds=[1]))] == [straight["id"], edge["id"]]


def voc_objects(root) -> list[tuple[str, int, list[int]]]:
    found = []
    for obj in root.findall("object"):
        assert obj.findtext("pose") == "Unspecified" and obj.findtext("difficult") == "0"
        box = obj.find("bndbox")
        found.append((obj.findtext("name"), int(obj.findtext("truncated")),
                      [int(box.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax")]))
    return found


def test_voc_zip_of_xml_boxes_in_integer_pixels(street) -> None:
    project, admin, files = street
    archive = zipfile.ZipFile(io.BytesIO(export(admin, project, "VOC", with_images=True)))
    stems = [f.rsplit(".", 1)[0] for f in files[:2]]  # todo.png is not labeled: left out
    names = archive.namelist()
    assert sorted(n for n in names if n.startswith("Annotations/")) == sorted(f"Annotations/{s}.xml" for s in stems)
    assert archive.read("ImageSets/Main/default.txt").decode().splitlines() == stems
    assert sorted(n for n in names if n.startswith("JPEGImages/")) == sorted(f"JPEGImages/{f}" for f in files[:2])
    assert Image.open(io.BytesIO(archive.read(f"JPEGImages/{files[0]}"))).size == (W, H)
    labels = archive.read("labelmap.txt").decode().splitlines()
    assert labels[1:] == ["Car:::", "Person:::", "Tree_ oak:::"]  # keypoints and masks have no box here

    schema = etree.XMLSchema(etree.parse(str(VOC_SCHEMA)))
    for stem, file in zip(stems, files, strict=False):
        raw = archive.read(f"Annotations/{stem}.xml")
        document = etree.fromstring(raw, etree.XMLParser(resolve_entities=False, no_network=True))
        assert schema.validate(document), schema.error_log
        for bndbox in document.iter("bndbox"):  # what a schema cannot say: corners in order, inside the image
            xmin, ymin, xmax, ymax = (int(bndbox.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax"))
            assert 0 <= xmin < xmax <= W and 0 <= ymin < ymax <= H
        root = ElementTree.fromstring(raw)
        assert root.tag == "annotation"
        assert root.findtext("folder") == "JPEGImages" and root.findtext("filename") == file
        size = root.find("size")
        assert (size.findtext("width"), size.findtext("height"), size.findtext("depth")) == (str(W), str(H), "3")

    street_root = ElementTree.fromstring(archive.read(f"Annotations/{stems[0]}.xml"))
    xs, ys = [p[0] for p in ROTATED_PX], [p[1] for p in ROTATED_PX]
    assert voc_objects(street_root) == [
        ("Car", 0, [20, 20, 80, 60]),
        ("Person", 0, [round(min(xs)), round(min(ys)), round(max(xs)), round(max(ys))]),
        ("Car", 1, [180, 90, 200, 100]),  # clipped to the image, so truncated
        ("Tree: oak", 0, [100, 10, 180, 80]),  # the polygon's box
    ]
    assert voc_objects(ElementTree.fromstring(archive.read(f"Annotations/{stems[1]}.xml"))) == []


MANY = """<View>
  <Image name="pages" valueList="$pages"/>
  <RectangleLabels name="box" toName="pages"><Label value="Stamp"/></RectangleLabels>
</View>"""


def test_several_images_of_a_task_are_an_image_each(factory, tmp_path) -> None:
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin, config=MANY)
    factory.tasks(project, admin, [{"pages": ["https://example.com/scan/p1.jpg", "https://example.com/scan/p2.jpg",
                                              "/data/local-files/?d=scans/p3.jpg"]}])
    box = {"from_name": "box", "to_name": "pages", "type": "rectanglelabels", "origin": "manual",
           "original_width": 1000, "original_height": 500, "image_rotation": 0}
    result = [{**box, "id": "a", "item_index": 0, "value": {"x": 10, "y": 10, "width": 10, "height": 10, "rotation": 0, "rectanglelabels": ["Stamp"]}},
              {**box, "id": "b", "item_index": 1, "value": {"x": 50, "y": 50, "width": 20, "height": 20, "rotation": 0, "rectanglelabels": ["Stamp"]}}]
    with session_scope() as s:
        task = queue.claim_next(s, admin, project.id).task
    with session_scope() as s:
        submissions.submit(s, admin, task.id, result)
    coco = load_coco(export(admin, project, "COCO"), tmp_path)
    first, second, third = coco.loadImgs(coco.getImgIds())
    assert (first["file_name"], second["file_name"], third["file_name"]) == ("p1.jpg", "p2.jpg", "p3.jpg")
    assert (third["width"], third["height"]) == (0, 0)  # no region tells its size, and it is not uploaded here
    assert [a["bbox"] for a in coco.loadAnns(coco.getAnnIds(imgIds=[first["id"]]))] == [[100, 50, 100, 50]]
    assert [a["bbox"] for a in coco.loadAnns(coco.getAnnIds(imgIds=[second["id"]]))] == [[500, 250, 200, 100]]
    archive = zipfile.ZipFile(io.BytesIO(export(admin, project, "VOC")))
    assert archive.read("ImageSets/Main/default.txt").decode().splitlines() == ["p1", "p2", "p3"]
    second_root = ElementTree.fromstring(archive.read("Annotations/p2.xml"))
    assert voc_objects(second_root) == [("Stamp", 0, [500, 250, 700, 350])]
    assert not [n for n in archive.namelist() if n.startswith("JPEGImages/")]  # images only when asked for


def test_a_text_project_is_refused_with_the_reason(factory) -> None:
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin)  # sentiment of a text
    cases = (("COCO", "COCO cannot export this project: COCO needs boxes, polygons, ellipses, keypoints or brush masks on an <Image>"),
             ("VOC", "Pascal VOC cannot export this project: Pascal VOC needs boxes, polygons or ellipses on an <Image>"))
    for fmt, reason in cases:
        with session_scope(write=False) as s, pytest.raises(InvalidInput, match=reason):
            exporters.export_project(s, admin, project.id, fmt, io.BytesIO())
    points_only = CONFIG.split("<RectangleLabels")[0] + CONFIG.split("</PolygonLabels>")[1]
    assert exporters.FORMATS["COCO"].supports(parse_config(points_only)) is None
    assert exporters.FORMATS["VOC"].supports(parse_config(points_only)) == (
        "Pascal VOC needs boxes, polygons or ellipses on an <Image>; this project has none.")


def test_the_cli_writes_the_same_files(street, tmp_path) -> None:
    project, admin, _ = street
    for fmt in ("coco", "voc"):
        out = tmp_path / f"street.{fmt}"
        result = CliRunner().invoke(main, ["export", "Street", "--format", fmt, "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert out.read_bytes() == export(admin, project, fmt.upper())
    json.loads((tmp_path / "street.coco").read_text())  # one JSON document


ELLIPSES = """<View>
  <Image name="photo" value="$photo"/>
  <EllipseLabels name="ring" toName="photo"><Label value="Cell"/></EllipseLabels>
</View>"""


def ellipse(rid: str, rotation: float) -> dict:
    # Center 100,50 px, radii 40 px (20 % of 200) and 30 px (30 % of 100).
    return {"id": rid, "from_name": "ring", "to_name": "photo", "type": "ellipselabels", "origin": "manual",
            "original_width": W, "original_height": H, "image_rotation": 0,
            "value": {"x": 50, "y": 50, "radiusX": 20, "radiusY": 30, "rotation": rotation, "ellipselabels": ["Cell"]}}


def test_ellipses_as_outlines_in_coco_and_boxes_in_voc(factory, tmp_path) -> None:
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin, config=ELLIPSES)
    factory.tasks(project, admin, [{"photo": local.save_upload(project.id, "cells.png", png("blue"))}])
    with session_scope() as s:
        task = queue.claim_next(s, admin, project.id).task
    with session_scope() as s:
        submissions.submit(s, admin, task.id, [ellipse("e1", 0), ellipse("e2", 90)])
    coco = load_coco(export(admin, project, "COCO"), tmp_path)
    upright, turned = coco.loadAnns(coco.getAnnIds())
    assert near(upright["bbox"], [60, 20, 80, 60]) and near(turned["bbox"], [70, 10, 60, 80])  # a quarter turn
    assert near([upright["area"]], [math.pi * 40 * 30])
    points = upright["segmentation"][0]
    assert len(points) == 72  # 36 points, each on the ellipse
    for x, y in zip(points[::2], points[1::2], strict=True):
        assert abs(((x - 100) / 40) ** 2 + ((y - 50) / 30) ** 2 - 1) < 1e-3
    assert abs(int(coco.annToMask(upright).sum()) - math.pi * 40 * 30) < 150
    archive = zipfile.ZipFile(io.BytesIO(export(admin, project, "VOC")))
    (xml,) = [n for n in archive.namelist() if n.startswith("Annotations/")]
    assert voc_objects(ElementTree.fromstring(archive.read(xml))) == [("Cell", 0, [60, 20, 140, 80]), ("Cell", 0, [70, 10, 130, 90])]


def test_malformed_or_empty_regions_are_left_out_not_fatal() -> None:
    from labelkit.exporters.coco import LabeledImage, coco_fields
    from labelkit.exporters.voc import box

    image = LabeledImage(1, "a.png", "https://example.com/a.png", W, H, [])
    bad = [
        {"shape": "rectangle", "geometry": {"x": 10, "y": 10}},  # no size
        {"shape": "rectangle", "geometry": {"x": "ten", "y": 10, "width": 5, "height": 5}},
        {"shape": "rectangle", "geometry": {"x": 10, "y": 10, "width": 0, "height": 5}},
        {"shape": "polygon", "geometry": {"points": [[1, 1], [2, 2]]}},  # under 3 points
        {"shape": "polygon", "geometry": {"points": [[1, None], [2, 2], [3, 1]]}},
        {"shape": "ellipse", "geometry": {"x": 10, "y": 10, "radiusX": float("nan"), "radiusY": 3}},
        {"shape": "brush", "geometry": {"format": "rle", "rle": brush.encode(np.ones((2, 2)))}},  # not this image's size
    ]
    assert [coco_fields(region, image) for region in bad] == [None] * len(bad)
    assert [box(region, image) for region in bad[:2]] == [None, None]
    unsized = LabeledImage(1, "a.png", "https://example.com/a.png", 0, 0, [])
    assert coco_fields({"shape": "rectangle", "geometry": STRAIGHT["value"]}, unsized) is None


def test_images_and_xml_are_written_task_by_task() -> None:
    """Structural streaming: when the writer asks for the next task, the last one's image
    record (COCO) or XML file (VOC) is already in the output."""
    from labelkit.exporters.base import ExportContext, ExportedAnnotation, ExportedTask

    for fmt in ("COCO", "VOC"):
        out = io.BytesIO()
        sizes = []

        def tasks(out=out, sizes=sizes):
            for i in range(1, 101):
                sizes.append(out.tell())
                annotation = ExportedAnnotation(i, 1, "a@example.com", "submitted", None, None, None, 0.0, json.dumps([STRAIGHT]))
                yield ExportedTask(i, json.dumps({"image": f"https://example.com/{i}.jpg"}), None, 1, [annotation])

        ctx = ExportContext(project=Project(title="Street"), config=parse_config(CONFIG), tasks=tasks, data_keys=lambda: ["image"])
        exporters.FORMATS[fmt].write(ctx, out)
        assert all(a < b for a, b in itertools.pairwise(sizes[1:])), fmt  # the output grew before every next task
        raw = out.getvalue()
        if fmt == "COCO":
            data = json.loads(raw)
            assert len(data["images"]) == len(data["annotations"]) == 100
            assert data["annotations"][-1]["bbox"] == [20, 20, 60, 40]
        else:
            archive = zipfile.ZipFile(io.BytesIO(raw))
            assert len([n for n in archive.namelist() if n.startswith("Annotations/")]) == 100
            assert voc_objects(ElementTree.fromstring(archive.read("Annotations/100.xml"))) == [("Car", 0, [20, 20, 80, 60])]


def test_bare_tools_take_their_class_from_labels_on_the_image() -> None:
    from labelkit.exporters.base import ExportContext, ExportedAnnotation, ExportedTask

    config = parse_config("""<View>
      <Image name="image" value="$image"/>
      <Labels name="kind" toName="image"><Label value="Dog"/><Label value="Cat"/></Labels>
      <Rectangle name="box" toName="image"/>
    </View>""")
    result = [{"id": "r1", "from_name": "box", "to_name": "image", "type": "rectangle", "original_width": W,
               "original_height": H, "value": {"x": 10, "y": 20, "width": 30, "height": 40, "rotation": 0}},
              {"id": "r1", "from_name": "kind", "to_name": "image", "type": "labels", "original_width": W,
               "original_height": H, "value": {"x": 10, "y": 20, "width": 30, "height": 40, "rotation": 0, "labels": ["Cat"]}}]
    annotation = ExportedAnnotation(1, 1, "a@example.com", "submitted", None, None, None, 0.0, json.dumps(result))

    def tasks():
        yield ExportedTask(1, json.dumps({"image": "https://example.com/pets/tom.jpg"}), None, 1, [annotation])

    ctx = ExportContext(project=Project(title="Pets"), config=config, tasks=tasks, data_keys=lambda: ["image"])
    out = io.BytesIO()
    exporters.FORMATS["COCO"].write(ctx, out)
    data = json.loads(out.getvalue())
    assert [c["name"] for c in data["categories"]] == ["Dog", "Cat"]
    assert [(a["category_id"], a["bbox"]) for a in data["annotations"]] == [(2, [20, 20, 60, 40])]
    out = io.BytesIO()
    exporters.FORMATS["VOC"].write(ctx, out)
    root = ElementTree.fromstring(zipfile.ZipFile(out).read("Annotations/tom.xml"))
    assert voc_objects(root) == [("Cat", 0, [20, 20, 80, 60])]


def test_one_persons_work_exports_their_own_boxes(street, tmp_path) -> None:
    project, admin, files = street
    out = io.BytesIO()
    with session_scope(write=False) as s:
        exporters.export_project(s, admin, project.id, "COCO", out, annotator="ann@example.com")
    coco = load_coco(out.getvalue(), tmp_path)
    images = coco.loadImgs(coco.getImgIds())
    assert [i["file_name"] for i in images] == files[:2]
    assert [(a["category_id"], a["bbox"]) for a in coco.loadAnns(coco.getAnnIds(imgIds=[images[0]["id"]]))] == [(2, [0, 0, 100, 50])]


def test_an_accepted_annotation_is_exported_rather_than_a_later_one(street, factory, tmp_path) -> None:
    project, admin, _ = street
    reviewer = factory.user(email="rev@example.com")
    factory.member(project, reviewer, Role.REVIEWER)
    with session_scope() as s:
        waiting = review.review_queue(s, reviewer, project.id)
        older = next(w for w in waiting if w["annotator"] == "ann@example.com" and any(r["id"] == "old" for r in w["result"]))
        review.accept(s, reviewer, older["annotation_id"])
    coco = load_coco(export(admin, project, "COCO"), tmp_path)
    street_id = coco.getImgIds()[0]
    assert [(a["category_id"], a["bbox"]) for a in coco.loadAnns(coco.getAnnIds(imgIds=[street_id]))] == [(2, [0, 0, 100, 50])]
    archive = zipfile.ZipFile(io.BytesIO(export(admin, project, "VOC")))
    first = archive.read("ImageSets/Main/default.txt").decode().splitlines()[0]
    assert voc_objects(ElementTree.fromstring(archive.read(f"Annotations/{first}.xml"))) == [("Person", 0, [0, 0, 100, 50])]
