"""<Paragraphs> and <Chat>: a conversation shown turn by turn.

<Paragraphs value="$dialogue" nameKey="author" textKey="text" layout="dialogue"> shows
each turn (its author and text; as bubbles in the dialogue layout) in a small component
of our own, every string set as text. With <ParagraphLabels> on it, text selected inside
a turn or across turns becomes a region, stored as Label Studio stores it: type
"paragraphlabels", value {start, end: the indices of the first and last turn, as strings
("0", "2"), startOffset, endOffset: characters within those turns' text, text,
paragraphlabels}. A click on a turn's author labels the whole turn, so per-region
questions (intent per turn) take one click each.

<Chat value="$messages"> shows a list of {role, content} messages, read-only; the
questions about it (Choices, TextArea, Rating) are drawn by labelkit.ui.controls."""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from labelkit.config import LabelConfig, Node, ObjectTag
from labelkit.errors import LabelkitError
from labelkit.results import regions as rg
from labelkit.storage import local
from labelkit.ui import media
from labelkit.ui import region_panel as rp
from labelkit.ui.components import component
from labelkit.ui.object_regions import ObjectEditor
from labelkit.ui.region_panel import PALETTE
from labelkit.ui.text import plain

_component = component("dialogue", '<div class="lk-dialogue"></div>', uses=("selection",))


# The conversation as data (no Streamlit)

def turns_of(obj: ObjectTag, data: dict, project_id: int | None = None) -> list[dict]:
    """The turns of a <Paragraphs> or <Chat> for a task of this project: [{"author", "text"}],
    from the task's list (or an uploaded .json file of the project with valueType="url")."""
    ref = obj.value
    found: Any = data.get(ref[1:]) if ref.startswith("$") else ref
    if isinstance(found, str) and obj.node.attrs.get("valueType", "").lower() == "url":
        try:
            found = json.loads(local.resolve_for(found.strip(), project_id).read_text(encoding="utf-8"))
        except (LabelkitError, OSError, ValueError):
            found = []
    if isinstance(found, str):  # one line of text (a preview's placeholder)
        found = [found] if found.strip() else []
    if isinstance(found, dict):  # {"messages": [...]} or {"dialogue": [...]}
        found = next((v for v in found.values() if isinstance(v, list)), [])
    if not isinstance(found, list):
        return []
    chat = obj.tag == "Chat"
    name_key = "role" if chat else obj.node.attrs.get("nameKey", "author")
    text_key = "content" if chat else obj.node.attrs.get("textKey", "text")
    turns = []
    for item in found:
        if not isinstance(item, dict):
            item = {text_key: item}
        turns.append({"author": _text(item.get(name_key, "")), "text": _text(item.get(text_key, ""))})
    return turns


def _text(value: Any) -> str:
    """A message's text; a list of parts (OpenAI's content parts) joined by their text."""
    if value is None:
        return ""
    if isinstance(value, list):
        return "\n".join(_text(p.get("text", "") if isinstance(p, dict) else p) for p in value)
    return str(value)


def selection_geometry(turns: list[dict], start: int, start_offset: int, end: int, end_offset: int) -> dict | None:
    """A selection from turn `start` (character start_offset of its text) to turn `end`
    (end_offset), trimmed of white space at its ends, in Label Studio's value keys; None
    when it selects nothing or falls outside the dialogue."""
    if not (0 <= start <= end < len(turns)):
        return None
    start_offset = max(0, min(start_offset, len(turns[start]["text"])))
    end_offset = max(0, min(end_offset, len(turns[end]["text"])))
    while start < end and start_offset >= len(turns[start]["text"].rstrip()):  # only the end of a turn: next one
        start, start_offset = start + 1, 0
    while end > start and not turns[end]["text"][:end_offset].strip():
        end -= 1
        end_offset = len(turns[end]["text"])
    first = turns[start]["text"]
    while start_offset < len(first) and first[start_offset].isspace() and (start < end or start_offset < end_offset):
        start_offset += 1
    last = turns[end]["text"]
    while end_offset > 0 and last[end_offset - 1].isspace() and (start < end or end_offset > start_offset):
        end_offset -= 1
    if start == end and end_offset <= start_offset:
        return None
    return {"start": str(start), "end": str(end), "startOffset": start_offset, "endOffset": end_offset,
            "text": selected_text(turns, start, start_offset, end, end_offset)}


def selected_text(turns: list[dict], start: int, start_offset: int, end: int, end_offset: int) -> str:
    if start == end:
        return turns[start]["text"][start_offset:end_offset]
    parts = [turns[start]["text"][start_offset:]]
    parts += [t["text"] for t in turns[start + 1:end]]
    parts.append(turns[end]["text"][:end_offset])
    return "\n".join(parts)


