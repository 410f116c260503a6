"""Audio for labeling: the waveform of a WAV file (its length and a peak per slice, read
with the stdlib `wave` module, so the browser need not decode it), and the segments people
mark on it, kept as Label Studio keeps them (seconds as floats, channel 0)."""

from __future__ import annotations

import wave
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from labelkit.results.regions import region_id

PEAKS = 1600  # slices of the waveform: enough for a wide screen at 2x zoom, small to send
SHORTEST = 0.05  # seconds; a shorter drag is a click, not a segment
_DTYPES = {1: np.uint8, 2: np.int16, 4: np.int32}


@dataclass(frozen=True)
class Waveform:
    duration: float  # seconds
    peaks: tuple[float, ...]  # the loudest sample of each slice, 0..1 of the loudest overall


def waveform(path: Path) -> Waveform | None:
    """The waveform of a PCM WAV file; None for anything else (the browser decodes it)."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return _read(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=64)
def _read(path: str, mtime: int, size: int) -> Waveform | None:
    """Cached by path and the file's version (mtime, size), so a replaced file is read again."""
    try:
        with wave.open(path, "rb") as wav:
            rate, width, channels, frames = wav.getframerate(), wav.getsampwidth(), wav.getnchannels(), wav.getnframes()
            raw = wav.readframes(frames)
    except (wave.Error, EOFError, OSError):
        return None
    if rate <= 0 or channels <= 0:
        return None
    samples = _samples(raw, width)
    if samples is None:
        return None
    samples = np.abs(samples[: len(samples) - len(samples) % channels].reshape(-1, channels)).max(axis=1)
    duration = len(samples) / rate
    return Waveform(duration=round(duration, 6), peaks=peaks(samples))


def _samples(raw: bytes, width: int) -> np.ndarray | None:
    """Signed samples as floats, whatever their width (8-bit WAV is unsigned)."""
    if width == 3:  # 24-bit: pad each sample to 32 bits
        triples = np.frombuffer(raw[: len(raw) - len(raw) % 3], dtype=np.uint8).reshape(-1, 3)
        padded = np.zeros((len(triples), 4), dtype=np.uint8)
        padded[:, 1:] = triples
        return padded.view("<i4").ravel().astype(np.float64)
    dtype = _DTYPES.get(width)
    if dtype is None:
        return None
    found = np.frombuffer(raw[: len(raw) - len(raw) % width], dtype=np.dtype(dtype).newbyteorder("<")).astype(np.float64)
    return found - 128 if width == 1 else found


def peaks(levels: np.ndarray, count: int = PEAKS) -> tuple[float, ...]:
    """The loudest level in each of `count` slices, scaled so the loudest is 1."""
    if len(levels) == 0:
        return ()
    count = min(count, len(levels))
    edges = np.linspace(0, len(levels), count + 1).astype(int)
    loudest = np.maximum.reduceat(levels, edges[:-1])
    top = float(loudest.max())
    if top <= 0:
        return tuple(0.0 for _ in range(count))
    return tuple(round(float(v) / top, 3) for v in loudest)


def segment(start: float, end: float, duration: float | None = None) -> dict | None:
    """A segment's geometry as Label Studio stores it ({start, end, channel}, seconds as
    floats, to the millisecond), from a drag in either direction; None when it is shorter
    than SHORTEST once kept within the audio."""
    start, end = sorted((float(start), float(end)))
    start = max(0.0, start)
    if duration:
        end = min(end, float(duration))
    start, end = round(start, 3), round(end, 3)
    if end - start < SHORTEST:
        return None
    return {"start": start, "end": end, "channel": 0}


def new_segment(to_name: str, tool: str, label_control: str | None, label: str | None, start: float, end: float,
                duration: float | None = None) -> dict | None:
    """A segment marked on an audio object, as the UI keeps regions (labelkit.results.regions):
    shape "range", its seconds, its label, and the audio's length (Label Studio's
    original_length) when known; None when the drag was too short."""
    geometry = segment(start, end, duration)
    if geometry is None:
        return None
    region = {
        "id": region_id(), "to_name": to_name, "item_index": None, "shape": "range", "geometry": geometry,
        "tool": tool, "labels": {label_control: [label]} if label and label_control else {}, "attributes": {},
        "origin": "manual",
    }
    if duration:
        region["original_length"] = round(float(duration), 6)
    return region

