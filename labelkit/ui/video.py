"""A <Video>: a player of our own (play, pause, a frame back or forward, speed, a timeline
to seek on), and on it Label Studio's video regions:

- TimelineLabels: drag along the timeline's labeling lane (or mark start and end at the
  current frame) to label a range of frames: {"ranges": [{start, end}], "timelinelabels"}.
- VideoRectangle with <Labels>: pause, drag a box over the frame to start a track with a
  keyframe there; on another frame move the box (drag it) or resize it (its corner) for
  another keyframe; frames between keyframes are interpolated; "End track here" turns the
  track off at a frame: {framesCount, duration, sequence, labels}.

Streamlit has no video widget that reports frames or takes drawings, so this is a small
component of our own (plain JavaScript on components v2, no build step). Labels reach the
page as text only. Frame arithmetic and interpolation are in labelkit.media.video; the player
repeats the interpolation to draw boxes while it plays."""

from __future__ import annotations

from typing import Any

import streamlit as st

from labelkit.config import ControlTag, LabelConfig, Node, ObjectTag
from labelkit.config.parser import truthy
from labelkit.media import video as vd
from labelkit.results import regions as rg
from labelkit.ui import canvas_shapes as cs
from labelkit.ui import region_panel as rp
from labelkit.ui.components import component
from labelkit.ui.media import browser_url, image_source
from labelkit.ui.object_regions import ObjectEditor

_component = component("video", '<div class="lk-video"></div>')


def _video_value(data: dict, obj: ObjectTag) -> str:
    ref = obj.value
    found = data.get(ref[1:]) if ref.startswith("$") else ref
    return "" if found is None else str(found)


def _source(value: str) -> str | None:
    """The URL the browser plays, or None where there is no page URL (AppTest)."""
    try:
        url = st.context.url
    except Exception:  # noqa: BLE001 - no request context
        url = None
    return browser_url(value, url)


def _muted(video: ObjectTag) -> bool:
    """Label Studio plays a video's sound unless muted="true"."""
    return truthy(video.node.attrs.get("muted"))


def _fallback(value: str) -> None:
    source = image_source(value)
    if source is None:
        st.warning(f"The video {value!r} cannot be played here.", icon=":material/videocam_off:")
    else:
        st.video(str(source))


def _tracks(config: LabelConfig, found: list[dict], data: dict) -> list[dict]:
    return [
        {"id": r["id"], "label": ", ".join(rg.label_names(r)), "color": rp.region_color(config, r, data),
         "sequence": r["geometry"].get("sequence") or []}
        for r in found if r["shape"] == "videorectangle"
    ]


def _ranges(config: LabelConfig, found: list[dict], data: dict) -> list[dict]:
    return [
        {"id": r["id"], "label": ", ".join(rg.label_names(r)), "color": rp.region_color(config, r, data),
         "ranges": r["geometry"].get("ranges") or []}
        for r in found if r["shape"] == "timeline"
    ]


def first_frame(region: dict) -> int | None:
    """Where a region starts: its first range or keyframe (the player goes there when it
    is picked)."""
    geometry = region.get("geometry") or {}
    frames = [r.get("start") for r in geometry.get("ranges") or []] + [k.get("frame") for k in geometry.get("sequence") or []]
    frames = [f for f in frames if isinstance(f, int)]
    return min(frames) if frames else None


