"""Tables, lists to rank and pairs to compare.

- <Table value="$row">: key/value data (a dict, or a list of dicts) as a table of text.
- <List value="$items"> with <Ranker toName="list">: the items ({id, title, body, html?})
  reordered by drag and drop (a small component of our own: plain JavaScript, HTML5
  drag and drop, arrow keys and buttons too), or, with <Bucket> children, moved between
  the list and the buckets. The Ranker's value is Label Studio's: {ranker name: [ids in
  order]} without buckets; {bucket: [ids], ...} with them, the items left in the list
  under "_" when no bucket is default="true".
- <Pairwise toName="a,b">: which of two objects (drawn by their own tags) is better,
  "left" or "right".

Item titles and bodies are set as text; an item's html only after labelkit.media.html_safe."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from labelkit.config import ControlTag, LabelConfig, Node, ObjectTag
from labelkit.config.parser import truthy
from labelkit.media.html_safe import sanitize
from labelkit.ui.components import component
from labelkit.ui.media import browser_url
from labelkit.ui.text import plain

UNSORTED = "_"  # Label Studio's column for the items no bucket holds (when none is default)


_ranker = component("ranker", '<div class="lk-ranker"></div>')


# What the ranker knows, without Streamlit


def list_items(value: Any) -> list[dict]:
    """A List's items as {id, title, body, html}: ids as text (their place, from 1, when an
    item has none)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    found = []
    for n, item in enumerate(value if isinstance(value, list) else [], start=1):
        if not isinstance(item, dict):
            item = {"title": item}
        found.append({
            "id": str(item.get("id", n)), "title": _text(item.get("title")), "body": _text(item.get("body")),
            "html": _text(item.get("html")),
        })
    return found


def buckets(control: ControlTag) -> list:
    return [o for o in control.options if o.tag == "Bucket"]


def default_column(control: ControlTag) -> str:
    """Where items no answer has placed sit: the Ranker itself (no buckets), the bucket
    with default="true", or Label Studio's "_" column."""
    found = buckets(control)
    if not found:
        return control.name
    return next((b.value for b in found if truthy(b.attrs.get("default"))), UNSORTED)


def columns(control: ControlTag, list_title: str = "") -> list[dict]:
    """The columns the items are placed in, as Label Studio lays them out."""
    found = buckets(control)
    if not found:
        return [{"id": control.name, "title": list_title or "Ranking"}]
    cols = [{"id": b.value, "title": b.caption} for b in found]
    if default_column(control) == UNSORTED:
        cols.insert(0, {"id": UNSORTED, "title": list_title or "Items"})
    return cols


def arrange(control: ControlTag, ids: list[str], saved: Any) -> dict[str, list[str]]:
    """The Ranker's value for these items: a saved value's placement of the items it
    knows (once each), every other item in the default column, every column present."""
    order: dict[str, list[str]] = {c["id"]: [] for c in columns(control)}
    known, placed = set(ids), set()
    for column, got in (saved if isinstance(saved, dict) else {}).items():
        if column not in order or not isinstance(got, list):
            continue
        for item in map(str, got):
            if item in known and item not in placed:
                order[column].append(item)
                placed.add(item)
    order[default_column(control)] += [i for i in ids if i not in placed]
    return order


def ranker_of(config: LabelConfig, list_name: str) -> ControlTag | None:
    return next((c for c in config.controls.values() if c.tag == "Ranker" and list_name in c.to_name), None)


# Drawing


def draw(renderer, node: Node) -> None:
    if node.tag == "Pairwise":
        _pairwise(renderer, node)
        return
    obj = renderer.config.objects.get(node.attrs.get("name", ""))
    if obj is None:
        return
    value = renderer.data.get(obj.key) if obj.key else obj.value
    if node.tag == "Table":
        if renderer.objects:
            table(value)
        return
    ranker = ranker_of(renderer.config, obj.name)
    if ranker is not None and renderer.controls:
        _rank(renderer, obj, ranker, value)
    elif renderer.objects:
        _items(obj, value)


