"""Regions in Label Studio's result JSON: rectangles, polygons, keypoints, ellipses and
brush masks on images, spans of text and HTML, segments of audio, ranges of a time series,
timeline ranges and tracked boxes of a video; their labels, their per-region answers, and
the relations between them.

In a result, one region is several items that share an id: the item of the tool that
drew it (e.g. RectangleLabels, value {x, y, width, height, rotation, rectanglelabels}),
one item per other Labels control that labels it, and one item per per-region control
(e.g. Choices with perRegion="true", value {x, y, ..., choices}). Coordinates are in
percent of the image; original_width/original_height give its size in pixels. See
https://labelstud.io/guide/export#Label-Studio-JSON-format-of-annotated-tasks

The UI works on regions as plain dicts (JSON-friendly, they live in session state):
  {"id", "to_name", "item_index", "shape", "geometry", "tool", "labels": {control: [..]},
   "attributes": {control: value}, "original_width", "original_height", "origin"}
(and "original_length", the seconds of audio a segment is on, when it is known)
"""

from __future__ import annotations

import secrets
import string
from typing import Any

from labelkit.config import ControlTag, LabelConfig

_ID_ALPHABET = string.ascii_letters + string.digits
SHAPES = ("rectangle", "polygon", "keypoint", "ellipse", "brush", "videorectangle")  # result types of bare tools
GEOMETRY_KEYS = {
    "span": ("start", "end", "text"),  # characters of a <Text>, end exclusive
    # HyperText: start/end are xpaths of text nodes; Paragraphs: indices of paragraphs.
    # The offsets count characters within them; globalOffsets within the whole text.
    "offsets": ("start", "end", "startOffset", "endOffset", "globalOffsets", "text"),
    # Audio: seconds (and the channel); TimeSeries: values of the time column, instant
    # when start == end.
    "range": ("start", "end", "instant", "channel"),
    "timeline": ("ranges",),  # a Video's TimelineLabels: [{start, end}] in frames from 1
    # VideoRectangle: a box per keyframe, in percent of the frame; frames between two
    # keyframes of an enabled one are interpolated.
    "videorectangle": ("framesCount", "duration", "sequence"),
    "rectangle": ("x", "y", "width", "height", "rotation"),
    "polygon": ("points", "closed"),
    "keypoint": ("x", "y", "width"),
    "ellipse": ("x", "y", "radiusX", "radiusY", "rotation"),
    "brush": ("format", "rle"),
}
# Result types of the Labels-family controls, and the shape each draws ("labels" takes any).
LABEL_TYPES = {
    "rectanglelabels": "rectangle", "polygonlabels": "polygon", "keypointlabels": "keypoint",
    "ellipselabels": "ellipse", "brushlabels": "brush", "labels": None,
    "hypertextlabels": "offsets", "paragraphlabels": "offsets", "timeserieslabels": "range",
    "timelinelabels": "timeline",
}
# The shape of a region on each kind of object that is not an image.
OBJECT_SHAPES = {
    "Text": "span", "HyperText": "offsets", "HTML": "offsets", "Paragraphs": "offsets",
    "Audio": "range", "AudioPlus": "range", "TimeSeries": "range",
}
# Result types of controls that answer once per task or per region, and their value key.
ANSWER_KEYS = {
    "choices": "choices", "textarea": "text", "rating": "rating", "number": "number", "datetime": "datetime",
    "taxonomy": "taxonomy", "ranker": "ranker", "pairwise": "selected",
}