class VideoEditor(ObjectEditor):
    """The regions of one <Video>, with the region panel beside the player."""

    def __init__(self, config: LabelConfig, video: ObjectTag, data: dict, prefix: str, disabled: bool,
                 shortcut=None) -> None:
        super().__init__(config, video, data, prefix, disabled, shortcut)
        self.rate = vd.frame_rate(video.node.attrs)

    def tool(self) -> ControlTag | None:
        """The tool new regions are made with: the only one, or the one picked above the
        player (boxes or timeline ranges)."""
        if len(self.tools) <= 1 or self.disabled:
            return self.tools[0] if self.tools else None
        names = {t.name: ("Boxes" if t.tag == "VideoRectangle" else "Timeline ranges") for t in self.tools}
        key = f"{self.where}:tool"
        if st.session_state.get(key) not in names:
            st.session_state[key] = self.tools[0].name
        st.segmented_control("Draw", list(names), format_func=names.get, key=key)
        return next((t for t in self.tools if t.name == st.session_state.get(key)), self.tools[0])

    def draw(self, url: str | None, value: str) -> None:
        tool = self.tool()
        if tool is not None and not self.disabled:
            self.label_buttons(tool)
        label = st.session_state.get(f"{self.where}:label") if tool is not None else None
        if url is None:
            _fallback(value)
        player, side = st.columns([3, 1]) if not self.disabled else (st.container(), None)
        if side is not None:  # the list first: until its radio is drawn in a run, the pick in session state is
            with side:        # the label the browser sent, not the region's id
                self.panel()
        picked = self.picked
        mine = self.regions
        chosen = next((r for r in mine if r["id"] == picked), None)
        drawing = tool is not None and tool.tag == "VideoRectangle"
        timeline = tool is not None and tool.tag == "TimelineLabels"
        hint = ""
        if drawing and not self.disabled:
            hint = ("Pause, then drag over the frame to start a track. On another frame, drag the box (or its "
                    "corner) to add a keyframe; the frames between follow it. Click the player, then ← → step "
                    "a frame.")
        elif timeline and not self.disabled:
            hint = ("Drag along the labeling lane under the video to label those frames (a click labels one). "
                    "Click the player, then ← → step a frame.")
        with player:
            if url is not None:
                _component(
                    data={"src": url, "rate": self.rate, "muted": _muted(self.obj), "tracks": _tracks(self.config, mine, self.data),
                          "ranges": _ranges(self.config, mine, self.data), "picked": picked,
                          "start": first_frame(chosen) if chosen else None, "disabled": self.disabled,
                          "drawing": drawing, "timeline": timeline, "label": label or "",
                          "color": rp.label_color(self.config, self.obj.name, label, self.data), "hint": hint},
                    key=f"{self.where}player",
                    on_box_change=self.box, on_range_change=self.range, on_picked_change=self.pick,
                    on_toggle_change=self.toggle, on_unkey_change=self.unkey, on_span_change=self.span,
                )
        self.relations()

    # Events from the player

    def _event(self, name: str) -> dict[str, Any] | None:
        found = (st.session_state.get(f"{self.where}player") or {}).get(name)
        return found if isinstance(found, dict) else None

    def _label_of(self, tool: ControlTag) -> dict[str, list[str]]:
        """The current label, under the control it belongs to."""
        label = st.session_state.get(f"{self.where}:label")
        for control in rp.label_controls(self.config, self.obj.name, tool):
            if label in [o.stored for o in control.options_for(self.data)]:
                return {control.name: [label]}
        return {}

    def _sized(self, geometry: dict, event: dict) -> dict:
        count, duration = event.get("framesCount"), event.get("duration")
        if isinstance(count, int | float) and count > 0:
            geometry["framesCount"] = int(count)
        if isinstance(duration, int | float) and duration > 0:
            geometry["duration"] = float(duration)
        return geometry

    def box(self) -> None:
        event = self._event("box")
        tool = next((t for t in self.tools if t.tag == "VideoRectangle"), None)
        if event is None or tool is None:
            return
        frame = int(event["frame"])
        regions = self.regions
        track = next((r for r in regions if r["id"] == event.get("id")), None)
        if track is None:
            track = self.new_region("videorectangle", {"framesCount": 0, "duration": 0.0, "sequence": []}, tool,
                                    self._label_of(tool))
            regions.append(track)
        else:
            track["origin"] = cs.changed_origin(track)
        geometry = dict(track["geometry"])
        geometry["sequence"] = vd.set_keyframe(geometry.get("sequence") or [], frame, event, self.rate)
        track["geometry"] = self._sized(geometry, event)
        self.store(regions)
        self.select(track["id"])

    def range(self) -> None:
        event = self._event("range")
        tool = next((t for t in self.tools if t.tag == "TimelineLabels"), None)
        if event is None or tool is None:
            return
        count = int(event.get("framesCount") or max(int(event["start"]), int(event["end"])))
        start, end = vd.clamp_range(int(event["start"]), int(event["end"]), count)
        self.keep(self.new_region("timeline", {"ranges": [{"start": start, "end": end}]}, tool, self._label_of(tool)))

    def span(self) -> None:
        """A range's start or end dragged along the timeline."""
        event = self._event("span")
        if event is None:
            return
        regions = self.regions
        for region in regions:
            ranges = list(region["geometry"].get("ranges") or [])
            index = int(event.get("index") or 0)
            if region["id"] == event.get("id") and region["shape"] == "timeline" and 0 <= index < len(ranges):
                count = int(event.get("framesCount") or max(int(event["start"]), int(event["end"])))
                start, end = vd.clamp_range(int(event["start"]), int(event["end"]), count)
                ranges[index] = {"start": start, "end": end}
                region["geometry"] = {**region["geometry"], "ranges": ranges}
                region["origin"] = cs.changed_origin(region)
        self.store(regions)

    def _change_track(self, name: str, change) -> None:
        event = self._event(name)
        if event is None:
            return
        regions = self.regions
        for region in regions:
            if region["id"] == event.get("id") and region["shape"] == "videorectangle":
                geometry = dict(region["geometry"])
                geometry["sequence"] = change(geometry.get("sequence") or [], int(event["frame"]))
                region["geometry"] = self._sized(geometry, event)
                region["origin"] = cs.changed_origin(region)
        self.store(regions)

    def toggle(self) -> None:
        self._change_track("toggle", lambda seq, frame: vd.toggle_track(seq, frame, self.rate))

    def unkey(self) -> None:
        self._change_track("unkey", vd.remove_keyframe)

    def pick(self) -> None:
        event = self._event("picked")
        if event and event.get("id"):
            self.select(event["id"])


