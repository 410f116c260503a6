"""Image labeling in a real browser: draw a box and a polygon on the canvas, answer a
per-region question, submit, and find Label Studio's result shapes in the database."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from labelkit.auth.accounts import find_user
from labelkit.models import Annotation, Role, Task
from labelkit.projects.crud import remove_member
from labelkit.storage.local import SAMPLES_DIR
from tests.e2e.servers import ADMIN_EMAIL, Server
from tests.e2e.steps import click, fresh, press, reload, rerun, see, settled, sign_in

pytestmark = pytest.mark.e2e

CONFIG = """<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="label" toName="image">
    <Label value="Car" background="#e6194b"/>
    <Label value="Person" background="#3cb44b"/>
  </RectangleLabels>
  <PolygonLabels name="outline" toName="image">
    <Label value="Road" background="#4363d8"/>
  </PolygonLabels>
  <Choices name="color" toName="image" perRegion="true" required="true" whenLabelValue="Car">
    <Choice value="Red"/>
    <Choice value="Blue"/>
  </Choices>
</View>"""
IMAGE = "/data/upload/samples/shape-1.png"  # 320 x 240 pixels, installed with the server


def canvas_box(page: Page) -> dict:
    canvas = fresh(page.locator(".canvas-root canvas")).last
    canvas.wait_for()
    box = canvas.bounding_box()
    assert box and box["width"] > 100, box
    return box


def drag(page: Page, box: dict, start: tuple[float, float], end: tuple[float, float]) -> None:
    page.mouse.move(box["x"] + start[0] * box["width"], box["y"] + start[1] * box["height"])
    page.mouse.down()
    page.mouse.move(box["x"] + end[0] * box["width"], box["y"] + end[1] * box["height"], steps=8)
    page.mouse.up()


def test_draw_a_box_and_a_polygon_then_submit(server: Server, new_page, tmp_path: Path) -> None:
    project_id = server.project("Street scenes", CONFIG, [{"image": IMAGE}])

    page = new_page()
    sign_in(page, server, path=f"/label?project={project_id}")
    see(page, "Label for new regions")
    settled(page)
    box = canvas_box(page)
    # The canvas keeps the image's shape (4:3).
    assert abs(box["width"] * 3 / 4 - box["height"]) < 2

    # A box from 10%,20% to 50%,60% with the label picked before drawing ("Car" is first).
    with rerun(page):
        drag(page, box, (0.10, 0.20), (0.50, 0.60))
    see(page, "1. Car · rectangle")
    click(page, page.get_by_text("Red", exact=True))

    # A polygon: switch the tool, click three corners and the first again to close it.
    box = use_tool(page, "Polygon", "click the corners")
    with rerun(page):  # the canvas sends the polygon when it closes
        for x, y in [(0.60, 0.60), (0.90, 0.62), (0.80, 0.90), (0.60, 0.60)]:
            page.mouse.click(box["x"] + x * box["width"], box["y"] + y * box["height"])
    see(page, "2. Road · polygon")
    page.screenshot(path=str(tmp_path / "drawn.png"))

    click(page, "Submit")
    see(page, "You're all done here")

    with server.db() as db:
        task = db.exec(select(Task).where(Task.project_id == project_id)).one()
        annotation = db.exec(select(Annotation).where(Annotation.task_id == task.id)).one()
    items = {item["from_name"]: item for item in annotation.result}
    rect, color, poly = items["label"], items["color"], items["outline"]
    assert rect["type"] == "rectanglelabels" and rect["to_name"] == "image"
    assert (rect["original_width"], rect["original_height"]) == (320, 240)
    value = rect["value"]
    assert value["rectanglelabels"] == ["Car"] and value["rotation"] == 0
    assert value["x"] == pytest.approx(10, abs=1.5) and value["y"] == pytest.approx(20, abs=1.5)
    assert value["width"] == pytest.approx(40, abs=1.5) and value["height"] == pytest.approx(40, abs=1.5)
    assert color["id"] == rect["id"] and color["type"] == "choices" and color["value"]["choices"] == ["Red"]
    assert color["value"]["x"] == value["x"]  # per-region answers carry the region's geometry
    assert poly["type"] == "polygonlabels" and poly["value"]["polygonlabels"] == ["Road"]
    points = poly["value"]["points"]
    assert len(points) == 3
    assert points[0] == pytest.approx([60, 60], abs=1.5) and points[1] == pytest.approx([90, 62], abs=1.5)
    assert poly["id"] != rect["id"]


SHAPES = """<View>
  <Image name="image" value="$image"/>
  <KeyPointLabels name="point" toName="image"><Label value="Eye" background="#f58231"/></KeyPointLabels>
  <EllipseLabels name="oval" toName="image"><Label value="Face" background="#911eb4"/></EllipseLabels>
  <BrushLabels name="mask" toName="image"><Label value="Hair" background="#42d4f4"/></BrushLabels>
  <Relations><Relation value="part of"/></Relations>
