"""The image labeling area: the image on a drawing canvas (streamlit-drawable-canvas) with
the regions of the config's region controls, beside it the list of regions with their
labels and per-region answers, and under it the relations between regions.

Regions live in session state as Label Studio values (labelkit.regions); the canvas
shows them, and what the canvas reports (a box drawn, moved, resized, rotated or
deleted) is merged back by labelkit.ui.canvas_shapes.sync."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import streamlit as st
from streamlit_drawable_canvas import st_canvas

from labelkit import regions as rg
from labelkit.config import ControlTag, LabelConfig, ObjectTag
from labelkit.config.parser import truthy
from labelkit.ui import canvas_shapes as cs
from labelkit.ui.media import browser_url, image_source, natural_size
from labelkit.ui.text import plain

PALETTE = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#9a6324", "#469990", "#808000"]
SHAPE_OF_TOOL = {
    "RectangleLabels": "rectangle", "Rectangle": "rectangle", "PolygonLabels": "polygon", "Polygon": "polygon",
    "KeyPointLabels": "keypoint", "KeyPoint": "keypoint", "EllipseLabels": "ellipse", "Ellipse": "ellipse",
    "BrushLabels": "brush", "Brush": "brush",
}
TOOL_NAMES = {"rectangle": "Box", "polygon": "Polygon", "keypoint": "Point", "ellipse": "Ellipse", "brush": "Brush"}
ZOOMS = [50, 75, 100, 150, 200, 300]
BASE_WIDTH = 600  # canvas pixels at 100%, what the left column of a centred page holds


def regions_key(prefix: str) -> str:
    return f"{prefix}:regions"


def relations_key(prefix: str) -> str:
    return f"{prefix}:relations"


def seed(prefix: str, values_regions: list[dict], relations: list[dict]) -> None:
    found = []
    for region in values_regions:
        region = json.loads(json.dumps(region))
        if region["shape"] == "brush":
            region["canvas"] = {"type": "Image", "left": 0, "top": 0}
        found.append(region)
    st.session_state[regions_key(prefix)] = found
    st.session_state[relations_key(prefix)] = [dict(r) for r in relations]


def has_regions(config: LabelConfig, image: str) -> bool:
    return any(c.tag in SHAPE_OF_TOOL for c in _bound(config, image))


def _bound(config: LabelConfig, image: str) -> list[ControlTag]:
    return [c for c in config.controls.values() if image in c.to_name]


def _tools(config: LabelConfig, image: str) -> list[ControlTag]:
    return [c for c in _bound(config, image) if c.tag in SHAPE_OF_TOOL]


def _label_controls(config: LabelConfig, image: str, tool: ControlTag | None) -> list[ControlTag]:
    """The controls whose options label a region drawn with this tool: the tool itself
    when it is a Labels-family control, and the plain <Labels> on the same image."""
    found = [tool] if tool is not None and tool.tag.endswith("Labels") else []
    return found + [c for c in _bound(config, image) if c.tag == "Labels"]


def _color(config: LabelConfig, image: str, label: str | None) -> str:
    index = 0
    for control in [c for c in _bound(config, image) if c.tag.endswith("Labels")]:
        for option in control.options:
            if option.stored == label:
                return option.background if (option.background or "").startswith("#") else PALETTE[index % len(PALETTE)]
            index += 1
    return "#ff9900"


def _caption(region: dict) -> str:
    return ", ".join(rg.label_names(region))


def _region_color(config: LabelConfig, region: dict) -> str:
    names = rg.label_names(region)
    return _color(config, region["to_name"], names[0] if names else None)


class Editor:
    """One image of a task (one item of a valueList) with its regions."""

    def __init__(self, config: LabelConfig, image: ObjectTag, value: str, index: int | None, prefix: str, disabled: bool) -> None:
        self.config, self.image, self.value, self.index, self.prefix = config, image, value, index, prefix
        self.disabled = disabled
        self.where = f"{prefix}:{image.name}:{index if index is not None else ''}"
        self.tools = _tools(config, image.name)

    # State

    @property
    def all_regions(self) -> list[dict]:
        return st.session_state.setdefault(regions_key(self.prefix), [])

    def mine(self, region: dict) -> bool:
        return region["to_name"] == self.image.name and region.get("item_index") == self.index

    @property
    def regions(self) -> list[dict]:
        return [r for r in self.all_regions if self.mine(r)]

    def store(self, regions: list[dict]) -> None:
        others = [r for r in self.all_regions if not self.mine(r)]
        st.session_state[regions_key(self.prefix)] = others + regions
        ids = {r["id"] for r in others + regions}
        relations = st.session_state.get(relations_key(self.prefix), [])
        st.session_state[relations_key(self.prefix)] = [r for r in relations if r["from_id"] in ids and r["to_id"] in ids]

    def redraw(self) -> None:
        st.session_state.pop(f"{self.where}:drawing", None)

    # Sizes

    def frame(self) -> cs.Frame:
        source = image_source(self.value)
        size = (natural_size(source) if source is not None else None) or st.session_state.get(f"{self.where}:size")
        width, height = size or (800, 600)
        zoom = st.session_state.get(f"{self.where}:zoom", 100)
        canvas_width = BASE_WIDTH * zoom / 100
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
        color = _color(self.config, self.image.name, label)
        canvas, side = st.columns([3, 1]) if not self.disabled else (st.container(), None)
        with canvas:
            result = st_canvas(
                drawing_mode=cs.MODES[shape],
                background_image=background,
                width=frame.width,
                height=frame.height,
                initial_drawing={"objects": drawing["objects"]},
                stroke_color=color,
                fill_color=cs._translucent(color),
                stroke_width=st.session_state.get(f"{self.where}:brush", 12) if shape == "brush" else cs.STROKE,
                point_display_radius=cs.KEYPOINT_RADIUS,
                label=(label or " ") if shape == "rectangle" else "",
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
            color = _region_color(self.config, region)
            if region["shape"] == "brush":
                canvas = region.get("canvas") or {}
                obj = (
                    {"type": "Path", "path": canvas["path"], "left": canvas["left"], "top": canvas["top"],
                     "stroke": color, "strokeWidth": canvas["strokeWidth"], "fill": None, "strokeLineCap": "round",
                     "strokeLineJoin": "round", "originX": "left", "originY": "top", "opacity": 0.6}
                    if canvas.get("path") else cs.mask_object(region, frame, color)
                )
            else:
                tool = self.config.controls.get(region["tool"])
                obj = cs.to_object(region, frame, color, _caption(region), truthy(tool.attrs.get("canRotate", "true")) if tool else True)
            if obj is not None:
                out.append(obj)
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

        def new_region(kind: str, obj: dict) -> dict | None:
            if tool is None or kind != shape:
                return None
            region = {
                "id": cs.new_id(), "to_name": self.image.name, "item_index": self.index, "shape": kind,
                "tool": tool.name, "labels": {}, "attributes": {}, "origin": "manual",
                "original_width": frame.natural_width, "original_height": frame.natural_height,
            }
            if kind == "brush":
                region["canvas"] = cs.brush_canvas(obj)
                region["geometry"] = cs.brush_geometry(region["canvas"], frame)
            else:
                region["geometry"] = cs.geometry(obj, kind, frame)
            owner = next((c for c in _label_controls(self.config, self.image.name, tool)
                          if any(o.stored == label for o in c.options)), None)
            if owner is not None and label:
                region["labels"][owner.name] = [label]
            return region

        change = cs.sync(self.regions, objects, frame, shape, new_region)
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
            options = [o for c in _label_controls(self.config, self.image.name, tool) for o in c.options]
            label_key = f"{self.where}:label"
            stored = [o.stored for o in options]
            if options and st.session_state.get(label_key) not in stored:
                st.session_state[label_key] = stored[0]
            if options:
                st.pills("Label for new regions", stored, key=label_key,
                         format_func=lambda v: next((f"{o.value} [{o.hotkey}]" if o.hotkey else o.value)
                                                    for o in options if o.stored == v))
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
        st.caption(f"{hints[SHAPE_OF_TOOL[tool.tag]]} · the pencil in the canvas toolbar selects, moves, resizes"
                   + (" and rotates" if SHAPE_OF_TOOL[tool.tag] == "rectangle" else "")
                   + "; Delete removes the selected region")
        return tool

    # The regions list and the selected region's answers

    def panel(self) -> None:
        regions = self.regions
        st.markdown(f"**Regions** ({len(regions)})")
        if not regions:
            st.caption("Draw on the image to add one.")
            return
        selected_key = f"{self.prefix}:selected"
        ids = [r["id"] for r in regions]
        if st.session_state.get(selected_key) not in ids:
            st.session_state[selected_key] = ids[-1]
        names = {r["id"]: f"{n}. {rg.describe(r)}" for n, r in enumerate(regions, start=1)}
        st.radio("Regions", ids, format_func=names.get, key=selected_key, label_visibility="collapsed")
        region = next(r for r in regions if r["id"] == st.session_state[selected_key])
        with st.container(border=True):
            self.region_labels(region)
            for control in self.config.controls.values():
                if control.per_region and rg.applies(control, region):
                    self.region_answer(control, region)
            st.button("Delete region", icon=":material/delete:", key=f"{self.where}:del:{region['id']}",
                      on_click=self.delete, args=(region["id"],))

    def region_labels(self, region: dict) -> None:
        tool = self.config.controls.get(region["tool"])
        for control in _label_controls(self.config, self.image.name, tool):
            key = f"{self.where}:labels:{region['id']}:{control.name}"
            labels = list(region["labels"].get(control.name, []))
            st.session_state[key] = labels if control.multiple else (labels[0] if labels else None)
            st.pills(
                rg_label(control), [o.stored for o in control.options], key=key,
                selection_mode="multi" if control.multiple else "single",
                on_change=self.relabel, args=(region["id"], control.name, key),
            )

    def relabel(self, region_id: str, control: str, key: str) -> None:
        chosen = st.session_state.get(key)
        chosen = [] if chosen is None else ([chosen] if isinstance(chosen, str) else list(chosen))
        regions = self.regions
        for region in regions:
            if region["id"] == region_id:
                region["labels"] = {**region["labels"], control: chosen}
        self.store(regions)
        self.redraw()

    def region_answer(self, control: ControlTag, region: dict) -> None:
        key = f"{self.where}:attr:{region['id']}:{control.name}"
        current = region["attributes"].get(control.name)
        title = rg_label(control) + (" (required)" if control.required else "")
        args = (region["id"], control.name, key)
        if control.tag == "Choices":
            stored = [o.stored for o in control.options]
            st.session_state[key] = list(current or []) if control.multiple else ((current or [None])[0])
            st.pills(title, stored, key=key, selection_mode="multi" if control.multiple else "single",
                     on_change=self.answer, args=args)
        elif control.tag == "TextArea":
            st.session_state[key] = current or ""
            st.text_area(title, key=key, on_change=self.answer, args=args, height=68,
                         placeholder=control.attrs.get("placeholder", ""))
        elif control.tag == "Rating":
            st.session_state[key] = current
            st.pills(title, list(range(1, int(control.attrs.get("maxRating", "5")) + 1)), key=key,
                     on_change=self.answer, args=args)
        elif control.tag == "Number":
            st.session_state[key] = current
            st.number_input(title, key=key, on_change=self.answer, args=args, value=None)

    def answer(self, region_id: str, control: str, key: str) -> None:
        value = st.session_state.get(key)
        if isinstance(value, str) and self.config.controls[control].tag == "Choices":
            value = [value]
        regions = self.regions
        for region in regions:
            if region["id"] == region_id:
                region["attributes"] = {**region["attributes"], control: value}
        self.store(regions)

    def delete(self, region_id: str) -> None:
        self.store([r for r in self.regions if r["id"] != region_id])
        self.redraw()

    # Relations

    def relations(self) -> None:
        control = self.config.relations
        if control is None or self.disabled:
            return
        regions = [r for r in self.all_regions]
        relations = st.session_state.setdefault(relations_key(self.prefix), [])
        names = {r["id"]: f"{n}. {rg.describe(r)}" for n, r in enumerate(regions, start=1)}
        with st.expander(f"Relations ({len(relations)})", icon=":material/share:", expanded=bool(relations)):
            for n, rel in enumerate(relations):
                row = st.container(horizontal=True, vertical_alignment="center")
                labels = f" · {', '.join(rel.get('labels') or [])}" if rel.get("labels") else ""
                row.markdown(plain(f"{names.get(rel['from_id'], '?')} → {names.get(rel['to_id'], '?')}{labels}"))
                row.button("Remove", key=f"{self.where}:relrm:{n}", icon=":material/close:",
                           on_click=self.remove_relation, args=(n,))
            if len(regions) < 2:
                st.caption("Draw two regions to relate them.")
                return
            row = st.container(horizontal=True, vertical_alignment="bottom")
            a = row.selectbox("From", list(names), format_func=names.get, key=f"{self.where}:rel_from")
            b = row.selectbox("To", list(names), format_func=names.get, key=f"{self.where}:rel_to", index=1)
            kinds = [o.stored for o in control.options]
            kind = row.selectbox("Relation", kinds, key=f"{self.where}:rel_kind") if kinds else None
            row.button("Relate", icon=":material/add_link:", key=f"{self.where}:rel_add",
                       on_click=self.add_relation, args=(a, b, kind))

    def add_relation(self, a: str, b: str, kind: str | None) -> None:
        if a == b:
            st.toast("A region cannot relate to itself.")
            return
        relations = st.session_state.setdefault(relations_key(self.prefix), [])
        relations.append({"from_id": a, "to_id": b, "labels": [kind] if kind else [], "direction": "right"})

    def remove_relation(self, n: int) -> None:
        relations = st.session_state.setdefault(relations_key(self.prefix), [])
        if 0 <= n < len(relations):
            relations.pop(n)


def rg_label(control: ControlTag) -> str:
    return control.name.replace("_", " ").replace("-", " ").strip().capitalize()


def image_values(data: dict, image: ObjectTag) -> list[str]:
    """The image(s) an <Image> shows for a task: value="$image", or valueList="$images"."""
    ref = image.node.attrs.get("valueList") or image.value
    found = data.get(ref[1:]) if ref.startswith("$") else ref
    if isinstance(found, list):
        return [str(v) for v in found]
    return [] if found is None else [str(found)]


def editor(config: LabelConfig, image: ObjectTag, data: dict, prefix: str, disabled: bool = False) -> None:
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
    Editor(config, image, values[index], index if many else None, prefix, disabled).draw()


def show(config: LabelConfig, data: dict, found: list[dict], relations: list[dict]) -> None:
    """Regions read-only: drawn on their image where it is a local file, and listed with
    their labels and per-region answers."""
    for image in config.objects_of("Image"):
        values = image_values(data, image)
        mine = [r for r in found if r["to_name"] == image.name]
        if not mine:
            continue
        for index, value in enumerate(values):
            here = [r for r in mine if (r.get("item_index") or 0) == index]
            source = image_source(value)
            if here and source is not None and not isinstance(source, str):
                colors = {r["id"]: _region_color(config, r) for r in here}
                st.image(cs.draw_regions(source, here, colors), width="stretch")
    numbers = {r["id"]: n for n, r in enumerate(found, start=1)}
    lines = []
    for n, region in enumerate(found, start=1):
        answers = "; ".join(
            f"{rg_label(config.controls[k]) if k in config.controls else k}: {rg.answer_text(v)}"
            for k, v in region["attributes"].items() if v not in (None, "", [])
        )
        lines.append(f"{n}. {rg.describe(region)}" + (f" ({answers})" if answers else ""))
    for rel in relations:
        labels = f" {', '.join(rel.get('labels') or [])}" if rel.get("labels") else ""
        lines.append(f"{numbers.get(rel['from_id'], '?')} →{labels} → {numbers.get(rel['to_id'], '?')}")
    st.markdown("\n".join(f"- {plain(line)}" for line in lines))
