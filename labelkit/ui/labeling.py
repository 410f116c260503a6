"""Draw a parsed label config for one task: the layout (View, Header), the objects bound
to task data (Text, Image, Audio...) and the controls (Choices, TextArea, Rating...).
Returns the values of the controls; labelkit.results turns them into Label Studio result
JSON.

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
from labelkit.config.parser import truthy
from labelkit.config.style import grid_columns
from labelkit.results import REGIONS, RELATIONS
from labelkit.ui import documents, image_regions, region_panel, spans
from labelkit.ui.media import image_source, natural_width
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


def object_module(tag: str):  # noqa: ANN201
    """The labelkit.ui module that draws this tag, or None."""
    name = OBJECT_MODULES.get(tag)
    return importlib.import_module(f"labelkit.ui.{name}") if name else None


def state_key(prefix: str, control: str) -> str:
    return f"{prefix}:{control}"


def seed(prefix: str, config: LabelConfig, values: dict[str, Any]) -> None:
    """Put a saved result's values into the widgets' state (once per task view)."""
    marker = f"{prefix}:seeded"
    if st.session_state.get(marker):
        return
    for name, control in config.controls.items():
        value = values.get(name)
        if documents.per_item(control):  # {page index: [choices]}
            pages = value if isinstance(value, dict) else {}
            st.session_state[state_key(prefix, name)] = {int(k): list(v) for k, v in pages.items()}
        elif control.tag == "Choices":
            if value is None:
                value = [o.stored for o in control.options if o.selected]
            st.session_state[state_key(prefix, name)] = list(value or [])
        elif control.tag == "TextArea":
            st.session_state[state_key(prefix, name)] = value or ""
        elif control.tag == "Rating":
            default = control.attrs.get("defaultValue")
            rating = value or (int(default) if default and default.isdigit() else None)
            max_rating = int(control.attrs.get("maxRating", "5"))
            widget = state_key(prefix, name)
            st.session_state[widget] = (rating - 1 if max_rating == 5 else rating) if rating else None
        elif control.tag in ("Number", "DateTime", "Ranker", "Pairwise"):
            st.session_state[state_key(prefix, name)] = value
        elif control.tag == "Taxonomy":
            st.session_state[state_key(prefix, name)] = [_PATH.join(path) for path in value or []]
    region_panel.seed(prefix, values.get(REGIONS) or [], values.get(RELATIONS) or [])
    st.session_state[marker] = True


def forget(prefix: str) -> None:
    """Drop a task view's widget state (after submit, skip, or leaving it)."""
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith(f"{prefix}:")]:
        del st.session_state[key]


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
        module = object_module(node.tag)
        if module is not None:
            module.draw(self, node)

    def tag_Repeater(self, node: Node) -> None:  # noqa: N802
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
            st.image(source, width=width or "content")

    # Controls

    def _control(self, node: Node) -> ControlTag | None:
        """The control to draw here; per-region controls are drawn beside the regions."""
        if not self.controls:
            return None
        control = self.config.controls.get(node.attrs.get("name", ""))
        return None if control is None or control.per_region else control

    def caption(self, control: ControlTag) -> None:
        label = _humanize(control.name)
        st.caption(f"{label}{' · required' if control.required else ''}")

    def tag_Choices(self, node: Node) -> None:
        control = self._control(node)
        if control is None:
            return
        if documents.per_item(control):
            documents.per_item_choices(self, control)
            return
        key = state_key(self.prefix, control.name)
        st.session_state.setdefault(key, [])
        self.caption(control)
        options = control.options_for(self.data)
        inline = truthy(control.attrs.get("showInline")) or len(options) <= 6
        box = st.container(horizontal=inline, gap="small")
        for option in options:
            selected = option.stored in st.session_state[key]
            box.button(
                option.value,
                key=f"{key}:opt:{option.stored}",
                type="primary" if selected else "secondary",
                icon=":material/check:" if selected else None,
                help=option.hint,
                disabled=self.disabled,
                shortcut=self._shortcut(option.hotkey),
                on_click=_toggle,
                args=(key, option.stored, control.multiple),
            )
        self.values[control.name] = list(st.session_state[key])

    def tag_TextArea(self, node: Node) -> None:
        control = self._control(node)
        if control is None:
            return
        rows = int(control.attrs.get("rows", "3") or 3)
        key = state_key(self.prefix, control.name)
        st.session_state.setdefault(key, "")
        text = st.text_area(
            _humanize(control.name) + (" (required)" if control.required else ""),
            key=key,
            placeholder=control.attrs.get("placeholder", ""),
            height=max(68, 24 * rows + 20),
            disabled=self.disabled,
        )
        self.values[control.name] = text

    def tag_Rating(self, node: Node) -> None:
        control = self._control(node)
        if control is None:
            return
        max_rating = int(control.attrs.get("maxRating", "5"))
        key = state_key(self.prefix, control.name)
        self.caption(control)
        if max_rating == 5:
            st.feedback("stars", key=key, disabled=self.disabled)
        else:
            st.pills(
                _humanize(control.name), list(range(1, max_rating + 1)), key=key,
                disabled=self.disabled, label_visibility="collapsed",
            )
        self.values[control.name] = _rating(control, st.session_state.get(key))

    def tag_Number(self, node: Node) -> None:
        control = self._control(node)
        if control is None:
            return
        key = state_key(self.prefix, control.name)
        st.session_state.setdefault(key, None)
        bounds = {k: _number(control.attrs.get(k)) for k in ("min", "max", "step")}
        self.values[control.name] = st.number_input(
            _humanize(control.name) + (" (required)" if control.required else ""), key=key,
            min_value=bounds["min"], max_value=bounds["max"], step=bounds["step"] or 1.0, disabled=self.disabled,
        )

    def tag_Taxonomy(self, node: Node) -> None:
        """Nested choices as paths from the root ("Animal › Dog"), searchable by typing;
        leafsOnly="true" offers only the ends of the tree."""
        control = self._control(node)
        if control is None:
            return
        key = state_key(self.prefix, control.name)
        st.session_state.setdefault(key, [])
        leaves_only = truthy(control.attrs.get("leafsOnly"))
        paths = [_PATH.join(p) for p in taxonomy_paths(control.options, leaves_only)]
        shown = control.attrs.get("pathSeparator") or " › "
        chosen = st.multiselect(
            _humanize(control.name) + (" (required)" if control.required else ""), paths, key=key,
            format_func=lambda p: shown.join(p.split(_PATH)), disabled=self.disabled,
            placeholder=control.attrs.get("placeholder") or "Type to search",
            max_selections=int(control.attrs["maxUsages"]) if control.attrs.get("maxUsages", "").isdigit() else None,
        )
        self.values[control.name] = [p.split(_PATH) for p in chosen]

    def tag_DateTime(self, node: Node) -> None:
        control = self._control(node)
        if control is None:
            return
        key = state_key(self.prefix, control.name)
        st.session_state.setdefault(key, None)
        only = control.attrs.get("only", "date,time")
        title = _humanize(control.name) + (" (required)" if control.required else "")
        placeholder = {"date": "YYYY-MM-DD", "time": "HH:MM", "month": "YYYY-MM", "year": "YYYY"}.get(only, "YYYY-MM-DD HH:MM")
        text = st.text_input(title, key=key, placeholder=placeholder, disabled=self.disabled)
        self.values[control.name] = text or None

    # Helpers

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


