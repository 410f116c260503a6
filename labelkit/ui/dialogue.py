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
questions about it (Choices, TextArea, Rating) are drawn by labelkit.ui.labeling."""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from labelkit import regions as rg
from labelkit.config import LabelConfig, Node, ObjectTag
from labelkit.errors import LabelkitError
from labelkit.regions import region_id
from labelkit.storage import local
from labelkit.ui import region_panel as rp
from labelkit.ui.region_panel import PALETTE, RegionPanel
from labelkit.ui.text import plain

_CSS = """
.lk-dialogue { display: flex; flex-direction: column; gap: 0.5rem; padding: 0.5rem 0; max-height: 70vh; overflow-y: auto; }
.lk-turn { max-width: 100%; }
.lk-dialogue.lk-bubbles .lk-turn { max-width: 80%; padding: 0.4rem 0.8rem; border-radius: 0.9rem;
  background: rgba(49, 51, 63, 0.06); border: 1px solid rgba(49, 51, 63, 0.12); align-self: flex-start; }
.lk-dialogue.lk-bubbles .lk-turn.lk-right { align-self: flex-end; background: rgba(28, 131, 225, 0.08); }
.lk-author { font-size: 0.8rem; font-weight: 600; opacity: 0.8; user-select: none; }
.lk-author.lk-clickable { cursor: pointer; text-decoration: underline dotted; }
.lk-phrase { white-space: pre-wrap; line-height: 1.8; user-select: text; cursor: text; }
.lk-phrase .lk-span { border-radius: 3px; padding: 1px 0; cursor: pointer; }
.lk-phrase .lk-span.lk-picked { outline: 2px solid #31333f; }
"""

_JS = """
export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  const box = parentElement.querySelector(".lk-dialogue");
  const turns = data.turns || [];
  box.className = "lk-dialogue" + (data.bubbles ? " lk-bubbles" : "");
  box.replaceChildren();
  turns.forEach((turn, index) => {
    const row = document.createElement("div");
    row.className = "lk-turn" + (turn.right ? " lk-right" : "");
    row.dataset.index = String(index);
    const author = document.createElement("div");
    author.className = "lk-author" + (data.disabled ? "" : " lk-clickable");
    author.textContent = turn.author;
    author.style.color = turn.color;
    if (!data.disabled) {
      author.title = "Label the whole turn";
      author.onclick = () => setTriggerValue("turn", index);
    }
    const phrase = document.createElement("div");
    phrase.className = "lk-phrase";
    const text = turn.text, marks = turn.marks || [];
    const cuts = new Set([0, text.length]);
    for (const m of marks) { cuts.add(m.start); cuts.add(m.end); }
    const points = [...cuts].filter((c) => c >= 0 && c <= text.length).sort((a, b) => a - b);
    for (let i = 0; i + 1 < points.length; i++) {
      const from = points[i], to = points[i + 1];
      const over = marks.filter((m) => m.start <= from && m.end >= to);
      const piece = document.createElement("span");
      piece.textContent = text.slice(from, to);
      if (over.length) {
        const top = over[over.length - 1];
        piece.className = "lk-span" + (over.some((m) => m.id === data.picked) ? " lk-picked" : "");
        piece.style.background = top.color + "55";
        piece.title = over.map((m) => m.label).join(", ");
        piece.dataset.ids = over.map((m) => m.id).join(" ");
      }
      phrase.appendChild(piece);
    }
    row.append(author, phrase);
    box.appendChild(row);
  });
  const phrases = [...box.querySelectorAll(".lk-phrase")];
  const point = (container, offset, isEnd) => {
    let turn = container === box ? box.children[Math.min(offset, box.children.length - 1)]
      : (container.nodeType === Node.TEXT_NODE ? container.parentElement : container).closest(".lk-turn");
    if (!turn) return null;
    const index = Number(turn.dataset.index), phrase = phrases[index];
    if (container !== box && phrase.contains(container)) {
      const r = document.createRange();
      r.setStart(phrase, 0);
      r.setEnd(container, offset);
      return [index, r.toString().length];
    }
    const here = document.createRange();
    here.setStart(container, offset);
    const edge = document.createRange();
    edge.setStart(phrase, 0);
    const before = container === box || here.compareBoundaryPoints(Range.START_TO_START, edge) <= 0;
    if (before) return isEnd ? (index > 0 ? [index - 1, turns[index - 1].text.length] : null) : [index, 0];
    return isEnd ? [index, turns[index].text.length] : (index + 1 < turns.length ? [index + 1, 0] : null);
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
    const a = point(range.startContainer, range.startOffset, false);
    const b = point(range.endContainer, range.endOffset, true);
    sel.removeAllRanges();
    if (!a || !b) return;
    setTriggerValue("selected", { start: a[0], startOffset: a[1], end: b[0], endOffset: b[1] });
  };
}
"""

_component = st.components.v2.component("labelkit.dialogue", html='<div class="lk-dialogue"></div>', css=_CSS, js=_JS)


# The conversation as data (no Streamlit)

def turns_of(obj: ObjectTag, data: dict) -> list[dict]:
    """The turns of a <Paragraphs> or <Chat> for a task: [{"author", "text"}], from the
    task's list (or an uploaded .json file with valueType="url")."""
    ref = obj.value
    found: Any = data.get(ref[1:]) if ref.startswith("$") else ref
    if isinstance(found, str) and obj.node.attrs.get("valueType", "").lower() == "url":
        try:
            found = json.loads(local.resolve(found.strip()).read_text(encoding="utf-8"))
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
    for index, turn in enumerate(turns):
        where = authors.index(turn["author"])
        shown.append({**turn, "right": where % 2 == 1, "color": PALETTE[where % len(PALETTE)], "marks": []})
    for region in found:
        color, label = rp.region_color(config, region, data), ", ".join(rg.label_names(region))
        for index, (start, end) in marks_of(turns, region["geometry"]).items():
            shown[index]["marks"].append({"id": region["id"], "start": start, "end": end, "color": color, "label": label})
    return shown


