"""Beside an object (an image, a text, audio, a video...): the list of its regions, the
selected region's labels and per-region answers, delete and restore; under it, the
relations between regions. A part of every region editor: the image editor
(labelkit.ui.image_regions) and the editor of other objects (labelkit.ui.object_regions);
what the panel needs from them is the RegionEditor contract below. Also which controls
make and label an object's regions and in which colour, and show_once for the read-only
views of the object modules (labelkit.ui.region_view draws a whole result)."""

from __future__ import annotations

import hashlib
import json
from abc import abstractmethod
from collections.abc import Callable
from typing import Protocol

import streamlit as st

from labelkit.config import ControlTag, LabelConfig, ObjectTag
from labelkit.config.parser import walk
from labelkit.config.tags import REGION_TOOLS
from labelkit.results import regions as rg
from labelkit.ui import canvas_shapes as cs
from labelkit.ui.text import plain

SHAPE_OF_TOOL = {
    "RectangleLabels": "rectangle", "Rectangle": "rectangle", "PolygonLabels": "polygon", "Polygon": "polygon",
    "KeyPointLabels": "keypoint", "KeyPoint": "keypoint", "EllipseLabels": "ellipse", "Ellipse": "ellipse",
    "BrushLabels": "brush", "Brush": "brush",
}
MANY_LABELS = 16  # more labels than this (and no hotkeys) are picked from a list that can be searched
PALETTE = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#9a6324", "#469990", "#808000"]


def regions_key(prefix: str) -> str:
    return f"{prefix}:regions"


def relations_key(prefix: str) -> str:
    return f"{prefix}:relations"


def seed(prefix: str, values_regions: list[dict], relations: list[dict]) -> None:
    """A saved result's regions and relations into session state (a brush mask comes back
    as an image on the canvas)."""
    found = []
    for region in values_regions:
        region = json.loads(json.dumps(region))
        if region["shape"] == "brush":
            region["canvas"] = {"type": "Image", "left": 0, "top": 0}
        found.append(region)
    st.session_state[regions_key(prefix)] = found
    st.session_state[relations_key(prefix)] = [dict(r) for r in relations]


def bound(config: LabelConfig, obj_name: str) -> list[ControlTag]:
    return [c for c in config.controls.values() if obj_name in c.to_name]


def tools_for(config: LabelConfig, obj_name: str) -> list[ControlTag]:
    """The controls that make regions on this object: shape tools on an image, Labels on a
    text or audio, HyperTextLabels on HTML, VideoRectangle and TimelineLabels on a video..."""
    obj = config.objects.get(obj_name)
    if obj is None or obj.tag == "Image":
        return [c for c in bound(config, obj_name) if c.tag in SHAPE_OF_TOOL]
    tools = REGION_TOOLS.get(obj.tag, ())
    if obj.tag == "Video":  # there <Labels> name the tracked boxes, they draw nothing
        tools = tuple(t for t in tools if t != "Labels")
    return [c for c in bound(config, obj_name) if c.tag in tools]


def label_controls(config: LabelConfig, obj_name: str, tool: ControlTag | None) -> list[ControlTag]:
    """The controls whose options label a region drawn with this tool: the tool itself
    when it is a Labels-family control, and the plain <Labels> on the same object."""
    found = [tool] if tool is not None and tool.tag.endswith("Labels") else []
    if tool is not None and tool.tag == "TimelineLabels":  # a video's <Labels> name its boxes, not its ranges
        return found
    return found + [c for c in bound(config, obj_name) if c.tag == "Labels" and c is not tool]


def label_color(config: LabelConfig, obj_name: str, label: str | None, data: dict | None = None) -> str:
    index = 0
    for control in [c for c in bound(config, obj_name) if c.tag.endswith("Labels")]:
        for option in control.options_for(data):
            if option.stored == label:
                return _hex(option.background) or PALETTE[index % len(PALETTE)]
            index += 1
    return "#ff9900"


def _hex(color: str | None) -> str | None:
    """A config's colour (#rgb, #rrggbb or a CSS name such as "green") as #rrggbb."""
    from PIL import ImageColor

    try:
        rgb = ImageColor.getrgb((color or "").strip())
    except ValueError:
        return None
    return "#{:02x}{:02x}{:02x}".format(*rgb[:3])


def caption(region: dict) -> str:
    return ", ".join(rg.label_names(region))


