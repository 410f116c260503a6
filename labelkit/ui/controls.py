"""The controls of a task view (Choices, TextArea, Rating, Number, Taxonomy, DateTime)
and their answers: drawing each control for the renderer of labelkit.ui.labeling, where
its value lives in the widgets' state (state_key), putting a saved result's values there
(seed), reading them back without drawing (current_values), dropping them (forget), and a
submitted result shown read-only (show_result). Values are by control name;
labelkit.results.items turns them into Label Studio result JSON. Controls that belong to an
object (Ranker, Pairwise, per-page Choices) are drawn by that object's module."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from labelkit.config import ControlTag, LabelConfig, Node
from labelkit.config.parser import truthy
from labelkit.results.items import REGIONS, RELATIONS
from labelkit.ui import documents, region_panel, region_view
from labelkit.ui.text import plain

_PATH = "\x1f"  # joins the steps of a taxonomy path in widget state


# Answers in the widgets' state


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


def _rating(control: ControlTag, widget_value: Any) -> int | None:
    """A rating from its widget's state: st.feedback counts stars from 0."""
    if widget_value is None:
        return None
    return widget_value + 1 if int(control.attrs.get("maxRating", "5")) == 5 else widget_value


# Drawing (renderer: the labelkit.ui.labeling renderer of the task view)


def draw(renderer, node: Node) -> bool:
    """Draw the node if it is one of these controls; whether it was."""
    drawer = _DRAWERS.get(node.tag)
    if drawer is None:
        return False
    drawer(renderer, node)
    return True


def _control(renderer, node: Node) -> ControlTag | None:
    """The control to draw here; per-region controls are drawn beside the regions."""
    if not renderer.controls:
        return None
    control = renderer.config.controls.get(node.attrs.get("name", ""))
    return None if control is None or control.per_region else control


def _draw_choices(renderer, node: Node) -> None:
    control = _control(renderer, node)
    if control is None:
        return
    if documents.per_item(control):
        documents.per_item_choices(renderer, control)
        return
    key = state_key(renderer.prefix, control.name)
    st.session_state.setdefault(key, [])
    renderer.caption(control)
    options = control.options_for(renderer.data)
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
            disabled=renderer.disabled,
            shortcut=renderer._shortcut(option.hotkey),
            on_click=_toggle,
            args=(key, option.stored, control.multiple),
        )
    renderer.values[control.name] = list(st.session_state[key])


def _draw_text_area(renderer, node: Node) -> None:
    control = _control(renderer, node)
    if control is None:
        return
    rows = int(control.attrs.get("rows", "3") or 3)
    key = state_key(renderer.prefix, control.name)
    st.session_state.setdefault(key, "")
    text = st.text_area(
        _title(control),
        key=key,
        placeholder=control.attrs.get("placeholder", ""),
        height=max(68, 24 * rows + 20),
        disabled=renderer.disabled,
    )
    renderer.values[control.name] = text


def _draw_rating(renderer, node: Node) -> None:
    control = _control(renderer, node)
    if control is None:
        return
    max_rating = int(control.attrs.get("maxRating", "5"))
    key = state_key(renderer.prefix, control.name)
    renderer.caption(control)
    if max_rating == 5:
        st.feedback("stars", key=key, disabled=renderer.disabled)
    else:
        st.pills(
            humanize(control.name), list(range(1, max_rating + 1)), key=key,
            disabled=renderer.disabled, label_visibility="collapsed",
        )
    renderer.values[control.name] = _rating(control, st.session_state.get(key))


def _draw_number(renderer, node: Node) -> None:
    control = _control(renderer, node)
    if control is None:
        return
    key = state_key(renderer.prefix, control.name)
    st.session_state.setdefault(key, None)
    bounds = {k: _number(control.attrs.get(k)) for k in ("min", "max", "step")}
    renderer.values[control.name] = st.number_input(
        _title(control), key=key,
        min_value=bounds["min"], max_value=bounds["max"], step=bounds["step"] or 1.0, disabled=renderer.disabled,
    )


def _draw_taxonomy(renderer, node: Node) -> None:
    """Nested choices as paths from the root ("Animal › Dog"), searchable by typing;
    leafsOnly="true" offers only the ends of the tree."""
    control = _control(renderer, node)
    if control is None:
        return
    key = state_key(renderer.prefix, control.name)
    st.session_state.setdefault(key, [])
    leaves_only = truthy(control.attrs.get("leafsOnly"))
    paths = [_PATH.join(p) for p in taxonomy_paths(control.options, leaves_only)]
    shown = control.attrs.get("pathSeparator") or " › "
    chosen = st.multiselect(
        _title(control), paths, key=key,
        format_func=lambda p: shown.join(p.split(_PATH)), disabled=renderer.disabled,
        placeholder=control.attrs.get("placeholder") or "Type to search",
        max_selections=int(control.attrs["maxUsages"]) if control.attrs.get("maxUsages", "").isdigit() else None,
    )
    renderer.values[control.name] = [p.split(_PATH) for p in chosen]


def _draw_date_time(renderer, node: Node) -> None:
    control = _control(renderer, node)
    if control is None:
        return
    key = state_key(renderer.prefix, control.name)
    st.session_state.setdefault(key, None)
    only = control.attrs.get("only", "date,time")
    title = _title(control)
    placeholder = {"date": "YYYY-MM-DD", "time": "HH:MM", "month": "YYYY-MM", "year": "YYYY"}.get(only, "YYYY-MM-DD HH:MM")
    text = st.text_input(title, key=key, placeholder=placeholder, disabled=renderer.disabled)
    renderer.values[control.name] = text or None


_DRAWERS: dict[str, Callable[[Any, Node], None]] = {
    "Choices": _draw_choices, "TextArea": _draw_text_area, "Rating": _draw_rating, "Number": _draw_number,
    "Taxonomy": _draw_taxonomy, "DateTime": _draw_date_time,
}


# Helpers


def _title(control) -> str:
    return humanize(control.name) + (" (required)" if control.required else "")


def toggled(selected: list[str], value: str, multiple: bool) -> list[str]:
    """The choices after a click on one: off if it was on, else on (alone unless multiple)."""
    if value in selected:
        return [v for v in selected if v != value]
    return [*selected, value] if multiple else [value]


def _toggle(key: str, value: str, multiple: bool) -> None:
    st.session_state[key] = toggled(list(st.session_state.get(key, [])), value, multiple)


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


def humanize(name: str) -> str:
    return name.replace("_", " ").replace("-", " ").strip().capitalize()


# Read-only


def show_result(config: LabelConfig, values: dict[str, Any], data: dict | None = None) -> None:
    """A submitted result, read-only: its regions drawn on the image, and short lines per
    control."""
    shown = False
    found = values.get(REGIONS) or []
    if found:
        shown = True
        region_view.show(config, data or {}, found, values.get(RELATIONS) or [])
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
        st.markdown(f"**{plain(humanize(name))}:** {plain(text)}")
    if not shown:
        st.caption("(no answer)")
