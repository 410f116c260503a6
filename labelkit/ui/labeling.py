"""Draw a parsed label config for one task: walk it, drawing the layout (View, Header,
Collapse, Repeater), the objects bound to task data (Text, Image, Audio...) and the
controls (Choices, TextArea, Rating...: labelkit.ui.controls, which also keeps their
answers in the widgets' state). Returns the values of the controls; labelkit.results.items
turns them into Label Studio result JSON.

Each kind of object beyond Text and Image has a module of labelkit.ui (OBJECT_MODULES)
with draw(renderer, node), which draws the object and, when the renderer draws controls,
its region editor; and show(config, obj, data, regions), the read-only view of regions on
it. Task text is shown as text, never as HTML or Markdown (HTML only sanitized)."""

from __future__ import annotations

import importlib
import re
from typing import Any

import streamlit as st

from labelkit.config import ControlTag, LabelConfig, Node
from labelkit.config.style import grid_columns
from labelkit.results.items import REGIONS, RELATIONS
from labelkit.ui import documents, image_regions, region_panel, spans
from labelkit.ui.controls import current_values, humanize, state_key
from labelkit.ui.controls import draw as draw_control
from labelkit.ui.media import browser_url, image_source, natural_width
from labelkit.ui.text import plain

# Keys Streamlit reserves or that would fight with typing; see st.button's `shortcut`.
_RESERVED_KEYS = {"c", "r"}
_SHORTCUT = re.compile(r"^(?:[A-Za-z0-9]|F(?:[1-9]|1[0-2]))$")
SUBMIT_SHORTCUT = "Ctrl+Enter"
# The module of labelkit.ui that draws each kind of object (and the controls drawn with it).
OBJECT_MODULES = {
    "HyperText": "hypertext", "HTML": "hypertext", "Paragraphs": "dialogue", "Chat": "dialogue",
    "Audio": "audio", "AudioPlus": "audio", "Video": "video", "TimeSeries": "timeseries",
    "Table": "lists", "List": "lists", "Pairwise": "lists", "Pdf": "documents",
}


def object_module(tag: str):
    """The labelkit.ui module that draws this tag, or None."""
    name = OBJECT_MODULES.get(tag)
    return importlib.import_module(f"labelkit.ui.{name}") if name else None


