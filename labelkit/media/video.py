"""Frames of a video the way Label Studio counts them, and its tracked boxes between
keyframes. Pure functions: no Streamlit, no browser.

Label Studio numbers frames from 1 at the <Video>'s frameRate (24 unless set). A tracked
box (VideoRectangle) is a sequence of keyframes {frame, enabled, rotation, x, y, width,
height, time} in percent of the frame, with time = frame / frameRate (frame 1 at 24 fps is
0.0417 s). Between a keyframe and the next one the box moves linearly; after an enabled
last keyframe it stays where it is; a keyframe with enabled false still shows its box on
its own frame and ends the track there (until a later keyframe starts it again).
TimelineLabels ranges are inclusive {start, end} frames.
"""

from __future__ import annotations

import math
from typing import Any

DEFAULT_FRAME_RATE = 24.0
BOX_KEYS = ("x", "y", "width", "height", "rotation")


def frame_rate(attrs: dict[str, str]) -> float:
    """The <Video>'s frameRate ("frameRate" or "framerate"; 24 when missing or not a number)."""
    raw = attrs.get("frameRate") or attrs.get("framerate") or ""
    try:
        rate = float(raw)
    except ValueError:
        return DEFAULT_FRAME_RATE
    return rate if math.isfinite(rate) and rate > 0 else DEFAULT_FRAME_RATE


def frames_count(duration: float, rate: float) -> int:
    """How many frames a video of this many seconds has (a started frame counts)."""
    if duration <= 0:
        return 1
    return max(1, math.ceil(round(duration * rate, 6)))


def frame_at(seconds: float, rate: float, count: int | None = None) -> int:
    """The frame (from 1) shown at this playback time."""
    frame = math.floor(round(max(0.0, seconds) * rate, 6)) + 1
    return min(frame, count) if count else frame


def seek_time(frame: int, rate: float) -> float:
    """A playback time that shows this frame: the middle of it, so rounding in the
    browser cannot land on its neighbour."""
    return (max(1, frame) - 0.5) / rate


def keyframe_time(frame: int, rate: float) -> float:
    """The "time" Label Studio stores with a keyframe."""
    return frame / rate


def keyframe(frame: int, box: dict[str, Any], rate: float, enabled: bool = True) -> dict[str, Any]:
    """One entry of a VideoRectangle's sequence, in Label Studio's key order."""
    return {
        "frame": int(frame), "enabled": bool(enabled), "rotation": float(box.get("rotation") or 0),
        "x": float(box["x"]), "y": float(box["y"]), "width": float(box["width"]), "height": float(box["height"]),
        "time": keyframe_time(frame, rate),
    }


def _sorted(sequence: list[dict]) -> list[dict]:
    return sorted((k for k in sequence or [] if isinstance(k, dict) and "frame" in k), key=lambda k: k["frame"])


def box_at(sequence: list[dict], frame: int) -> dict[str, Any] | None:
    """The box of a track at this frame ({x, y, width, height, rotation, keyframe}), or None
    when the track is not on it. keyframe says whether the frame is one of the sequence's."""
    keys = _sorted(sequence)
    before = [k for k in keys if k["frame"] <= frame]
    if not before:
        return None
    prev = before[-1]
    if prev["frame"] == frame:
        return {**{k: float(prev.get(k) or 0) for k in BOX_KEYS}, "keyframe": True}
    if not prev.get("enabled", True):
        return None
    after = [k for k in keys if k["frame"] > frame]
    if not after:
        return {**{k: float(prev.get(k) or 0) for k in BOX_KEYS}, "keyframe": False}
    nxt = after[0]
    share = (frame - prev["frame"]) / (nxt["frame"] - prev["frame"])
    box = {k: float(prev.get(k) or 0) + (float(nxt.get(k) or 0) - float(prev.get(k) or 0)) * share for k in BOX_KEYS}
    return {**box, "keyframe": False}


def set_keyframe(sequence: list[dict], frame: int, box: dict[str, Any], rate: float,
                 enabled: bool | None = None) -> list[dict]:
    """The sequence with a keyframe at this frame holding this box (an existing keyframe
    there keeps its enabled unless told)."""
    keys = _sorted(sequence)
    old = next((k for k in keys if k["frame"] == frame), None)
    if enabled is None:
        enabled = bool(old.get("enabled", True)) if old else True
    keys = [k for k in keys if k["frame"] != frame] + [keyframe(frame, box, rate, enabled)]
    return _sorted(keys)


def toggle_track(sequence: list[dict], frame: int, rate: float) -> list[dict]:
    """Turn the track off at this frame (it ends here) or back on: the keyframe here flips
    its enabled; where there is none, one is made from the box shown on this frame."""
    box = box_at(sequence, frame)
    old = next((k for k in _sorted(sequence) if k["frame"] == frame), None)
    if old is not None:
        return set_keyframe(sequence, frame, old, rate, enabled=not old.get("enabled", True))
    if box is None:  # off here: start it again from where it last was
        before = [k for k in _sorted(sequence) if k["frame"] < frame]
        if not before:
            return _sorted(sequence)
        return set_keyframe(sequence, frame, before[-1], rate, enabled=True)
    return set_keyframe(sequence, frame, box, rate, enabled=False)


def remove_keyframe(sequence: list[dict], frame: int) -> list[dict]:
    """The sequence without the keyframe at this frame (a track keeps at least one)."""
    keys = _sorted(sequence)
    rest = [k for k in keys if k["frame"] != frame]
    return rest or keys


def visible_spans(sequence: list[dict], count: int) -> list[tuple[int, int]]:
    """The inclusive frame spans on which a track shows a box (for its bar on a timeline)."""
    keys = _sorted(sequence)
    spans: list[tuple[int, int]] = []
    for n, key in enumerate(keys):
        end = key["frame"]
        if key.get("enabled", True):
            end = keys[n + 1]["frame"] if n + 1 < len(keys) else max(count, key["frame"])
        if spans and spans[-1][1] >= key["frame"]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], end))
        else:
            spans.append((key["frame"], end))
    return spans


def clamp_range(start: int, end: int, count: int) -> tuple[int, int]:
    """A timeline range in order and inside the video (frames 1..count)."""
    low, high = sorted((int(start), int(end)))
    return max(1, min(low, count)), max(1, min(high, count))