def region_id() -> str:
    """Label Studio's 10-character region ids."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(10))


def shape_of(value: dict, obj: str | None = None) -> str | None:
    """Which shape a result value describes (None: not a region), from the tag of the
    object it is on when known, else from its keys."""
    if not isinstance(value, dict):
        return None
    if "sequence" in value:
        return "videorectangle"
    if "ranges" in value:
        return "timeline"
    if "start" in value and "end" in value:
        if obj in OBJECT_SHAPES:
            return OBJECT_SHAPES[obj]
        if "startOffset" in value:
            return "offsets"
        if "instant" in value or "channel" in value or not all(isinstance(value[k], int) for k in ("start", "end")):
            return "range"
        return "span"
    if "points" in value:
        return "polygon"
    if "rle" in value:
        return "brush"
    if "radiusX" in value:
        return "ellipse"
    if "x" in value and "y" in value:
        return "rectangle" if "height" in value else "keypoint"
    return None


def geometry_of(item: dict, config: LabelConfig | None = None) -> tuple[str, dict] | None:
    """(shape, geometry) of a result item that belongs to a region, else None."""
    if not isinstance(item, dict) or not item.get("id"):
        return None
    value = item.get("value")
    obj = config.objects.get(item.get("to_name", "")) if config is not None else None
    shape = shape_of(value, obj.tag if obj else None) if isinstance(value, dict) else None
    if shape is None:
        return None
    return shape, {k: value[k] for k in GEOMETRY_KEYS[shape] if k in value}


def regions_of(result: list | None, config: LabelConfig | None = None) -> list[dict]:
    """The regions of a result, in order of first appearance."""
    found: dict[str, dict] = {}
    for item in result or []:
        hit = geometry_of(item, config)
        if hit is None:
            continue
        shape, geometry = hit
        kind, name, value = item.get("type", ""), item.get("from_name", ""), item["value"]
        region = found.get(item["id"])
        if region is None:
            region = found[item["id"]] = {
                "id": item["id"], "to_name": item.get("to_name", ""), "item_index": item.get("item_index"),
                "shape": shape, "geometry": geometry, "tool": name, "labels": {}, "attributes": {},
                "original_width": item.get("original_width"), "original_height": item.get("original_height"),
                "origin": item.get("origin", "manual"),
            }
            if item.get("original_length") is not None:  # audio: the length in seconds of what it is on
                region["original_length"] = item["original_length"]
        if kind in LABEL_TYPES:
            region["labels"][name] = list(value.get(kind) or [])
            if kind != "labels" and region["tool"] != name and region["tool"] not in region["labels"]:
                region["tool"] = name
        elif kind in SHAPES:
            region["tool"] = name
            if value.get("labels"):  # a tracked box keeps its <Labels> in its own item
                region["labels"][_labels_control(config, item.get("to_name", ""))] = list(value["labels"])
        elif kind in ANSWER_KEYS:
            answer = value.get(ANSWER_KEYS[kind])
            if kind == "textarea" and isinstance(answer, list):
                answer = "\n".join(str(t) for t in answer)
            region["attributes"][name] = answer
    return list(found.values())


def relations_of(result: list | None) -> list[dict]:
    return [
        {"from_id": i["from_id"], "to_id": i["to_id"], "labels": list(i.get("labels") or []),
         "direction": i.get("direction", "right")}
        for i in result or []
        if isinstance(i, dict) and i.get("type") == "relation" and i.get("from_id") and i.get("to_id")
    ]


def result_type(control: ControlTag) -> str:
    """The result type a region control writes (RectangleLabels -> "rectanglelabels")."""
    return control.tag.lower()


def items_of(config: LabelConfig, regions: list[dict]) -> list[dict]:
    """The result items of the UI's regions."""
    from labelkit.results.items import build_item  # the answer shapes live there

    items: list[dict] = []
    for region in regions:
        geometry = region["geometry"]
        common = {"id": region["id"], "to_name": region["to_name"]}
        if region["shape"] in _IMAGE_SHAPES:  # image regions say which image size their percentages are of
            common |= {"original_width": region.get("original_width"), "original_height": region.get("original_height"),
                       "image_rotation": 0}
        if region.get("original_length") is not None:  # Label Studio writes it on each item of an audio segment
            common["original_length"] = region["original_length"]
        common["origin"] = region.get("origin") or "manual"
        if region.get("item_index") is not None:
            common["item_index"] = region["item_index"]
        tool = config.controls.get(region["tool"])
        kind = result_type(tool) if tool else _stored_kind(region)
        value = dict(geometry)
        if kind in LABEL_TYPES:
            value[kind] = list(region["labels"].get(region["tool"], []))
        merged = kind == "videorectangle"  # Label Studio keeps a tracked box's labels in its item
        if merged:
            value["labels"] = label_names(region)
        items.append({**common, "from_name": region["tool"], "type": kind, "value": value})
        for name, labels in region["labels"].items():
            control = config.controls.get(name)
            if name == region["tool"] or not labels or control is None or merged:
                continue
            other = result_type(control)
            items.append({**common, "from_name": name, "type": other, "value": {**geometry, other: list(labels)}})
        for name, answer in region.get("attributes", {}).items():
            control = config.controls.get(name)
            if control is None:
                continue
            item = build_item(control, answer, region["id"])
            if item is not None:
                items.append({**item, **common, "value": {**geometry, **item["value"]}})
    return items