class _Renderer:
    def __init__(
        self, config: LabelConfig, data: dict, prefix: str, disabled: bool, objects: bool, controls: bool, hotkeys: bool
    ) -> None:
        self.config, self.data, self.prefix, self.hotkeys = config, data, prefix, hotkeys
        self.disabled, self.objects, self.controls = disabled, objects, controls
        self.values: dict[str, Any] = {}
        self.shortcuts: set[str] = set()
        self.canvas_width = image_regions.BASE_WIDTH

    # Layout

    def node(self, node: Node) -> None:
        if not self._visible(node):
            return
        handler = getattr(self, f"tag_{node.tag}", None)
        if handler is not None:
            handler(node)
            return
        if draw_control(self, node):
            return
        module = object_module(node.tag)
        if module is not None:
            module.draw(self, node)

    def tag_Repeater(self, node: Node) -> None:
        """An unrolled Repeater (labelkit.config.task_config): one View per item, in tabs
        (every tab is drawn, so answers on the pages not in view are kept)."""
        pages = [c for c in node.children if c.tag == "View"]
        if len(pages) <= 1 or node.attrs.get("mode", "list") != "pagination":
            for page in pages:
                self.node(page)
            return
        for tab, page in zip(st.tabs([f"Page {n}" for n in range(1, len(pages) + 1)]), pages, strict=True):
            with tab:
                self.node(page)

    def tag_View(self, node: Node) -> None:
        children = [c for c in node.children if c.tag not in ("Style", "Choice")]
        weights = grid_columns(node.attrs.get("style", ""), len(children))
        if weights is None:
            for child in children:
                self.node(child)
            return
        for start in range(0, len(children), len(weights)):  # a grid fills row after row
            for column, child in zip(st.columns(weights), children[start : start + len(weights)], strict=False):
                with column:
                    self.node(child)

    def tag_Collapse(self, node: Node) -> None:
        """Panels that open and close; each <Panel value="Title"> holds a part of the layout."""
        for panel in node.children:
            if panel.tag != "Panel" or not self._visible(panel):
                continue
            with st.expander(self._resolve(panel.attrs.get("value", "")) or "Details"):
                for child in panel.children:
                    self.node(child)

    def tag_Header(self, node: Node) -> None:
        if not self.objects:
            return
        text = self._resolve(node.attrs.get("value", "") or node.text.strip())
        size = node.attrs.get("size", "4")
        level = int(size) if size.isdigit() and 1 <= int(size) <= 6 else 4
        st.markdown(f"{'#' * max(level, 3)} {plain(text)}")

    # Objects

    def tag_Text(self, node: Node) -> None:
        obj = self.config.objects.get(node.attrs.get("name", ""))
        if self.controls and obj is not None and spans.has_spans(self.config, obj.name):
            spans.editor(self.config, obj, self._resolve(node.attrs.get("value", "")), self.data, self.prefix,
                         disabled=self.disabled, shortcut=self._shortcut)
            return
        if not self.objects:
            return
        text = self._resolve(node.attrs.get("value", ""))
        with st.container(border=True):
            st.markdown(plain(text) if text else "*(empty)*")

    def tag_Image(self, node: Node) -> None:
        image = self.config.objects.get(node.attrs.get("name", ""))
        if image is None:
            return
        if self.controls and image_regions.has_regions(self.config, image.name):
            image_regions.editor(self.config, image, self.data, self.prefix, disabled=self.disabled,
                                 shortcut=self._shortcut, width=self.canvas_width)
            return
        if not self.objects:
            return
        if image.many and documents.answered_per_page(self.config, image):  # one page at a time
            documents.draw(self, node)
            return
        for value in region_panel.image_values(self.data, image):
            source = image_source(value)
            if source is None:
                st.warning(f"The image {value!r} cannot be shown here.", icon=":material/broken_image:")
                continue
            width = _pixels(node.attrs.get("maxWidth") or node.attrs.get("width"))
            natural = natural_width(source)
            if width and natural:
                width = min(width, natural)
            # A local file through a link bound to this person (checked on every request), not
            # Streamlit's media store, whose URLs outlive a removal from the project.
            st.image(browser_url(value, st.context.url) or source, width=width or "content")

    # Helpers

    def caption(self, control: ControlTag) -> None:
        label = humanize(control.name)
        st.caption(f"{label}{' · required' if control.required else ''}")

    def _resolve(self, value: str) -> str:
        if value.startswith("$"):
            found = self.data.get(value[1:])
            return "" if found is None else str(found)
        return value

    def _shortcut(self, hotkey: str | None) -> str | None:
        if not hotkey or self.disabled or not self.hotkeys or not _SHORTCUT.match(hotkey) or hotkey.lower() in _RESERVED_KEYS:
            return None
        if hotkey.lower() in self.shortcuts:
            return None
        self.shortcuts.add(hotkey.lower())
        return hotkey.upper() if len(hotkey) == 1 else hotkey

    def _visible(self, node: Node) -> bool:
        """visibleWhen="choice-selected" / "choice-unselected" on a View or a control."""
        when = node.attrs.get("visibleWhen")
        if when not in ("choice-selected", "choice-unselected"):
            return True
        source = node.attrs.get("whenTagName")
        chosen = st.session_state.get(state_key(self.prefix, source), []) if source else []
        wanted = [v.strip() for v in node.attrs.get("whenChoiceValue", "").split(",") if v.strip()]
        hit = bool(chosen) and (not wanted or any(v in chosen for v in wanted))
        return hit if when == "choice-selected" else not hit


def _pixels(value: str | None) -> int | None:
    if not value:
        return None
    m = re.match(r"^\s*(\d+)\s*(px)?\s*$", value)
    return int(m.group(1)) if m else None


def render(
    config: LabelConfig,
    data: dict,
    prefix: str,
    *,
    disabled: bool = False,
    objects: bool = True,
    controls: bool = True,
    hotkeys: bool = True,
    canvas_width: int | None = None,
) -> dict[str, Any]:
    """Draw the task; returns the controls' current values by control name. canvas_width
    fits an image's drawing canvas to a narrow column (a preview)."""
    renderer = _Renderer(config, data or {}, prefix, disabled, objects, controls, hotkeys)
    if canvas_width:
        renderer.canvas_width = canvas_width
    renderer.node(config.root)
    if controls:
        everything = current_values(config, prefix)
        renderer.values.update({k: everything[k] for k in (REGIONS, RELATIONS) if k in everything})
    return renderer.values
