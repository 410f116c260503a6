"""The image labeling area: the image on a drawing canvas (streamlit-drawable-canvas) with
the regions of the config's region controls, beside it the list of regions with their
labels and per-region answers, and under it the relations between regions.

Regions live in session state as Label Studio values (labelkit.results.regions); the canvas
shows them, and what the canvas reports (a box drawn, moved, resized, rotated or
deleted) is merged back by labelkit.ui.canvas_shapes.sync."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import streamlit as st
from streamlit_drawable_canvas import st_canvas

from labelkit.config import ControlTag, LabelConfig, ObjectTag
from labelkit.results.regions import region_id
from labelkit.ui import canvas_shapes as cs
from labelkit.ui.media import browser_url, image_source, natural_size
from labelkit.ui.region_panel import (
    SHAPE_OF_TOOL,
    RegionPanel,
    bound,
    caption,
    image_values,
    label_color,
    label_controls,
    region_color,
    tools_for,
)

TOOL_NAMES = {"rectangle": "Box", "polygon": "Polygon", "keypoint": "Point", "ellipse": "Ellipse", "brush": "Brush"}
ZOOMS = [50, 75, 100, 150, 200, 300]
BASE_WIDTH = 600  # canvas pixels at 100%, what the left column of a centred page holds


def has_regions(config: LabelConfig, image: str) -> bool:
    return any(c.tag in SHAPE_OF_TOOL for c in bound(config, image))


class Editor(RegionPanel):
    """One image of a task (one item of a valueList) with its regions."""

    def __init__(
        self, config: LabelConfig, image: ObjectTag, data: dict, value: str, index: int | None, prefix: str,
        disabled: bool, shortcut=None, width: int = BASE_WIDTH,
    ) -> None:
        self.config, self.obj, self.data, self.value, self.index = config, image, data, value, index
        self.prefix = prefix
        self.disabled, self.width = disabled, width
        self.shortcut = shortcut or (lambda hotkey: None)
        self.where = f"{prefix}:{image.name}:{index if index is not None else ''}"
        self.tools = tools_for(config, image.name)

    # State

    def mine(self, region: dict) -> bool:
        return region["to_name"] == self.obj.name and region.get("item_index") == self.index

    def redraw(self) -> None:
        st.session_state.pop(f"{self.where}:drawing", None)

    # Sizes

    def frame(self) -> cs.Frame:
        source = image_source(self.value)
        size = (natural_size(source) if source is not None else None) or st.session_state.get(f"{self.where}:size")
        width, height = size or (800, 600)
        zoom = st.session_state.get(f"{self.where}:zoom", 100)
        canvas_width = self.width * zoom / 100
        return cs.Frame(round(canvas_width), round(canvas_width * height / width), width, height)

    # Drawing

    def draw(self) -> None:
        tool = self.toolbar()
        frame = self.frame()
        background = browser_url(self.value, st.context.url) or image_source(self.value)
        if background is None:
            st.warning(f"The image {self.value!r} cannot be shown here.", icon=":material/broken_image:")
            return
        drawing = st.session_state.get(f"{self.where}:drawing")
        if drawing is None or drawing.get("frame") != [frame.width, frame.height]:
            drawing = {"objects": self.objects(frame), "frame": [frame.width, frame.height]}
            st.session_state[f"{self.where}:drawing"] = drawing
        shape = SHAPE_OF_TOOL[tool.tag] if tool is not None else "rectangle"
        label = st.session_state.get(f"{self.where}:label")
        color = label_color(self.config, self.obj.name, label, self.data)
        canvas, side = st.columns([3, 1]) if not self.disabled else (st.container(), None)
        with canvas:
            turnable = shape == "rectangle" and tool is not None and rotatable(tool)
            result = st_canvas(
                drawing_mode="rect" if turnable else cs.MODES[shape],
                background_image=background,
                width=frame.width,
                height=frame.height,
                initial_drawing={"objects": drawing["objects"]},
                stroke_color=color,
                fill_color=cs.translucent(color),
                stroke_width=st.session_state.get(f"{self.where}:brush", 12) if shape == "brush" else cs.STROKE,
                point_display_radius=cs.KEYPOINT_RADIUS,
                label=(label or " ") if shape == "rectangle" and not turnable else "",
                key=f"{self.where}:canvas",
                disabled=self.disabled,
                max_display_height=720,
                font_size=14,
            )
        self.remember_size(result)
        self.take(result, frame, shape, tool, label)
        if side is not None:
            with side:
                self.panel()
        self.relations()

    def objects(self, frame: cs.Frame) -> list[dict]:
        out = []
        for region in self.regions:
            color = region_color(self.config, region, self.data)
            if region["shape"] == "brush":
                canvas = region.get("canvas") or {}
                drawn = (
                    {"type": "Path", "path": canvas["path"], "left": canvas["left"], "top": canvas["top"],
                     "stroke": color, "strokeWidth": canvas["strokeWidth"], "fill": None, "strokeLineCap": "round",
                     "strokeLineJoin": "round", "originX": "left", "originY": "top", "opacity": 0.6}
                    if canvas.get("path") else cs.mask_object(region, frame, color)
                )
            else:
                tool = self.config.controls.get(region["tool"])
                drawn = cs.to_object(region, frame, color, caption(region), rotatable(tool) if tool else False)
            if drawn is not None:
                out.append(drawn)
        return out

    def remember_size(self, result: Any) -> None:
        fit = getattr(result, "background_fit", None)
        if not fit or natural_size(image_source(self.value) or "") is not None:
            return
        size = (int(fit["natural_width"]), int(fit["natural_height"]))
        if size[0] > 0 and st.session_state.get(f"{self.where}:size") != size:
            st.session_state[f"{self.where}:size"] = size
            self.redraw()
            st.rerun()

    def take(self, result: Any, frame: cs.Frame, shape: str, tool: ControlTag | None, label: str | None) -> None:
        """Merge what the canvas reported, once per report."""
        objects = ((result.json_data if result is not None else None) or {}).get("objects") or []
        digest = hashlib.sha1(json.dumps(objects, sort_keys=True, default=str).encode()).hexdigest()
        if st.session_state.get(f"{self.where}:seen") == digest:
            return
        st.session_state[f"{self.where}:seen"] = digest

        def new_region(kind: str, drawn: dict) -> dict | None:
            if tool is None or kind != shape:
                return None
            region = {
                "id": region_id(), "to_name": self.obj.name, "item_index": self.index, "shape": kind,
                "tool": tool.name, "labels": {}, "attributes": {}, "origin": "manual",
                "original_width": frame.natural_width, "original_height": frame.natural_height,
            }
            if kind == "brush":
                region["canvas"] = cs.brush_canvas(drawn)
                region["geometry"] = cs.brush_geometry(region["canvas"], frame)
            else:
                region["geometry"] = cs.geometry(drawn, kind, frame)
            owner = next((c for c in label_controls(self.config, self.obj.name, tool)
                          if any(o.stored == label for o in c.options_for(self.data))), None)
            if owner is not None and label:
                region["labels"][owner.name] = [label]
            return region

        change = cs.sync(self.regions, objects, frame, shape, new_region)
        if change.removed:  # kept aside: a click on the canvas's bin must not lose work for good
            st.session_state[f"{self.where}:removed"] = change.removed
        if change.added or change.removed or change.regions != self.regions:
            self.store(change.regions)
            if change.added:
                st.session_state[f"{self.prefix}:selected"] = change.added[-1]["id"]
        if change.ignored:  # take the stray shape off the canvas
            self.redraw()
            st.rerun()

    # Tool, label and zoom

    def toolbar(self) -> ControlTag | None:
        if self.disabled or not self.tools:
            return self.tools[0] if self.tools else None
        row = st.container(horizontal=True, vertical_alignment="bottom")
        names = {c.name: f"{TOOL_NAMES[SHAPE_OF_TOOL[c.tag]]}" for c in self.tools}
        if len(set(names.values())) < len(names):
            names = {c.name: f"{TOOL_NAMES[SHAPE_OF_TOOL[c.tag]]} ({c.name})" for c in self.tools}
        tool_key = f"{self.where}:tool"
        if st.session_state.get(tool_key) not in names:
            st.session_state[tool_key] = self.tools[0].name
        with row:
            if len(self.tools) > 1:
                st.segmented_control("Tool", list(names), format_func=names.get, key=tool_key)
            tool = self.config.controls[st.session_state.get(tool_key) or self.tools[0].name]
            st.selectbox("Zoom", ZOOMS, index=ZOOMS.index(100), key=f"{self.where}:zoom",
                         format_func=lambda z: f"{z}%", width=110)
            if SHAPE_OF_TOOL[tool.tag] == "brush":
                st.slider("Brush size", 2, 60, 12, key=f"{self.where}:brush", width=200)
        hints = {
            "rectangle": "drag to draw a box",
            "polygon": "click the corners, then the first corner again to close",
            "keypoint": "click to place a point",
            "ellipse": "drag to draw an ellipse",
            "brush": "paint with the mouse",
        }
        st.caption(f"{hints[SHAPE_OF_TOOL[tool.tag]]} · with the canvas's pencil (Edit) on, click a region to move, "
                   "resize" + (" or rotate" if SHAPE_OF_TOOL[tool.tag] == "rectangle" else "")
                   + " it, and its trash icon deletes it")
        self.label_buttons(tool)
        return tool


def rotatable(tool: ControlTag) -> bool:
    """Boxes turn where the config says canRotate="true". The canvas draws a box with its
    label on it, or a box that turns, not both; Label Studio's default (true) would take
    the labels off every box, so an unset canRotate keeps them."""
    return tool.attrs.get("canRotate", "").strip().lower() == "true"


def editor(
    config: LabelConfig, image: ObjectTag, data: dict, prefix: str, disabled: bool = False,
    shortcut=None, width: int = BASE_WIDTH,
) -> None:
    """The whole image area for one <Image> tag: one editor per image of the task."""
    values = image_values(data, image)
    if not values:
        st.warning(f"This task has no image for <Image name={image.name!r}>.", icon=":material/broken_image:")
        return
    many = len(values) > 1 or bool(image.node.attrs.get("valueList"))
    index = 0
    if len(values) > 1:
        index = st.segmented_control(
            "Image", list(range(len(values))), format_func=lambda i: f"{i + 1}", key=f"{prefix}:{image.name}:page",
            default=0,
        ) or 0
    Editor(config, image, data, values[index], index if many else None, prefix, disabled, shortcut, width).draw()