def draw(renderer, node: Node) -> None:
    """A <Video> in a task view: the player always; with the controls, its region editor
    (also when the object itself is not drawn, as on a reviewer's fix)."""
    video = renderer.config.objects.get(node.attrs.get("name", ""))
    if video is None:
        return
    value = _video_value(renderer.data, video)
    url = _source(value)
    has_tools = bool(rp.tools_for(renderer.config, video.name))
    if renderer.controls and has_tools:
        VideoEditor(renderer.config, video, renderer.data, renderer.prefix, renderer.disabled,
                    renderer._shortcut).draw(url, value)
        return
    if not renderer.objects:
        return
    if url is None:
        _fallback(value)
        return
    _component(
        data={"src": url, "rate": vd.frame_rate(video.node.attrs), "muted": _muted(video), "tracks": [], "ranges": [], "picked": None,
              "start": None, "disabled": True, "drawing": False, "timeline": False, "label": "", "hint": ""},
        key=f"{renderer.prefix}:{video.name}:player",
    )


def show(config: LabelConfig, video: ObjectTag, data: dict, found: list[dict]) -> None:
    """An annotation's tracks and timeline ranges on its video, read-only (review page)."""
    value = _video_value(data, video)
    url = _source(value)
    mine = [r for r in found if r["shape"] in ("timeline", "videorectangle")]
    if url is None:
        return
    rp.show_once(_component, {"src": url, "rate": vd.frame_rate(video.node.attrs), "muted": True, "tracks": _tracks(config, mine, data),
                              "ranges": _ranges(config, mine, data), "picked": None, "start": None, "disabled": True,
                              "drawing": False, "timeline": False, "label": "", "hint": ""})