def _rating(control: ControlTag, widget_value: Any) -> int | None:
    """A rating from its widget's state: st.feedback counts stars from 0."""
    if widget_value is None:
        return None
    return widget_value + 1 if int(control.attrs.get("maxRating", "5")) == 5 else widget_value


def current_values(config: LabelConfig, prefix: str) -> dict[str, Any]:
    """The controls' values from the widgets' state, without drawing them (for callbacks)."""
    values: dict[str, Any] = {}
    for name, control in config.controls.items():
        state = st.session_state.get(state_key(prefix, name))
        if control.tag == "Choices":
            values[name] = dict(state) if isinstance(state, dict) else list(state or [])  # perItem: by page
        elif control.tag == "TextArea":
            values[name] = state or ""
        elif control.tag == "Rating":
            values[name] = _rating(control, state)
        elif control.tag in ("Number", "DateTime", "Ranker", "Pairwise"):
            values[name] = state
        elif control.tag == "Taxonomy":
            values[name] = [path.split(_PATH) for path in state or []]
    found = st.session_state.get(region_panel.regions_key(prefix))
    if found:
        values[REGIONS] = [{k: v for k, v in r.items() if k != "canvas"} for r in found]
    relations = st.session_state.get(region_panel.relations_key(prefix))
    if relations:
        values[RELATIONS] = list(relations)
    return values


def _toggle(key: str, value: str, multiple: bool) -> None:
    selected = list(st.session_state.get(key, []))
    if value in selected:
        selected.remove(value)
    elif multiple:
        selected.append(value)
    else:
        selected = [value]
    st.session_state[key] = selected


_PATH = "\x1f"  # joins the steps of a taxonomy path in widget state


def taxonomy_paths(options: list, leaves_only: bool, above: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every path of a Taxonomy's tree of options, parents before their children."""
    found: list[tuple[str, ...]] = []
    for option in options:
        path = (*above, option.stored)
        if option.children:
            if not leaves_only:
                found.append(path)
            found += taxonomy_paths(option.children, leaves_only, path)
        else:
            found.append(path)
    return found


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def _humanize(name: str) -> str:
    return name.replace("_", " ").replace("-", " ").strip().capitalize()


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


def show_result(config: LabelConfig, values: dict[str, Any], data: dict | None = None) -> None:
    """A submitted result, read-only: its regions drawn on the image, and short lines per
    control."""
    shown = False
    found = values.get(REGIONS) or []
    if found:
        shown = True
        region_panel.show(config, data or {}, found, values.get(RELATIONS) or [])
    for name, control in config.controls.items():
        value = values.get(name)
        if value in (None, "", []) or control.per_region:
            continue
        shown = True
        if control.tag == "Choices" and isinstance(value, dict):  # perItem: by page
            text = "; ".join(f"page {int(n) + 1}: {', '.join(v)}" for n, v in sorted(value.items(), key=lambda kv: int(kv[0])))
        elif control.tag == "Choices":
            text = ", ".join(value)
        elif control.tag == "Taxonomy":
            text = "; ".join(" › ".join(path) for path in value)
        elif control.tag == "Rating":
            text = f"{value} / {control.attrs.get('maxRating', '5')}"
        elif control.tag == "Ranker" and isinstance(value, dict):
            text = "; ".join(f"{'not in a bucket' if bucket == '_' else bucket}: {', '.join(map(str, ids))}"
                             for bucket, ids in value.items() if ids)
        elif control.tag == "Pairwise":
            sides = dict(zip(("left", "right"), control.to_name, strict=False))
            text = f"{value} ({sides.get(value, '')})"
        else:
            text = str(value)
        st.markdown(f"**{plain(_humanize(name))}:** {plain(text)}")
    if not shown:
        st.caption("(no answer)")