def table(value: Any) -> None:
    """Key/value data as text: a dict as Name/Value rows, a list of dicts row by row."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = {"value": value}
    if isinstance(value, dict):
        frame = pd.DataFrame({"Name": list(map(str, value)), "Value": [_cell(v) for v in value.values()]})
    elif isinstance(value, list) and value:
        rows = [r if isinstance(r, dict) else {"value": r} for r in value]
        frame = pd.DataFrame([{str(k): _cell(v) for k, v in r.items()} for r in rows])
    else:
        st.caption("(no data)")
        return
    st.dataframe(frame, hide_index=True, width="stretch")


def _items(obj: ObjectTag, value: Any) -> None:
    """A List read-only: its items in their order, as text."""
    title = obj.node.attrs.get("title")
    if title:
        st.markdown(f"**{plain(title)}**")
    for item in list_items(value):
        with st.container(border=True):
            st.markdown(f"**{plain(item['title'] or item['id'])}**")
            if item["body"]:
                st.markdown(plain(item["body"]))
            if item["html"]:
                st.html(_safe(item["html"]))


def _rank(renderer, obj: ObjectTag, ranker: ControlTag, value: Any) -> None:
    from labelkit.ui.controls import state_key

    items = list_items(value)
    ids = [i["id"] for i in items]
    key = state_key(renderer.prefix, ranker.name)
    order = arrange(ranker, ids, st.session_state.get(key))
    if st.session_state.get(key) != order:
        st.session_state[key] = order
    renderer.caption(ranker)
    if not renderer.disabled:
        where = "within the list" if not buckets(ranker) else "between the columns"
        st.caption(f"Drag items to move them {where}, or focus one and use the arrow keys or its arrow buttons.")
    widget = f"{key}:ranker"
    _ranker(
        data={
            "columns": columns(ranker, obj.node.attrs.get("title", "")), "order": order,
            "items": {i["id"]: {**i, "html": _safe(i["html"])} for i in items},
            # the item just moved keeps the keyboard focus, once (a later run must not steal it back)
            "disabled": renderer.disabled, "focus": st.session_state.pop(f"{widget}:focus", None),
        },
        key=widget,
        on_moved_change=lambda: _moved(widget, key, ranker, ids),
    )
    renderer.values[ranker.name] = st.session_state[key]


def _moved(widget: str, key: str, ranker: ControlTag, ids: list[str]) -> None:
    moved = (st.session_state.get(widget) or {}).get("moved")
    if not isinstance(moved, dict):
        return
    st.session_state[key] = arrange(ranker, ids, moved.get("order"))
    st.session_state[f"{widget}:focus"] = moved.get("focus")


def _pairwise(renderer, node: Node) -> None:
    """Two buttons: the left object or the right one is better; a second click takes the
    answer back (as in Label Studio)."""
    from labelkit.ui.controls import state_key

    control = renderer.config.controls.get(node.attrs.get("name", ""))
    if control is None or not renderer.controls:
        return
    key = state_key(renderer.prefix, control.name)
    st.session_state.setdefault(key, None)
    renderer.caption(control)
    names = ([*list(control.to_name), "", ""])[:2]
    row = st.container(horizontal=True, gap="small")
    for side, name in zip(("left", "right"), names, strict=True):
        chosen = st.session_state[key] == side
        row.button(
            f"{side.capitalize()}: {name}", key=f"{key}:{side}", type="primary" if chosen else "secondary",
            icon=":material/check:" if chosen else None, disabled=renderer.disabled,
            on_click=_pick, args=(key, side),
        )
    renderer.values[control.name] = st.session_state[key]


def _pick(key: str, side: str) -> None:
    st.session_state[key] = None if st.session_state.get(key) == side else side


def show(config: LabelConfig, obj: ObjectTag, data: dict, regions: list[dict]) -> None:
    """Lists and tables carry no regions; the Ranker's answer is shown as text by
    controls.show_result."""


def _safe(html: str) -> str:
    """An item's html, sanitized; its uploaded images load through signed links."""
    if not html:
        return ""
    page_url = st.context.url
    return sanitize(html, local_url=lambda path: browser_url(path, page_url))


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _cell(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