def _view(obj: ObjectTag, shown: list[dict], **more: Any) -> dict:
    return {"turns": shown, "bubbles": obj.node.attrs.get("layout", "") == "dialogue", **more}


class DialogueEditor(RegionPanel):
    """The regions of one <Paragraphs>, with the region panel beside it."""

    def __init__(self, config: LabelConfig, obj: ObjectTag, data: dict, prefix: str, disabled: bool,
                 shortcut=None) -> None:  # noqa: ANN001
        self.config, self.image, self.data, self.prefix = config, obj, data, prefix
        self.disabled = disabled
        self.shortcut = shortcut or (lambda hotkey: None)
        self.where = f"{prefix}:{obj.name}:"
        self.tools = rp.tools_for(config, obj.name)
        self.turns = turns_of(obj, data)

    def mine(self, region: dict) -> bool:
        return region["to_name"] == self.image.name

    def redraw(self) -> None:
        """Nothing to reload: the turns are drawn from the regions on every run."""

    def draw(self) -> None:
        tool = self.tools[0] if self.tools else None
        if tool is not None and not self.disabled:
            self.label_buttons(tool)
            st.caption("Select text in a turn (or across turns) to label it; click a turn's author to label the "
                       "whole turn; click a highlight to pick it in the list.")
        column, side = st.columns([3, 2]) if not self.disabled else (st.container(), None)
        shown = _turns_for_component(self.image, self.turns, self.config, self.data, self.regions)
        with column:
            _component(
                data=_view(self.image, shown, picked=st.session_state.get(f"{self.prefix}:selected"),
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
        label = st.session_state.get(f"{self.where}:label")
        region = {
            "id": region_id(), "to_name": self.image.name, "item_index": None, "shape": "offsets",
            "geometry": geometry, "tool": tool.name, "labels": {tool.name: [label]} if label else {},
            "attributes": {}, "origin": "manual",
        }
        self.store([*self.regions, region])
        st.session_state[f"{self.prefix}:selected"] = region["id"]

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
        chosen = (st.session_state.get(f"{self.where}dialogue") or {}).get("picked")
        if chosen:
            st.session_state[f"{self.prefix}:selected"] = chosen


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


def draw(renderer, node: Node) -> None:  # noqa: ANN001
    obj = renderer.config.objects.get(node.attrs.get("name", ""))
    if obj is None:
        return
    if obj.tag == "Chat":
        if renderer.objects:
            _chat(turns_of(obj, renderer.data))
        return
    if renderer.controls and rp.tools_for(renderer.config, obj.name):
        DialogueEditor(renderer.config, obj, renderer.data, renderer.prefix, renderer.disabled, renderer._shortcut).draw()
        return
    if renderer.objects:
        shown = _turns_for_component(obj, turns_of(obj, renderer.data), renderer.config, renderer.data, [])
        _component(data=_view(obj, shown, disabled=True), key=f"{renderer.prefix}:{obj.name}:dialogue")


def show(config: LabelConfig, obj: ObjectTag, data: dict, regions: list[dict]) -> None:
    """An annotation's regions highlighted in the conversation, read-only (review page)."""
    if obj.tag == "Chat":
        return
    shown = _turns_for_component(obj, turns_of(obj, data), config, data, regions)
    rp.show_once(_component, _view(obj, shown, disabled=True))