</View>"""


def use_tool(page: Page, name: str, hint: str) -> dict:
    """Switch the drawing tool; the canvas takes it when the run's result is drawn (click waits for that)."""
    click(page, page.get_by_text(name, exact=True))
    see(page, hint)
    return canvas_box(page)


def test_points_ellipses_brush_masks_and_relations(server: Server, new_page) -> None:
    from labelkit.results import brush

    project_id = server.project("Faces", SHAPES, [{"image": IMAGE}])

    page = new_page()
    sign_in(page, server, path=f"/label?project={project_id}")
    see(page, "Label for new regions")
    box = use_tool(page, "Point", "click to place a point")
    with rerun(page):
        page.mouse.click(box["x"] + 0.25 * box["width"], box["y"] + 0.25 * box["height"])
    see(page, "1. Eye · keypoint")
    box = use_tool(page, "Ellipse", "drag to draw an ellipse")
    with rerun(page):
        drag(page, box, (0.50, 0.50), (0.70, 0.70))
    see(page, "2. Face · ellipse")
    box = use_tool(page, "Brush", "paint with the mouse")
    with rerun(page):
        drag(page, box, (0.10, 0.80), (0.40, 0.80))
    see(page, "3. Hair · brush")

    click(page, page.get_by_text("Relations (0)"), run="none")  # an expander
    click(page, "Relate")  # from region 1 to region 2, "part of"
    see(page, "1. Eye · keypoint → 2. Face · ellipse · part of")
    click(page, "Submit")
    see(page, "You're all done here")

    with server.db() as db:
        task = db.exec(select(Task).where(Task.project_id == project_id)).one()
        annotation = db.exec(select(Annotation).where(Annotation.task_id == task.id)).one()
    items = {item.get("from_name", item["type"]): item for item in annotation.result}
    point, oval, mask, relation = items["point"], items["oval"], items["mask"], items["relation"]
    assert point["type"] == "keypointlabels" and point["value"]["keypointlabels"] == ["Eye"]
    assert point["value"]["x"] == pytest.approx(25, abs=1.5) and point["value"]["y"] == pytest.approx(25, abs=1.5)
    assert oval["type"] == "ellipselabels" and oval["value"]["ellipselabels"] == ["Face"]
    # The ellipse tool draws a circle across the drag: centre half-way, radius half the drag's length.
    assert oval["value"]["x"] == pytest.approx(60, abs=4) and oval["value"]["y"] == pytest.approx(60, abs=5)
    assert oval["value"]["radiusX"] > 5
    assert mask["type"] == "brushlabels" and mask["value"]["format"] == "rle" and mask["value"]["brushlabels"] == ["Hair"]
    painted = brush.decode(mask["value"]["rle"], 320, 240)
    assert painted[192, 80] and painted[192, 110] and not painted[60, 160]  # along the stroke at 80% height, not elsewhere
    assert relation == {"from_id": point["id"], "to_id": oval["id"], "type": "relation", "direction": "right",
                        "labels": ["part of"]}


KEYED = """<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="label" toName="image">
    <Label value="Car" hotkey="1"/>
    <Label value="Person" hotkey="2"/>
  </RectangleLabels>
  <BrushLabels name="mask" toName="image"><Label value="Hair"/></BrushLabels>
</View>"""


def test_regions_survive_a_refresh_and_a_cleared_canvas(server: Server, new_page) -> None:
    from labelkit.models import AnnotationState

    project_id = server.project("Keyed", KEYED, [{"image": IMAGE}])

    page = new_page()
    sign_in(page, server, path=f"/label?project={project_id}")
    see(page, "Label for new regions")
    press(page, "2")  # the hotkey of "Person"
    fresh(page.locator('button[kind="primary"]').filter(has_text="Person")).wait_for()
    with rerun(page):
        drag(page, canvas_box(page), (0.20, 0.20), (0.40, 0.50))
    see(page, "1. Person · rectangle")
    box = use_tool(page, "Brush", "paint with the mouse")
    with rerun(page):  # the run that shows the region saves the draft
        drag(page, box, (0.10, 0.80), (0.50, 0.85))
    see(page, "2. Hair · brush")

    with server.db() as db:
        draft = db.exec(select(Annotation).join(Task).where(Task.project_id == project_id)).one()
        assert draft.state == AnnotationState.DRAFT
        drafted = {item["from_name"]: item for item in draft.result}
    assert drafted["label"]["value"]["rectanglelabels"] == ["Person"]

    reload(page)  # the draft comes back, the mask drawn from its RLE
    see(page, "2. Hair · brush")
    see(page, "1. Person · rectangle")

    # The canvas's bin takes it back to how it was loaded: the box drawn since goes, and can be restored.
    with rerun(page):
        drag(page, canvas_box(page), (0.60, 0.10), (0.90, 0.30))
    see(page, "3. Car · rectangle")
    click(page, page.get_by_role("button", name="Reset canvas & history"))  # the canvas's own button: it sends the drawing
    see(page, "Restore the region just deleted")
    assert fresh(page.get_by_text("3. Car · rectangle")).count() == 0
    click(page, "Restore the region just deleted")
    see(page, "3. Car · rectangle")

    click(page, "Submit")
    see(page, "You're all done here")
    with server.db() as db:
        annotation = db.exec(select(Annotation).join(Task).where(Task.project_id == project_id)).one()
    items = {item["from_name"]: item for item in annotation.result}
    assert annotation.state == AnnotationState.SUBMITTED
    assert items["mask"]["value"]["rle"] == drafted["mask"]["value"]["rle"]
    boxes = [item for item in annotation.result if item["from_name"] == "label"]
    assert [b["value"]["rectanglelabels"] for b in boxes] == [["Person"], ["Car"]]
    assert boxes[0]["value"] == drafted["label"]["value"] and boxes[0]["id"] == drafted["label"]["id"]