def region_color(config: LabelConfig, region: dict, data: dict | None = None) -> str:
    names = rg.label_names(region)
    return label_color(config, region["to_name"], names[0] if names else None, data)


class RegionEditor(Protocol):
    """What the region panel needs from the editor it is part of. The image editor
    (labelkit.ui.image_regions.Editor) and the editor of other objects
    (labelkit.ui.object_regions.ObjectEditor) provide it; RegionPanel builds on it."""

    config: LabelConfig  # the task's label config
    obj: ObjectTag  # the object whose regions are edited: an <Image>, a <Text>, an <Audio>, a <Video>...
    data: dict  # the task's data (label options may come from it)
    prefix: str  # the task's key in session state: all its regions and relations live under it
    where: str  # the key prefix of this editor's own widgets: its object (on a valueList, its image)
    disabled: bool  # read-only (as on the review page): the panel then offers no relations
    shortcut: Callable[[str | None], str | None]  # a label's hotkey as a button shortcut, or None

    @abstractmethod
    def mine(self, region: dict) -> bool:
        """Whether a region of the task is one of this editor's (on its object, its image)."""

    @abstractmethod
    def redraw(self) -> None:
        """After the panel changed the regions: the editor draws them afresh (the image
        editor rebuilds its canvas; the others draw from the regions on every run anyway)."""