def marks_of(turns: list[dict], geometry: dict) -> dict[int, tuple[int, int]]:
    """Which characters of which turns a region covers: {turn: (from, to)}."""
    try:
        start, end = int(geometry["start"]), int(geometry["end"])
        start_offset, end_offset = int(geometry.get("startOffset") or 0), int(geometry.get("endOffset") or 0)
    except (KeyError, TypeError, ValueError):
        return {}
    found = {}
    for index in range(max(start, 0), min(end, len(turns) - 1) + 1):
        length = len(turns[index]["text"])
        found[index] = (start_offset if index == start else 0, end_offset if index == end else length)
    return found


# Drawing

def _turns_for_component(obj: ObjectTag, turns: list[dict], config: LabelConfig, data: dict,
                         found: list[dict]) -> list[dict]:
    authors: list[str] = []
    for turn in turns:
        if turn["author"] not in authors:
            authors.append(turn["author"])
    shown = []
    for turn in turns:
        where = authors.index(turn["author"])
        shown.append({**turn, "right": where % 2 == 1, "color": PALETTE[where % len(PALETTE)], "marks": []})
    for region in found:
        color, label = rp.region_color(config, region, data), ", ".join(rg.label_names(region))
        for index, (start, end) in marks_of(turns, region["geometry"]).items():
            shown[index]["marks"].append({"id": region["id"], "start": start, "end": end, "color": color, "label": label})
    return shown


def _view(obj: ObjectTag, shown: list[dict], **more: Any) -> dict:
    return {"turns": shown, "bubbles": obj.node.attrs.get("layout", "") == "dialogue", **more}


class DialogueEditor(ObjectEditor):
    """The regions of one <Paragraphs>, with the region panel beside it."""

    def __init__(self, config: LabelConfig, obj: ObjectTag, data: dict, prefix: str, disabled: bool,
                 shortcut=None) -> None:
        super().__init__(config, obj, data, prefix, disabled, shortcut)
        self.turns = turns_of(obj, data, media.page_project())

    def draw(self) -> None:
        tool = self.tools[0] if self.tools else None
        if tool is not None and not self.disabled:
            self.label_buttons(tool)
            st.caption("Select text in a turn (or across turns) to label it; click a turn's author to label the "
                       "whole turn; click a highlight to pick it in the list.")
        column, side = st.columns([3, 2]) if not self.disabled else (st.container(), None)
        shown = _turns_for_component(self.obj, self.turns, self.config, self.data, self.regions)
        with column:
            _component(
                data=_view(self.obj, shown, picked=st.session_state.get(f"{self.prefix}:selected"),
                           disabled=self.disabled),
                key=f"{self.where}dialogue",
                on_selected_change=self.add, on_turn_change=self.add_turn, on_picked_change=self.pick,
            )
        if side is not None:
            with side:
                self.panel()
        self.relations()

    def _new(self, geometry: dict | None) -> None:
        tool = self.tools[0] if self.tools else None
        if geometry is None or tool is None:
            return
        self.keep(self.new_region("offsets", geometry, tool))

    def add(self) -> None:
        chosen = (st.session_state.get(f"{self.where}dialogue") or {}).get("selected")
        try:
            where = [int(chosen[k]) for k in ("start", "startOffset", "end", "endOffset")]
        except (KeyError, TypeError, ValueError):
            return
        self._new(selection_geometry(self.turns, *where))

    def add_turn(self) -> None:
        index = (st.session_state.get(f"{self.where}dialogue") or {}).get("turn")
        if not isinstance(index, int) or not 0 <= index < len(self.turns):
            return
        self._new(selection_geometry(self.turns, index, 0, index, len(self.turns[index]["text"])))

    def pick(self) -> None:
        self.pick_from(f"{self.where}dialogue")


def _chat(turns: list[dict]) -> None:
    if not turns:
        st.caption("(no messages)")
        return
    with st.container(border=True):
        for turn in turns:
            role = turn["author"] or "user"
            with st.chat_message(role):  # user and assistant get their icons, other roles their initial
                if role not in ("user", "assistant", "ai", "human"):
                    st.caption(plain(role))
                st.markdown(plain(turn["text"]) if turn["text"] else "*(empty)*")


def draw(renderer, node: Node) -> None:
    obj = renderer.config.objects.get(node.attrs.get("name", ""))
    if obj is None:
        return
    if obj.tag == "Chat":
        if renderer.objects:
            _chat(turns_of(obj, renderer.data, media.page_project()))
        return
    if renderer.controls and rp.tools_for(renderer.config, obj.name):
        DialogueEditor(renderer.config, obj, renderer.data, renderer.prefix, renderer.disabled, renderer._shortcut).draw()
        return
    if renderer.objects:
        shown = _turns_for_component(obj, turns_of(obj, renderer.data, media.page_project()), renderer.config, renderer.data, [])
        _component(data=_view(obj, shown, disabled=True), key=f"{renderer.prefix}:{obj.name}:dialogue")


def show(config: LabelConfig, obj: ObjectTag, data: dict, regions: list[dict]) -> None:
    """An annotation's regions highlighted in the conversation, read-only (review page)."""
    if obj.tag == "Chat":
        return
    shown = _turns_for_component(obj, turns_of(obj, data, media.page_project()), config, data, regions)
    rp.show_once(_component, _view(obj, shown, disabled=True))
