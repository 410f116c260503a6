"""The audio player of <Audio>/<AudioPlus>: a small component of our own (plain JavaScript
on Streamlit's components v2, no build step) with an <audio> element for playback and a
canvas with the waveform: peaks of a WAV file read on the server by labelkit.media.audio, other
files decoded in the browser with WebAudio. A cursor follows playback; a click seeks;
playback speed and zoom; segments drawn in their label's colour (label names as canvas
text, never HTML). Where editing is on, a drag marks a new segment ("drawn"), a click on
a segment picks it and plays it ("picked"), and a drag on an edge of the picked segment
adjusts it ("moved"); labelkit.ui.audio turns those into regions."""

from __future__ import annotations

import streamlit as st

from labelkit.config import ObjectTag
from labelkit.media import audio
from labelkit.ui.components import component
from labelkit.ui.media import browser_url, image_source

SPEEDS = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0)
ZOOMS = (1, 2, 4, 8, 16)

_HTML = """
<div class="lk-audio">
  <div class="lk-bar">
    <button type="button" class="lk-play" title="Play / pause">▶ Play</button>
    <span class="lk-time">0:00.0 / –</span>
    <span class="lk-gap"></span>
    <label>Speed <select class="lk-speed"></select></label>
    <label>Zoom <select class="lk-zoom"></select></label>
  </div>
  <div class="lk-scroll"><canvas class="lk-wave"></canvas></div>
  <audio class="lk-player" preload="auto"></audio>
</div>
"""


_component = component("audio", _HTML)


def player(obj: ObjectTag, value: str, segments: list[dict], key: str, picked: str | None = None,
           editable: bool = False, **callbacks) -> dict | None:
    """The waveform player for a task's audio value; where the browser cannot fetch it
    (no page URL, as in tests), Streamlit's own player plays the local file."""
    source = image_source(value)
    url = browser_url(value, st.context.url)
    if source is None and url is None:
        st.warning(f"The audio {value!r} cannot be shown here.", icon=":material/music_off:")
        return None
    wave = audio.waveform(source) if source is not None and not isinstance(source, str) else None
    attrs = obj.node.attrs
    data = {
        "url": url, "duration": wave.duration if wave else None, "peaks": list(wave.peaks) if wave else None,
        "segments": segments, "picked": picked, "editable": editable, "readonly": not callbacks,
        "height": _number(attrs.get("height"), 96, 40, 400), "volume": _number(attrs.get("defaultvolume"), 1.0, 0.0, 1.0),
        "speeds": list(SPEEDS), "speed": _nearest(SPEEDS, _number(attrs.get("defaultspeed"), 1.0, 0.5, 2.0)),
        "zooms": list(ZOOMS), "zoom": _nearest(ZOOMS, _number(attrs.get("defaultzoom"), 1, 1, 16)),
        "hotkey": _hotkey(attrs.get("hotkey")),
    }
    found = _component(data=data, key=key, **callbacks)
    if url is None and source is not None:
        st.audio(str(source))
    return found


def _number(text: str | None, default: float, low: float, high: float) -> float:
    try:
        found = float(text) if text not in (None, "") else default
    except ValueError:
        found = default
    return min(high, max(low, found))


def _nearest(choices: tuple, value: float):
    return min(choices, key=lambda c: abs(c - value))


def _hotkey(text: str | None) -> str | None:
    """The tag's play/pause hotkey ("space", "ctrl+p"...), unless it is the submit shortcut."""
    key = (text or "").strip().lower().replace(" ", "")
    return None if not key or key in ("ctrl+enter", "meta+enter") else key