class RegionPanel(RegionEditor):
    """The panel's part of a region editor: the editor subclasses it and provides the rest
    (RegionEditor); an editor without mine() or redraw() cannot be made."""

    # The task's regions in session state, and this object's share of them

    @property
    def all_regions(self) -> list[dict]:
        return st.session_state.setdefault(regions_key(self.prefix), [])

    @property
    def regions(self) -> list[dict]:
        return [r for r in self.all_regions if self.mine(r)]

    def store(self, regions: list[dict]) -> None:
        """This object's regions, replaced; relations to regions that are gone go too."""
        others = [r for r in self.all_regions if not self.mine(r)]
        st.session_state[regions_key(self.prefix)] = others + regions
        ids = {r["id"] for r in others + regions}
        relations = st.session_state.get(relations_key(self.prefix), [])
        st.session_state[relations_key(self.prefix)] = [r for r in relations if r["from_id"] in ids and r["to_id"] in ids]

    # The label for new regions

    def label_buttons(self, tool: ControlTag) -> None:
        """The label the next region gets: a button per label, with its hotkey, and the
        config's <Filter> as a search box when there are many."""
        options = [o for c in label_controls(self.config, self.obj.name, tool) for o in c.options_for(self.data)]
        if not options:
            return
        key = f"{self.where}:label"
        stored = [o.stored for o in options]
        if st.session_state.get(key) not in stored:
            st.session_state[key] = stored[0]
        names = {c.name for c in label_controls(self.config, self.obj.name, tool)}
        search = next((n for n in walk(self.config.root) if n.tag == "Filter" and n.attrs.get("toName") in names), None)
        wanted = ""
        if search is not None:
            wanted = st.text_input("Find a label", key=f"{self.where}:filter", placeholder=search.attrs.get("placeholder", "Find a label"),
                                   width=260).strip().lower()
            if len(wanted) < int(search.attrs.get("minlength", "1") or 1):
                wanted = ""
        if len(options) > MANY_LABELS and not any(o.hotkey for o in options):  # e.g. COCO's 80 classes
            captions = {o.stored: o.value for o in options}
            st.selectbox("Label for new regions", stored, key=key, format_func=captions.get, width=320)
            return
        st.caption("Label for new regions")
        row = st.container(horizontal=True, gap="small")
        for option in options:
            if wanted and wanted not in option.value.lower() and option.stored != st.session_state[key]:
                continue
            picked = option.stored == st.session_state[key]
            row.button(
                option.value, key=f"{key}:{option.stored}", type="primary" if picked else "secondary",
                icon=":material/check:" if picked else None, help=option.hint,
                shortcut=self.shortcut(option.hotkey), on_click=_pick, args=(key, option.stored),
            )

    # The regions list and the selected region's answers

    def describe(self, region: dict) -> str:
        """A region in the list (an editor may say it its own way, e.g. times as dates)."""
        return rg.describe(region)

    @property
    def picked(self) -> str | None:
        """The id of the region picked in the list, when it is one of this editor's (in a run
        the list starts, before it is drawn, its state may still be the text the browser sent)."""
        chosen = st.session_state.get(f"{self.prefix}:selected")
        return chosen if any(r["id"] == chosen for r in self.regions) else None

    def panel(self) -> None:
        regions = self.regions
        st.markdown(f"**Regions** ({len(regions)})")
        removed = st.session_state.get(f"{self.where}:removed") or []
        if removed:
            many = len(removed) != 1
            st.button(f"Restore the {len(removed)} region{'s' * many} just deleted" if many else "Restore the region just deleted",
                      icon=":material/undo:", key=f"{self.where}:restore", on_click=self.restore)
        if not regions:
            st.caption("Draw on the image to add one." if self.obj.tag == "Image" else "Select on the left to add one.")
            return
        selected_key = f"{self.prefix}:selected"
        ids = [r["id"] for r in regions]
        if st.session_state.get(selected_key) not in ids:
            st.session_state[selected_key] = ids[-1]
        names = {r["id"]: f"{n}. {self.describe(r)}" for n, r in enumerate(regions, start=1)}
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
        for control in label_controls(self.config, self.obj.name, tool):
            key = f"{self.where}:labels:{region['id']}:{control.name}"
            labels = list(region["labels"].get(control.name, []))
            st.session_state[key] = labels if control.multiple else (labels[0] if labels else None)
            st.pills(
                rg_label(control), [o.stored for o in control.options_for(self.data)], key=key,
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
                region["origin"] = cs.changed_origin(region)
        self.store(regions)
        self.redraw()

    def region_answer(self, control: ControlTag, region: dict) -> None:
        key = f"{self.where}:attr:{region['id']}:{control.name}"
        current = region["attributes"].get(control.name)
        title = rg_label(control) + (" (required)" if control.required else "")
        args = (region["id"], control.name, key)
        if control.tag == "Choices":
            stored = [o.stored for o in control.options_for(self.data)]
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
            st.number_input(title, key=key, on_change=self.answer, args=args)
        elif control.tag == "DateTime":
            st.session_state[key] = current or ""
            st.text_input(title, key=key, on_change=self.answer, args=args, placeholder="YYYY-MM-DD")

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
        st.session_state[f"{self.where}:removed"] = [r for r in self.regions if r["id"] == region_id]
        self.store([r for r in self.regions if r["id"] != region_id])
        self.redraw()

    def restore(self) -> None:
        back = st.session_state.pop(f"{self.where}:removed", None) or []
        present = {r["id"] for r in self.regions}
        self.store(self.regions + [r for r in back if r["id"] not in present])
        self.redraw()

    # Relations

    def relations(self) -> None:
        """Relations between any regions of the task, drawn once: under the last object with regions."""
        control = self.config.relations
        with_regions = [o.name for o in self.config.objects.values() if tools_for(self.config, o.name)]
        if control is None or self.disabled or not with_regions or self.obj.name != with_regions[-1]:
            return
        regions = list(self.all_regions)
        relations = st.session_state.setdefault(relations_key(self.prefix), [])
        several = len(with_regions) > 1 or any(r.get("item_index") for r in regions)

        def name(n: int, r: dict) -> str:
            where = f" on {r['to_name']}" + (f" #{r['item_index'] + 1}" if r.get("item_index") is not None else "")
            return f"{n}. {rg.describe(r)}" + (where if several else "")

        names = {r["id"]: name(n, r) for n, r in enumerate(regions, start=1)}
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


def _pick(key: str, value: str) -> None:
    st.session_state[key] = value


def rg_label(control: ControlTag) -> str:
    return control.name.replace("_", " ").replace("-", " ").strip().capitalize()


def image_values(data: dict, image: ObjectTag) -> list[str]:
    """The image(s) an <Image> shows for a task: value="$image", or valueList="$images"."""
    ref = image.node.attrs.get("valueList") or image.value
    found = data.get(ref[1:]) if ref.startswith("$") else ref
    if isinstance(found, list):
        return [str(v) for v in found]
    return [] if found is None else [str(found)]


def show_once(component, data: dict) -> None:
    """A read-only component for the review page, where two annotations may show the very
    same thing (a prediction both accepted unchanged): Streamlit refuses two elements
    with one id, so the second gets the next key."""
    from streamlit.errors import (
        StreamlitDuplicateElementId,
        StreamlitDuplicateElementKey,
    )

    base = hashlib.sha1(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]
    for n in range(1000):
        try:
            component(data=data, key=f"lk:show:{base}:{n}")
            return
        except (StreamlitDuplicateElementId, StreamlitDuplicateElementKey):
            continue
