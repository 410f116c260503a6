"""Named-entity spans on a <Text>: select characters with the mouse, and they become a
region labeled with the current label (Label Studio's "labels" result: start, end, text).

Streamlit has no span-selection widget, so this is a small component of our own (plain
JavaScript, no build step, on Streamlit's components v2). The text is set with
textContent, never as HTML. Spans may overlap; a click on a span selects it in the list
beside the text, where it can be relabeled, answered per region, related or deleted."""

from __future__ import annotations

import re

import streamlit as st

from labelkit import regions as rg
from labelkit.config import LabelConfig, ObjectTag
from labelkit.regions import region_id
from labelkit.ui import region_panel as rp
from labelkit.ui.region_panel import RegionPanel

_CSS = """
.lk-text { white-space: pre-wrap; line-height: 2.1; font-size: 1rem; padding: 0.75rem 1rem;
  border: 1px solid rgba(49, 51, 63, 0.2); border-radius: 0.5rem; user-select: text; cursor: text; }
.lk-text .lk-span { border-radius: 3px; padding: 2px 0; cursor: pointer; }
.lk-text .lk-span.lk-picked { outline: 2px solid #31333f; }
.lk-text .lk-span[data-overlap="true"] { border-bottom: 3px double #31333f; }
"""

_JS = """
export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  const box = parentElement.querySelector(".lk-text");
  const text = data.text || "";
  const spans = data.spans || [];
  const cuts = new Set([0, text.length]);
  for (const s of spans) { cuts.add(s.start); cuts.add(s.end); }
  const points = [...cuts].filter((c) => c >= 0 && c <= text.length).sort((a, b) => a - b);
  box.replaceChildren();
  for (let i = 0; i + 1 < points.length; i++) {
    const from = points[i], to = points[i + 1];
    const over = spans.filter((s) => s.start <= from && s.end >= to);
    const piece = document.createElement("span");
    piece.textContent = text.slice(from, to);
    piece.dataset.start = String(from);
    if (over.length) {
      const top = over[over.length - 1];
      piece.className = "lk-span" + (over.some((s) => s.id === data.picked) ? " lk-picked" : "");
      piece.style.background = top.color + "55";
      piece.title = over.map((s) => s.label).join(", ");
      piece.dataset.overlap = String(over.length > 1);
      piece.dataset.ids = over.map((s) => s.id).join(" ");
    }
    box.appendChild(piece);
  }
  const offset = (node, within) => {
    const piece = node.nodeType === Node.TEXT_NODE ? node.parentElement : node;
    if (!piece || !piece.dataset || piece.dataset.start === undefined) return null;
    return Number(piece.dataset.start) + (node.nodeType === Node.TEXT_NODE ? within : 0);
  };
  box.onmouseup = () => {
    if (data.disabled) return;
    const root = parentElement.getSelection ? parentElement : document;
    const sel = root.getSelection();
    if (!sel || sel.rangeCount === 0) return;
    const range = sel.getRangeAt(0);
    if (range.collapsed) {
      const piece = range.startContainer.parentElement;
      if (piece && piece.dataset && piece.dataset.ids) {
        const ids = piece.dataset.ids.split(" ");
        setTriggerValue("picked", ids[ids.length - 1]);
      }
      return;
    }
    if (!box.contains(range.startContainer) || !box.contains(range.endContainer)) return;
    const start = offset(range.startContainer, range.startOffset);
    const end = offset(range.endContainer, range.endOffset);
    sel.removeAllRanges();
    if (start === null || end === null || end <= start) return;
    setTriggerValue("selected", { start: start, end: end });
  };
}
"""

_component = st.components.v2.component("labelkit.spans", html='<div class="lk-text"></div>', css=_CSS, js=_JS)
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


class SpanEditor(RegionPanel):
    """The spans of one <Text>, with the region panel beside it."""

    def __init__(self, config: LabelConfig, text: ObjectTag, data: dict, value: str, prefix: str, disabled: bool,
                 shortcut=None) -> None:  # noqa: ANN001
        self.config, self.image, self.data, self.value, self.prefix = config, text, data, value, prefix
        self.disabled = disabled
        self.shortcut = shortcut or (lambda hotkey: None)
        self.where = f"{prefix}:{text.name}:"
        self.tools = rp.tools_for(config, text.name)

    def mine(self, region: dict) -> bool:
        return region["to_name"] == self.image.name

    def redraw(self) -> None:
        """Nothing to reload: the text is drawn from the regions on every run."""

    def draw(self) -> None:
        tool = self.tools[0] if self.tools else None
        if tool is not None and not self.disabled:
            self.label_buttons(tool)
            st.caption("Select words with the mouse to label them; click a labeled span to pick it in the list.")
        text_column, side = st.columns([3, 1]) if not self.disabled else (st.container(), None)
        picked = st.session_state.get(f"{self.prefix}:selected")
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
        granularity = (self.image.node.attrs.get("granularity") or tool.attrs.get("granularity") or "symbol").lower()
        bounds = snap(self.value, int(chosen["start"]), int(chosen["end"]), granularity)
        if bounds is None:
            return
        start, end = bounds
        label = st.session_state.get(f"{self.where}:label")
        region = {
            "id": region_id(), "to_name": self.image.name, "item_index": None, "shape": "span",
            "geometry": {"start": start, "end": end, "text": self.value[start:end]}, "tool": tool.name,
            "labels": {tool.name: [label]} if label else {}, "attributes": {}, "origin": "manual",
        }
        self.store([*self.regions, region])
        st.session_state[f"{self.prefix}:selected"] = region["id"]

    def pick(self) -> None:
        chosen = (st.session_state.get(f"{self.where}spans") or {}).get("picked")
        if chosen:
            st.session_state[f"{self.prefix}:selected"] = chosen


def has_spans(config: LabelConfig, text: str) -> bool:
    return bool(rp.tools_for(config, text))


def editor(config: LabelConfig, text: ObjectTag, value: str, data: dict, prefix: str, disabled: bool = False,
           shortcut=None) -> None:  # noqa: ANN001
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