ROTATABLE = """<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="label" toName="image" canRotate="true"><Label value="Car"/></RectangleLabels>
</View>"""


def test_rotate_a_box_with_the_canvas_handle(server: Server, new_page) -> None:
    project_id = server.project("Rotated", ROTATABLE, [{"image": IMAGE}])

    page = new_page()
    sign_in(page, server, path=f"/label?project={project_id}")
    see(page, "Label for new regions")
    settled(page)
    box = canvas_box(page)
    with rerun(page):
        drag(page, box, (0.30, 0.40), (0.70, 0.60))
    see(page, "1. Car · rectangle")
    edit = fresh(page.get_by_role("button", name="Edit"))
    click(page, edit, run="none")  # the canvas's edit mode (its own): select, move, resize, rotate
    expect(edit).to_have_attribute("aria-pressed", "true")
    centre = (box["x"] + 0.5 * box["width"], box["y"] + 0.5 * box["height"])
    page.mouse.click(*centre)  # select the box: the canvas offers to delete the selection
    expect(fresh(page.get_by_role("button", name="Delete selected"))).to_be_enabled()
    top = box["y"] + 0.40 * box["height"]
    handle = (centre[0], top - 40)  # Fabric's rotation handle sits 40 px above the top edge
    with rerun(page):  # the canvas sends the turned box
        page.mouse.move(*handle)
        page.mouse.down()
        # a quarter turn clockwise: from straight above the centre to straight right of it
        page.mouse.move(centre[0] + 120, centre[1], steps=12)
        page.mouse.up()
    click(page, "Submit")
    see(page, "You're all done here")
    with server.db() as db:
        annotation = db.exec(select(Annotation).join(Task).where(Task.project_id == project_id)).one()
    value = annotation.result[0]["value"]
    assert value["rotation"] == pytest.approx(90, abs=3)
    # Size is kept; Label Studio's x/y is the top-left corner before rotation, turned about it:
    # a quarter turn about the centre puts that corner at the top right of the drawn box.
    assert value["width"] == pytest.approx(40, abs=1.5) and value["height"] == pytest.approx(20, abs=1.5)
    # In pixels of the 320 x 240 image: the box is 128 x 48 about (160, 120); its top-left
    # corner (-64, -24) from the centre, turned a quarter clockwise, is (+24, -64).
    assert value["x"] == pytest.approx((160 + 24) / 320 * 100, abs=2)
    assert value["y"] == pytest.approx((120 - 64) / 240 * 100, abs=2)


CLASSIFY = """<View>
  <Image name="image" value="$image"/>
  <Choices name="shape" toName="image"><Choice value="Square"/><Choice value="Circle"/></Choices>
</View>"""


def test_a_removed_member_loses_the_task_images_at_once(server: Server, new_page) -> None:
    """The label page shows a project's upload through a link bound to the person and checked
    on every request (not Streamlit's media store, whose URLs outlive a removal)."""
    project_id = server.project("Removal", CLASSIFY)
    folder = server.workdir / "data" / "media" / "upload" / str(project_id)
    folder.mkdir(parents=True)
    shutil.copyfile(SAMPLES_DIR / "shape-1.png", folder / "shape.png")
    with server.api() as api:
        assert api.post(f"/projects/{project_id}/import", json=[{"image": f"/data/upload/{project_id}/shape.png"}]).is_success
    ann = server.person("Ann", projects={project_id: Role.ANNOTATOR})

    page = new_page()
    sign_in(page, server, ann.email, ann.password, path=f"/label?project={project_id}")
    image = fresh(page.locator('[data-testid="stImage"] img')).first
    image.wait_for()
    source = image.get_attribute("src") or ""
    assert f"/data/upload/{project_id}/shape.png?u=" in source, source
    assert httpx.get(source, timeout=10).status_code == 200  # the link alone, as the browser loads it

    with server.services() as db:
        remove_member(db, find_user(db, ADMIN_EMAIL), project_id, find_user(db, ann.email).id)
    assert httpx.get(source, timeout=10).status_code in (403, 404)
