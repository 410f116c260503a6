"""Image regions: Label Studio's result shapes, brush RLE, and the canvas round trip."""

from __future__ import annotations

import math

import numpy as np
import pytest

from labelkit.config import parse_config
from labelkit.errors import InvalidInput
from labelkit.results import brush, regions
from labelkit.results.items import REGIONS, RELATIONS, build_result, flat_value, missing_required, values_of
from labelkit.ui import canvas_shapes as cs

CONFIG = """<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="label" toName="image" canRotate="true">
    <Label value="Car" background="#ff0000"/>
    <Label value="Person"/>
  </RectangleLabels>
  <PolygonLabels name="outline" toName="image">
    <Label value="Road"/>
  </PolygonLabels>
  <Choices name="color" toName="image" perRegion="true" required="true" whenLabelValue="Car">
    <Choice value="Red"/>
    <Choice value="Blue"/>
  </Choices>
  <TextArea name="plate" toName="image" perRegion="true"/>
  <Relations>
    <Relation value="drives on"/>
  </Relations>
</View>"""


def _box(**attributes) -> dict:
    return {
        "id": "r1", "to_name": "image", "item_index": None, "shape": "rectangle", "tool": "label",
        "geometry": {"x": 10.0, "y": 20.0, "width": 30.0, "height": 15.0, "rotation": 0.0},
        "labels": {"label": ["Car"]}, "attributes": attributes, "origin": "manual",
        "original_width": 640, "original_height": 480,
    }


def _road() -> dict:
    return {
        "id": "r2", "to_name": "image", "item_index": None, "shape": "polygon", "tool": "outline",
        "geometry": {"points": [[0.0, 80.0], [100.0, 80.0], [100.0, 100.0], [0.0, 100.0]], "closed": True},
        "labels": {"outline": ["Road"]}, "attributes": {}, "origin": "manual",
        "original_width": 640, "original_height": 480,
    }


def test_a_labeled_box_is_stored_as_label_studio_stores_it() -> None:
    config = parse_config(CONFIG)
    result = build_result(config, {REGIONS: [_box(color=["Red"], plate="AB 123")]})
    by_name = {item["from_name"]: item for item in result}
    box = by_name["label"]
    assert box == {
        "id": "r1", "from_name": "label", "to_name": "image", "type": "rectanglelabels",
        "value": {"x": 10.0, "y": 20.0, "width": 30.0, "height": 15.0, "rotation": 0.0, "rectanglelabels": ["Car"]},
        "original_width": 640, "original_height": 480, "image_rotation": 0, "origin": "manual",
    }
    # Per-region answers share the region's id and carry its geometry, as in Label Studio.
    assert by_name["color"]["id"] == "r1"
    assert by_name["color"]["type"] == "choices"
    assert by_name["color"]["value"] == {"x": 10.0, "y": 20.0, "width": 30.0, "height": 15.0, "rotation": 0.0,
                                         "choices": ["Red"]}
    assert by_name["plate"]["value"]["text"] == ["AB 123"]
    assert flat_value(box) == "Car"


def test_regions_and_relations_read_back_from_a_result() -> None:
    config = parse_config(CONFIG)
    values = {REGIONS: [_box(color=["Blue"]), _road()], RELATIONS: [{"from_id": "r1", "to_id": "r2", "labels": ["drives on"]}]}
    result = build_result(config, values)
    relation = next(item for item in result if item["type"] == "relation")
    assert relation == {"from_id": "r1", "to_id": "r2", "type": "relation", "direction": "right", "labels": ["drives on"]}
    back = values_of(result)
    assert [r["id"] for r in back[REGIONS]] == ["r1", "r2"]
    assert back[REGIONS][0]["labels"] == {"label": ["Car"]}
    assert back[REGIONS][0]["attributes"] == {"color": ["Blue"]}
    assert back[REGIONS][1]["geometry"]["points"][1] == [100.0, 80.0]
    assert back[RELATIONS] == [{"from_id": "r1", "to_id": "r2", "labels": ["drives on"], "direction": "right"}]
    # and the same result again
    assert build_result(config, back) == result


def test_a_relation_to_a_deleted_region_is_dropped() -> None:
    config = parse_config(CONFIG)
    result = build_result(config, {REGIONS: [_box(color=["Red"])], RELATIONS: [{"from_id": "r1", "to_id": "gone"}]})
    assert [item["type"] for item in result if item["type"] == "relation"] == []


