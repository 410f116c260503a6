"""<Audio> and <AudioPlus>: the waveform player (labelkit.ui.waveform) in every mode, and
with <Labels> on the audio the segments people mark on it.

A drag on the waveform marks a segment with the current label, stored as Label Studio
stores it: type "labels", value {start, end (seconds, floats), channel, labels}, and the
audio's original_length. Segments may overlap; a click on one picks it in the list below
(relabel, per-region answers such as a transcription, delete) and plays it; its edges can
be dragged, or its start and end typed. The tag's defaultspeed, defaultzoom,
defaultvolume, height and hotkey (play/pause) are honoured."""

from __future__ import annotations

import hashlib
import json

import streamlit as st
from streamlit.errors import StreamlitDuplicateElementKey

from labelkit.config import LabelConfig, Node, ObjectTag
from labelkit.media import audio
from labelkit.results import regions as rg
from labelkit.ui import region_panel as rp
from labelkit.ui.media import image_source
from labelkit.ui.object_regions import ObjectEditor
from labelkit.ui.waveform import player


def draw(renderer, node: Node) -> None:
    """The audio of one <Audio>/<AudioPlus>: with its segment editor when the config puts
    <Labels> on it and the renderer draws controls, else the player alone."""
    obj = renderer.config.objects.get(node.attrs.get("name", ""))
    if obj is None:
        return
    value = renderer._resolve(obj.value)
    if renderer.controls and rp.tools_for(renderer.config, obj.name):
        SegmentEditor(renderer.config, obj, renderer.data, value, renderer.prefix, renderer.disabled,
                      renderer._shortcut).draw()
    elif renderer.objects:
        player(obj, value, [], key=f"{renderer.prefix}:{obj.name}:player")


def show(config: LabelConfig, obj: ObjectTag, data: dict, regions: list[dict]) -> None:
    """An annotation's segments on the waveform, read-only (review page): a click on a
    segment plays it."""
    ref = obj.value
    value = data.get(ref[1:]) if ref.startswith("$") else ref
    segments = _segments(config, [r for r in regions if r.get("shape") == "range"], data)
    digest = hashlib.sha1(json.dumps(segments, sort_keys=True).encode()).hexdigest()[:12]
    for copy in range(1, 10):  # the same segments twice on a page (an annotator's original beside a fix)
        try:
            player(obj, "" if value is None else str(value), segments, key=f"audio-show:{obj.name}:{digest}:{copy}")
            return
        except StreamlitDuplicateElementKey:
            continue


class SegmentEditor(ObjectEditor):
    """The segments of one <Audio>, with the region panel under the waveform."""

    def __init__(self, config: LabelConfig, obj: ObjectTag, data: dict, value: str, prefix: str, disabled: bool,
                 shortcut=None) -> None:
        super().__init__(config, obj, data, prefix, disabled, shortcut)
        self.value = value

    def draw(self) -> None:
        tool = self.tools[0] if self.tools else None
        if tool is not None and not self.disabled:
            self.label_buttons(tool)
            st.caption("Drag across the waveform to mark a segment with this label; click a segment to pick it "
                       "and hear it (then drag its edges to adjust it), click elsewhere to move the play cursor.")
        picked = self.picked
        editable = tool is not None and not self.disabled
        callbacks = {"on_drawn_change": self.add, "on_picked_change": self.pick, "on_moved_change": self.resize} if editable else {}
        player(self.obj, self.value, _segments(self.config, self.regions, self.data), key=f"{self.where}wave",
               picked=picked, editable=editable, **callbacks)
        if self.disabled:
            pass
        elif self.regions or st.session_state.get(f"{self.where}:removed"):
            self.bounds(picked)
            self.panel()
        else:  # the panel's own hint points at a text on the left; here the waveform is above
            st.markdown("**Regions** (0)")
            st.caption("Drag across the waveform above to add one.")
        self.relations()

    def add(self) -> None:
        drawn = (st.session_state.get(f"{self.where}wave") or {}).get("drawn")
        tool = self.tools[0] if self.tools else None
        if not drawn or tool is None:
            return
        label = st.session_state.get(f"{self.where}:label")
        owner = next((c for c in rp.label_controls(self.config, self.obj.name, tool)
                      if any(o.stored == label for o in c.options_for(self.data))), tool)
        region = audio.new_segment(self.obj.name, tool.name, owner.name, label, drawn["start"], drawn["end"],
                                   self.duration() or drawn.get("duration"))
        if region is not None:
            self.keep(region)

    def bounds(self, picked: str | None) -> None:
        """The picked segment's start and end, to set to the hundredth of a second."""
        region = next((r for r in self.regions if r["id"] == picked), None)
        if region is None:
            return
        row = st.container(horizontal=True, vertical_alignment="bottom")
        for end in ("start", "end"):
            key = f"{self.where}:{end}:{region['id']}"
            st.session_state[key] = float(region["geometry"][end])
            title = "Picked segment: start (s)" if end == "start" else "end (s)"
            row.number_input(title, key=key, min_value=0.0, step=0.05, format="%.2f", width=200,
                             on_change=self.move, args=(region["id"],))

    def duration(self) -> float | None:
        """The audio's length in seconds where it is read here (a local WAV)."""
        source = image_source(self.value)
        wave = audio.waveform(source) if source is not None and not isinstance(source, str) else None
        return wave.duration if wave else None

    def move(self, picked: str) -> None:
        """The picked segment's start or end typed in."""
        start, end = (st.session_state.get(f"{self.where}:{e}:{picked}") for e in ("start", "end"))
        self.reshape(picked, start, end)

    def resize(self) -> None:
        """An edge of the picked segment dragged on the waveform."""
        moved = (st.session_state.get(f"{self.where}wave") or {}).get("moved")
        if moved:
            self.reshape(moved["id"], moved["start"], moved["end"], moved.get("duration"))

    def reshape(self, picked: str, start: float | None, end: float | None, seen: float | None = None) -> None:
        region = next((r for r in self.regions if r["id"] == picked), {})
        length = self.duration() or region.get("original_length") or seen
        geometry = audio.segment(start, end, length) if None not in (start, end) else None
        if geometry is None:
            st.toast("A segment needs an end after its start, inside the audio.")
            return
        regions = self.regions
        for region in regions:
            if region["id"] == picked:
                region["geometry"] = {**region["geometry"], **geometry}
        self.store(regions)

    def pick(self) -> None:
        self.pick_from(f"{self.where}wave")


def _segments(config: LabelConfig, regions: list[dict], data: dict) -> list[dict]:
    """What the waveform draws of each region: its span in seconds, colour and labels."""
    return [
        {"id": r["id"], "start": float(r["geometry"].get("start") or 0), "end": float(r["geometry"].get("end") or 0),
         "label": ", ".join(rg.label_names(r)) or "no label", "color": rp.region_color(config, r, data)}
        for r in regions
    ]
