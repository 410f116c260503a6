"""<HyperText> (and its old name <HTML>): a task's HTML, sanitized (labelkit.media.html_safe),
shown in a small component of our own; with <HyperTextLabels> or <Labels> on it, text
selected with the mouse becomes a region, stored as Label Studio stores it:
{start, end: xpaths of the text nodes where it starts and ends, relative to the
document's root ("/div[1]/p[2]/text()[1]"), startOffset, endOffset (characters within
those text nodes), globalOffsets {start, end} (characters of the whole text), text}.

The browser computes xpaths on an untouched copy of the sanitized HTML, so the highlights
drawn over the shown copy never shift them. Only sanitized HTML is ever set as innerHTML;
region text and labels are set as text."""

from __future__ import annotations

import base64
import binascii

import streamlit as st

from labelkit.config import LabelConfig, Node, ObjectTag
from labelkit.config.parser import truthy
from labelkit.errors import LabelkitError
from labelkit.media.html_safe import sanitize
from labelkit.results import regions as rg
from labelkit.storage import local
from labelkit.ui import media
from labelkit.ui import region_panel as rp
from labelkit.ui.components import component
from labelkit.ui.object_regions import ObjectEditor

_component = component("hypertext", '<div class="lk-html"></div>', uses=("selection",))


def document_html(obj: ObjectTag, data: dict, project_id: int | None = None) -> str | None:
    """The task's HTML for this object, sanitized: inline (value="$html"), or an uploaded
    .html file of the task's project (valueType="url"); base64 when encoding says so. None
    when the file or the encoding cannot be read."""
    ref = obj.value
    raw = data.get(ref[1:]) if ref.startswith("$") else ref
    raw = "" if raw is None else str(raw)
    attrs = obj.node.attrs
    if attrs.get("valueType", "").lower() == "url":
        try:
            raw = local.resolve_for(raw.strip(), project_id).read_text(encoding="utf-8", errors="replace")
        except (LabelkitError, OSError):
            return None
    if attrs.get("encoding", "").lower().startswith("base64"):
        try:
            raw = base64.b64decode(raw).decode("utf-8", errors="replace")
        except (binascii.Error, ValueError):
            return None
    page_url = getattr(st.context, "url", None)
    return sanitize(raw, local_url=lambda path: media.browser_url(path, page_url))


def _html(obj: ObjectTag, data: dict) -> str:
    """The sanitized HTML, or a note when it cannot be read (drawn as text by the component)."""
    html = document_html(obj, data, media.page_project())
    if html is None:
        ref = obj.value
        st.caption(f"The HTML of {ref[1:] if ref.startswith('$') else obj.name} cannot be read (not an uploaded file, "
                   "or not in its encoding).")
        return ""
    return html


def _spans(config: LabelConfig, found: list[dict], data: dict) -> list[dict]:
    return [
        {"id": r["id"], "label": ", ".join(rg.label_names(r)), "color": rp.region_color(config, r, data),
         **{k: r["geometry"].get(k) for k in ("start", "end", "startOffset", "endOffset", "globalOffsets")}}
        for r in found
    ]


def _options(obj: ObjectTag) -> dict:
    return {"clickableLinks": truthy(obj.node.attrs.get("clickableLinks"))}


class HyperTextEditor(ObjectEditor):
    """The regions of one <HyperText>, with the region panel beside it."""

    def draw(self) -> None:
        tool = self.tools[0] if self.tools else None
        if tool is not None and not self.disabled:
            self.label_buttons(tool)
            st.caption("Select text with the mouse to label it; click a highlight to pick it in the list.")
        column, side = st.columns([3, 1]) if not self.disabled else (st.container(), None)
        granularity = (self.obj.node.attrs.get("granularity") or (tool.attrs.get("granularity") if tool else "") or "symbol")
        with column:
            _component(
                data={"html": _html(self.obj, self.data), "regions": _spans(self.config, self.regions, self.data),
                      "picked": st.session_state.get(f"{self.prefix}:selected"),
                      "disabled": self.disabled or self.obj.node.attrs.get("selectionEnabled", "").lower() == "false",
                      "granularity": granularity.lower(), **_options(self.obj)},
                key=f"{self.where}html", on_selected_change=self.add, on_picked_change=self.pick,
            )
        if side is not None:
            with side:
                self.panel()
        self.relations()

    def add(self) -> None:
        chosen = (st.session_state.get(f"{self.where}html") or {}).get("selected")
        tool = self.tools[0] if self.tools else None
        if not chosen or tool is None:
            return
        geometry = region_geometry(chosen)
        if geometry is None:
            return
        self.keep(self.new_region("offsets", geometry, tool))

    def pick(self) -> None:
        self.pick_from(f"{self.where}html")


def region_geometry(chosen: dict) -> dict | None:
    """A selection the browser sent, checked and in Label Studio's keys; None when it is
    not one (the browser is not trusted to send well-formed values)."""
    try:
        start, end = str(chosen["start"]), str(chosen["end"])
        offsets = {k: int(chosen[k]) for k in ("startOffset", "endOffset")}
        spread = {k: int(chosen["globalOffsets"][k]) for k in ("start", "end")}
    except (KeyError, TypeError, ValueError):
        return None
    if not (start.startswith("/") and end.startswith("/")) or spread["start"] < 0 or spread["end"] <= spread["start"]:
        return None
    return {"start": start, "end": end, **offsets, "globalOffsets": spread, "text": str(chosen.get("text", ""))}


def draw(renderer, node: Node) -> None:
    obj = renderer.config.objects.get(node.attrs.get("name", ""))
    if obj is None:
        return
    if renderer.controls and rp.tools_for(renderer.config, obj.name):
        HyperTextEditor(renderer.config, obj, renderer.data, renderer.prefix, renderer.disabled,
                        renderer._shortcut).draw()
        return
    if renderer.objects:
        _component(data={"html": _html(obj, renderer.data), "regions": [], "disabled": True, **_options(obj)},
                   key=f"{renderer.prefix}:{obj.name}:html")


def show(config: LabelConfig, obj: ObjectTag, data: dict, regions: list[dict]) -> None:
    """The regions of an annotation highlighted on the HTML, read-only (review page)."""
    rp.show_once(_component, {"html": _html(obj, data), "regions": _spans(config, regions, data), "disabled": True,
                              **_options(obj)})