def test_required_per_region_answers_are_asked_only_where_they_apply() -> None:
    config = parse_config(CONFIG)
    unanswered = build_result(config, {REGIONS: [_box(), _road()]})
    assert missing_required(config, unanswered) == ["color (region 1)"]  # the road is no Car
    answered = build_result(config, {REGIONS: [_box(color=["Red"]), _road()]})
    assert missing_required(config, answered) == []


def test_label_studio_result_with_rectangle_plus_labels_is_one_region() -> None:
    result = [
        {"id": "a", "from_name": "box", "to_name": "img", "type": "rectangle",
         "value": {"x": 1, "y": 2, "width": 3, "height": 4, "rotation": 0}},
        {"id": "a", "from_name": "kind", "to_name": "img", "type": "labels",
         "value": {"x": 1, "y": 2, "width": 3, "height": 4, "rotation": 0, "labels": ["Cat"]}},
    ]
    [region] = regions.regions_of(result)
    assert region["tool"] == "box"
    assert region["labels"] == {"kind": ["Cat"]}
    config = parse_config("""<View><Image name="img" value="$image"/><Rectangle name="box" toName="img"/>
      <Labels name="kind" toName="img"><Label value="Cat"/></Labels></View>""")
    assert build_result(config, {REGIONS: [region]}) == [{**item, "original_width": None, "original_height": None,
                                                          "image_rotation": 0, "origin": "manual"} for item in result]


# Brush masks


def test_brush_rle_round_trips_and_has_label_studios_header() -> None:
    mask = np.zeros((48, 64), dtype=bool)
    mask[10:20, 5:40] = True
    mask[30, :] = True
    rle = brush.encode(mask)
    assert all(0 <= b <= 255 for b in rle)
    assert int.from_bytes(bytes(rle[:4]), "big") == 48 * 64 * 4  # the count of RGBA values
    assert (brush.decode(rle, 64, 48) == mask).all()


