"""Named-entity spans on a <Text>: select characters with the mouse, and they become a
region labeled with the current label (Label Studio's "labels" result: start, end, text).

Streamlit has no span-selection widget, so this is a small component of our own (plain
JavaScript, no build step, on Streamlit's components v2). The text is set with
textContent, never as HTML. Spans may overlap; a click on a span selects it in the list
beside the text, where it can be relabeled, answered per region, related or deleted."""

from __future__ import annotations

import re

import streamlit as st

from labelkit.config import LabelConfig, ObjectTag
from labelkit.results import regions as rg
from labelkit.ui import region_panel as rp
from labelkit.ui.components import component
from labelkit.ui.object_regions import ObjectEditor

_component = component("spans", '<div class="lk-text"></div>', uses=("selection",))
_WORD = re.compile(r"\w")


def snap(text: str, start: int, end: int, granularity: str) -> tuple[int, int] | None:
    """A selection trimmed of surrounding white space and, at word granularity, widened to
    whole words; None when nothing is left."""
    start, end = max(0, start), min(len(text), end)
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if granularity == "word":
        while start > 0 and _WORD.match(text[start - 1]) and _WORD.match(text[start]):
            start -= 1
        while end < len(text) and _WORD.match(text[end]) and _WORD.match(text[end - 1]):
            end += 1
    return (start, end) if end > start else None


class SpanEditor(ObjectEditor):
    """The spans of one <Text>, with the region panel beside it."""

    def __init__(self, config: LabelConfig, text: ObjectTag, data: dict, value: str, prefix: str, disabled: bool,
                 shortcut=None) -> None:
        super().__init__(config, text, data, prefix, disabled, shortcut)
        self.value = value

    def draw(self) -> None:
        tool = self.tools[0] if self.tools else None
        if tool is not None and not self.disabled:
            self.label_buttons(tool)
            st.caption("Select words with the mouse to label them; click a labeled span to pick it in the list.")
        text_column, side = st.columns([3, 1]) if not self.disabled else (st.container(), None)
        picked = self.picked
        spans = [
            {"id": r["id"], "start": r["geometry"]["start"], "end": r["geometry"]["end"],
             "label": ", ".join(rg.label_names(r)), "color": rp.region_color(self.config, r, self.data)}
            for r in self.regions
        ]
        with text_column:
            _component(
                data={"text": self.value, "spans": spans, "picked": picked, "disabled": self.disabled},
                key=f"{self.where}spans",
                on_selected_change=self.add, on_picked_change=self.pick,
            )
        if side is not None:
            with side:
                self.panel()
        self.relations()

    def add(self) -> None:
        chosen = (st.session_state.get(f"{self.where}spans") or {}).get("selected")
        tool = self.tools[0] if self.tools else None
        if not chosen or tool is None:
            return
        granularity = (self.obj.node.attrs.get("granularity") or tool.attrs.get("granularity") or "symbol").lower()
        bounds = snap(self.value, int(chosen["start"]), int(chosen["end"]), granularity)
        if bounds is None:
            return
        start, end = bounds
        self.keep(self.new_region("span", {"start": start, "end": end, "text": self.value[start:end]}, tool))

    def pick(self) -> None:
        self.pick_from(f"{self.where}spans")


def has_spans(config: LabelConfig, text: str) -> bool:
    return bool(rp.tools_for(config, text))


def editor(config: LabelConfig, text: ObjectTag, value: str, data: dict, prefix: str, disabled: bool = False,
           shortcut=None) -> None:
    SpanEditor(config, text, data, value, prefix, disabled, shortcut).draw()


def show(config: LabelConfig, text: ObjectTag, data: dict, found: list[dict]) -> None:
    """An annotation's spans highlighted on its text, read-only (review page)."""
    ref = text.value
    value = data.get(ref[1:]) if ref.startswith("$") else ref
    spans = [
        {"id": r["id"], "start": r["geometry"]["start"], "end": r["geometry"]["end"],
         "label": ", ".join(rg.label_names(r)), "color": rp.region_color(config, r, data)}
        for r in found if r.get("shape") == "span"
    ]
    rp.show_once(_component, {"text": "" if value is None else str(value), "spans": spans, "picked": None, "disabled": True})