_IMAGE_SHAPES = ("rectangle", "polygon", "keypoint", "ellipse", "brush")


def _labels_control(config: LabelConfig | None, to_name: str) -> str:
    """The <Labels> that names the regions on this object ("labels" when not known)."""
    if config is not None:
        for control in config.controls.values():
            if control.tag == "Labels" and to_name in control.to_name:
                return control.name
    return "labels"


def _stored_kind(region: dict) -> str:
    return f"{region['shape']}labels" if region["labels"] else region["shape"]


def relation_items(relations: list[dict], regions: list[dict]) -> list[dict]:
    """Relations between regions that still exist."""
    ids = {r["id"] for r in regions}
    items = []
    for rel in relations:
        if rel["from_id"] in ids and rel["to_id"] in ids:
            item = {"from_id": rel["from_id"], "to_id": rel["to_id"], "type": "relation",
                    "direction": rel.get("direction", "right")}
            if rel.get("labels"):
                item["labels"] = list(rel["labels"])
            items.append(item)
    return items


def applies(control: ControlTag, region: dict) -> bool:
    """Whether a per-region control asks about this region (its image, its label)."""
    if control.to_name and region["to_name"] not in control.to_name:
        return False
    tag_name = control.attrs.get("whenTagName", "").strip()
    if tag_name and region.get("tool") != tag_name and not region["labels"].get(tag_name):
        return False
    wanted = [v.strip() for v in control.attrs.get("whenLabelValue", "").split(",") if v.strip()]
    if not wanted:
        return True
    return any(label in wanted for labels in region["labels"].values() for label in labels)


def label_names(region: dict) -> list[str]:
    return [label for labels in region["labels"].values() for label in labels]


def missing_per_region(config: LabelConfig, regions: list[dict]) -> list[str]:
    missing = []
    for number, region in enumerate(regions, start=1):
        for name, control in config.controls.items():
            if not (control.per_region and control.required and applies(control, region)):
                continue
            if region["attributes"].get(name) in (None, "", []):
                missing.append(f"{name} (region {number})")
    return missing


def describe(region: dict) -> str:
    """'Car · rectangle', 'Person · "Ada Lovelace"' for lists of regions."""
    labels = ", ".join(label_names(region)) or "no label"
    geometry = region["geometry"]
    if region["shape"] in ("span", "offsets"):
        text = str(geometry.get("text", ""))
        return f'{labels} · "{text if len(text) <= 40 else text[:39] + "…"}"'
    if region["shape"] == "range":
        return f"{labels} · {_point(geometry.get('start'))}–{_point(geometry.get('end'))}"
    if region["shape"] == "timeline":
        ranges = geometry.get("ranges") or []
        return f"{labels} · " + ", ".join(f"frames {r.get('start')}–{r.get('end')}" for r in ranges)
    if region["shape"] == "videorectangle":
        frames = [k.get("frame") for k in geometry.get("sequence") or []]
        return f"{labels} · box, {len(frames)} keyframe{'s' if len(frames) != 1 else ''}"
    return f"{labels} · {region['shape']}"


def _point(value: Any) -> str:
    """A range's end as people read it: 1.25 s of audio, a timestamp as it is."""
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def answer_text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)