def test_brush_rle_decodes_literal_chunks_too() -> None:
    # A stream of "literal" chunks (no repeat flag), which Label Studio's encoder writes for noisy masks.
    values = [0, 255, 0, 255]
    bits = format(4, "032b") + format(7, "05b") + "".join(format(s - 1, "04b") for s in (3, 4, 8, 16))
    bits += "0" + "00" + format(3, "03b") + "".join(format(v, "08b") for v in values)
    bits += "0" * (-len(bits) % 8)
    data = list(int(bits, 2).to_bytes(len(bits) // 8, "big"))
    assert brush.decode_values(data).tolist() == values


@pytest.mark.parametrize("bad", [[1, 2], ["x"], [0, 0, 0, 9, 7]])
def test_a_broken_rle_is_refused(bad: list) -> None:
    with pytest.raises(InvalidInput):
        brush.decode(bad, 2, 2)


def test_a_painted_stroke_becomes_a_mask_where_it_was_painted() -> None:
    frame = cs.Frame(400, 300, 800, 600)
    canvas = cs.brush_canvas({"type": "Path", "path": [["M", 100, 100], ["L", 200, 100]], "strokeWidth": 10,
                              "left": 95, "top": 95})
    mask = brush.decode(cs.brush_geometry(canvas, frame)["rle"], 800, 600)
    assert mask[200, 300] and mask[200, 210] and not mask[100, 300] and not mask[200, 450]
    moved = {**canvas, "left": 95 + 50}  # dragged 50 canvas pixels right
    mask = brush.decode(cs.brush_geometry(moved, frame)["rle"], 800, 600)
    assert mask[200, 450] and not mask[200, 210]


# The canvas round trip


FRAME = cs.Frame(720, 540, 1280, 960)


@pytest.mark.parametrize(
    "shape,geometry",
    [
        ("rectangle", {"x": 10.0, "y": 20.0, "width": 30.0, "height": 15.0, "rotation": 0.0}),
        ("rectangle", {"x": 40.0, "y": 30.0, "width": 20.0, "height": 10.0, "rotation": 30.0}),
        ("ellipse", {"x": 50.0, "y": 50.0, "radiusX": 10.0, "radiusY": 5.0, "rotation": 45.0}),
        ("keypoint", {"x": 33.0, "y": 66.0, "width": cs.KEYPOINT_RADIUS * 100 / 720}),
        ("polygon", {"points": [[10.0, 10.0], [50.0, 12.0], [30.0, 40.0]], "closed": True}),
    ],
)
def test_regions_survive_the_trip_through_the_canvas(shape: str, geometry: dict) -> None:
    region = {"shape": shape, "geometry": geometry}
    obj = cs.to_object(region, FRAME, "#ff0000", "Car", True)
    back = cs.geometry(obj, shape, FRAME)
    assert cs.same(back, geometry), back


def test_a_box_drawn_on_the_canvas_is_in_percent_of_the_image() -> None:
    # What the canvas reports for a box dragged from (72, 54) to (432, 324) on a 720 x 540 canvas.
    drawn = {"type": "LabeledRect", "originX": "left", "originY": "top", "left": 72, "top": 54, "width": 360,
             "height": 270, "scaleX": 1, "scaleY": 1, "angle": 0, "strokeWidth": 2, "strokeUniform": True}
    g = cs.geometry(drawn, "rectangle", FRAME)
    assert g["width"] == pytest.approx(50, abs=0.3) and g["height"] == pytest.approx(50, abs=0.3)
    assert g["x"] == pytest.approx(10, abs=0.3) and g["y"] == pytest.approx(10, abs=0.3)
    # rotated a quarter turn about its centre by the canvas's rotate handle
    turned = {**drawn, "originX": "center", "originY": "center", "left": 72 + 180, "top": 54 + 135, "angle": 90}
    g = cs.geometry(turned, "rectangle", FRAME)
    assert g["rotation"] == 90
    # Label Studio rotates about the top-left corner: the corner is now at the right.
    cx, _cy = 72 + 180, 54 + 135
    corner_x = cx + math.cos(math.radians(90)) * -180 - math.sin(math.radians(90)) * -135
    assert g["x"] == pytest.approx(corner_x * 100 / 720, abs=0.01)


def test_sync_keeps_ids_moves_adds_and_deletes() -> None:
    box = {"id": "b", "shape": "rectangle", "geometry": {"x": 10.0, "y": 10.0, "width": 10.0, "height": 10.0, "rotation": 0.0}}
    dot = {"id": "d", "shape": "keypoint", "geometry": {"x": 50.0, "y": 50.0, "width": cs.KEYPOINT_RADIUS * 100 / 720}}
    objects = [cs.to_object(box, FRAME, "#f00", "", True), cs.to_object(dot, FRAME, "#f00", "", True)]
    made: list[str] = []

    def new(shape: str, obj: dict) -> dict:
        made.append(shape)
        return {"id": f"n{len(made)}", "shape": shape, "geometry": cs.geometry(obj, shape, FRAME)}

    unchanged = cs.sync([box, dot], objects, FRAME, "rectangle", new)
    assert [r["id"] for r in unchanged.regions] == ["b", "d"] and not unchanged.added and not unchanged.removed

    moved = dict(objects[0], left=objects[0]["left"] + 72)
    after = cs.sync([box, dot], [moved, objects[1]], FRAME, "rectangle", new)
    assert [r["id"] for r in after.regions] == ["b", "d"]
    assert after.regions[0]["geometry"]["x"] == pytest.approx(20.0)

    drawn = {"type": "Circle", "originX": "left", "originY": "center", "left": 100, "top": 100,
             "radius": cs.KEYPOINT_RADIUS, "strokeWidth": 2}
    added = cs.sync([box, dot], [*objects, drawn], FRAME, "keypoint", new)
    assert made == ["keypoint"] and [r["id"] for r in added.regions] == ["b", "d", "n1"]

    deleted = cs.sync([box, dot], [objects[1]], FRAME, "rectangle", new)
    assert [r["id"] for r in deleted.regions] == ["d"] and [r["id"] for r in deleted.removed] == ["b"]


# Text spans


def test_a_span_is_stored_as_label_studio_stores_named_entities() -> None:
    config = parse_config("""<View><Labels name="ner" toName="text"><Label value="Person"/></Labels>
      <Text name="text" value="$text"/></View>""")
    span = {"id": "s1", "to_name": "text", "item_index": None, "shape": "span", "tool": "ner",
            "geometry": {"start": 0, "end": 12, "text": "Ada Lovelace"}, "labels": {"ner": ["Person"]},
            "attributes": {}, "origin": "manual"}
    result = build_result(config, {REGIONS: [span]})
    assert result == [{"id": "s1", "to_name": "text", "origin": "manual", "from_name": "ner", "type": "labels",
                       "value": {"start": 0, "end": 12, "text": "Ada Lovelace", "labels": ["Person"]}}]
    assert values_of(result)[REGIONS][0]["geometry"] == span["geometry"]
    assert regions.describe(span) == 'Person · "Ada Lovelace"'
    assert config.unsupported == []


@pytest.mark.parametrize(
    "start,end,granularity,expected",
    [
        (1, 10, "word", (0, 12)),  # "da Lovela" -> "Ada Lovelace"
        (1, 10, "symbol", (1, 10)),
        (12, 19, "symbol", (13, 18)),  # " lived " trimmed
        (12, 13, "word", None),  # a blank
        (40, 99, "symbol", (40, 45)),  # clipped to the text
    ],
)
def test_a_selection_snaps_to_what_the_config_asks(start: int, end: int, granularity: str, expected) -> None:
    from labelkit.ui.spans import snap

    assert snap("Ada Lovelace lived in London with her mother.", start, end, granularity) == expected


# Regions on objects that are not images: the object a region is on decides its shape.

MEDIA = """<View>
  <Text name="text" value="$text"/>
  <Labels name="ner" toName="text"><Label value="Person"/></Labels>
  <Audio name="audio" value="$audio"/>
  <Labels name="speaker" toName="audio"><Label value="Agent"/></Labels>
  <TextArea name="words" toName="audio" perRegion="true"/>
  <Video name="video" value="$video"/>
  <VideoRectangle name="box" toName="video"/>
  <Labels name="who" toName="video"><Label value="Car"/></Labels>
  <TimelineLabels name="action" toName="video"><Label value="Run"/></TimelineLabels>
</View>"""


def test_integer_seconds_of_audio_are_a_segment_not_a_text_span() -> None:
    config = parse_config(MEDIA)
    audio = {"id": "a1", "from_name": "speaker", "to_name": "audio", "type": "labels",
             "value": {"start": 1, "end": 3, "labels": ["Agent"]}}
    text = {"id": "t1", "from_name": "ner", "to_name": "text", "type": "labels",
            "value": {"start": 1, "end": 3, "labels": ["Person"]}}
    found = {r["id"]: r for r in regions.regions_of([audio, text], config)}
    assert (found["a1"]["shape"], found["t1"]["shape"]) == ("range", "span")
    # Without the config the keys decide: a text span is integers, a segment says its channel.
    assert regions.shape_of({"start": 1.5, "end": 3.0, "channel": 0}) == "range"
    assert regions.shape_of({"start": 1, "end": 3, "text": "da"}) == "span"


def test_an_audio_segment_with_its_transcription_round_trips() -> None:
    config = parse_config(MEDIA)
    result = [
        {"id": "s1", "from_name": "speaker", "to_name": "audio", "type": "labels", "origin": "manual",
         "value": {"start": 0.5, "end": 2.25, "channel": 0, "labels": ["Agent"]}},
        {"id": "s1", "from_name": "words", "to_name": "audio", "type": "textarea", "origin": "manual",
         "value": {"start": 0.5, "end": 2.25, "channel": 0, "text": ["hello there"]}},
    ]
    values = values_of(result, config)
    (segment,) = values[REGIONS]
    assert segment["attributes"] == {"words": "hello there"} and segment["labels"] == {"speaker": ["Agent"]}
    assert build_result(config, values) == result
    assert regions.describe(segment) == "Agent · 0.50–2.25"


def test_a_tracked_box_keeps_its_labels_in_its_own_item_as_label_studio_does() -> None:
    config = parse_config(MEDIA)
    sequence = [{"frame": 1, "enabled": True, "rotation": 0, "x": 10, "y": 10, "width": 20, "height": 20, "time": 0.0},
                {"frame": 30, "enabled": False, "rotation": 0, "x": 40, "y": 10, "width": 20, "height": 20, "time": 1.2}]
    item = {"id": "v1", "from_name": "box", "to_name": "video", "type": "videorectangle", "origin": "manual",
            "value": {"framesCount": 100, "duration": 4.0, "sequence": sequence, "labels": ["Car"]}}
    timeline = {"id": "v2", "from_name": "action", "to_name": "video", "type": "timelinelabels", "origin": "manual",
                "value": {"ranges": [{"start": 3, "end": 20}], "timelinelabels": ["Run"]}}
    values = values_of([item, timeline], config)
    box, action = values[REGIONS]
    assert (box["shape"], box["labels"]) == ("videorectangle", {"who": ["Car"]})
    assert (action["shape"], action["labels"]) == ("timeline", {"action": ["Run"]})
    assert build_result(config, values) == [item, timeline]  # one item per track, no separate "labels" item
