"""Audio: Label Studio's audio results read and written back unchanged (segments with
their labels, per-segment transcriptions and choices, whole-file answers), the waveform
read from WAV files, and the segment a drag on it makes."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from labelkit.config import parse_config
from labelkit.config.templates import TEMPLATES, template
from labelkit.media import audio
from labelkit.results import regions
from labelkit.results.items import REGIONS, build_result, values_of

SAMPLES = Path(__file__).resolve().parents[2] / "labelkit" / "samples"


def item(id_: str, from_name: str, kind: str, value: dict, to_name: str = "audio", length: float | None = None) -> dict:
    found = {"id": id_, "from_name": from_name, "to_name": to_name, "type": kind, "value": value, "origin": "manual"}
    if length is not None:  # Label Studio writes the audio's length on each item of a segment
        found["original_length"] = length
    return found


# Label Studio's results, as its export writes them

def test_diarization_segments_with_transcripts_round_trip_in_label_studio_shape() -> None:
    config = parse_config(template("speaker-diarization").config)
    result = [
        item("wvZ1a2b3c4", "speaker", "labels", {"start": 0.412, "end": 2.05, "channel": 0, "labels": ["Speaker 1"]},
             length=98.719925),
        item("wvZ1a2b3c4", "transcription", "textarea", {"start": 0.412, "end": 2.05, "channel": 0,
                                                          "text": ["good morning"]}, length=98.719925),
        item("Qx9Yy8Ww7v", "speaker", "labels", {"start": 1.5, "end": 3.75, "channel": 0, "labels": ["Speaker 2"]},
             length=98.719925),
        item("Qx9Yy8Ww7v", "transcription", "textarea", {"start": 1.5, "end": 3.75, "channel": 0,
                                                          "text": ["hello, who is this?"]}, length=98.719925),
    ]
    values = values_of(result, config)
    first, second = values[REGIONS]
    assert (first["shape"], first["geometry"]) == ("range", {"start": 0.412, "end": 2.05, "channel": 0})
    assert first["attributes"] == {"transcription": "good morning"}
    assert second["labels"] == {"speaker": ["Speaker 2"]}  # overlapping segments stay two regions
    assert build_result(config, values) == result


def test_per_segment_choices_and_a_segment_left_unanswered_round_trip() -> None:
    config = parse_config(template("audio-intent").config)
    result = [
        item("a1", "utterance", "labels", {"start": 0.0, "end": 1.25, "channel": 0, "labels": ["Utterance"]}),
        item("a1", "emotion", "choices", {"start": 0.0, "end": 1.25, "channel": 0, "choices": ["Happy"]}),
        item("a1", "intent", "choices", {"start": 0.0, "end": 1.25, "channel": 0, "choices": ["Question"]}),
        item("b2", "utterance", "labels", {"start": 4.5, "end": 6.0, "channel": 0, "labels": ["Utterance"]}),
    ]
    values = values_of(result, config)
    assert [r["attributes"] for r in values[REGIONS]] == [{"emotion": ["Happy"], "intent": ["Question"]}, {}]
    assert build_result(config, values) == result
    assert regions.missing_per_region(config, values[REGIONS]) == ["emotion (region 2)"]


def test_whole_file_answers_on_the_audio_round_trip() -> None:
    config = parse_config(template("audio-classification").config)
    result = [item("c1", "category", "choices", {"choices": ["Speech"]})]
    assert build_result(config, values_of(result, config), previous=result) == result
    config = parse_config(template("speech-transcription").config)
    result = [item("t1", "transcription", "textarea", {"text": ["two people talk about the weather"]})]
    assert build_result(config, values_of(result, config), previous=result) == result


def test_a_segment_the_editor_makes_is_stored_as_label_studio_stores_one() -> None:
    config = parse_config(template("speaker-diarization").config)
    region = audio.new_segment("audio", "speaker", "speaker", "Noise", 3.2, 1.0, duration=8.0)  # dragged right to left
    region["attributes"] = {"transcription": "a door"}
    labels, text = build_result(config, {REGIONS: [region]})
    assert labels == item(region["id"], "speaker", "labels", {"start": 1.0, "end": 3.2, "channel": 0, "labels": ["Noise"]},
                          length=8.0)
    assert text == item(region["id"], "transcription", "textarea", {"start": 1.0, "end": 3.2, "channel": 0,
                                                                    "text": ["a door"]}, length=8.0)
    assert all(isinstance(labels["value"][k], float) for k in ("start", "end"))
    assert len(region["id"]) == 10  # Label Studio's ids


def test_a_segment_without_a_label_or_a_known_length_is_still_a_segment() -> None:
    region = audio.new_segment("audio", "speaker", None, None, 0.5, 1.5)
    assert region["labels"] == {} and "original_length" not in region
    assert audio.new_segment("audio", "speaker", "speaker", "Noise", 1.0, 1.01, duration=8.0) is None  # a click


# A drag on the waveform

@pytest.mark.parametrize(("start", "end", "duration", "expected"), [
    (1.0, 2.5, 8.0, {"start": 1.0, "end": 2.5, "channel": 0}),
    (2.5, 1.0, 8.0, {"start": 1.0, "end": 2.5, "channel": 0}),  # right to left
    (-0.3, 0.8, 8.0, {"start": 0.0, "end": 0.8, "channel": 0}),  # past the start
    (7.5, 9.0, 8.0, {"start": 7.5, "end": 8.0, "channel": 0}),  # past the end
    (1.23456, 2.34567, None, {"start": 1.235, "end": 2.346, "channel": 0}),  # to the millisecond
    (3, 5, 8, {"start": 3.0, "end": 5.0, "channel": 0}),  # seconds are floats, as Label Studio writes them
    (2.0, 2.02, 8.0, None),  # a click, not a segment
    (8.5, 9.0, 8.0, None),  # nothing left inside the audio
])
def test_a_drag_becomes_a_segment_within_the_audio(start, end, duration, expected) -> None:
    found = audio.segment(start, end, duration)
    assert found == expected
    if found:
        assert all(type(found[k]) is float for k in ("start", "end"))


# The waveform of a WAV file

def write_wav(path: Path, samples: np.ndarray, rate: int = 8000, width: int = 2, channels: int = 1) -> Path:
    scaled = {1: (samples * 127 + 128).astype(np.uint8).tobytes(),
              2: (samples * 32767).astype("<i2").tobytes(),
              3: b"".join(int(v).to_bytes(3, "little", signed=True) for v in samples * 8_388_607),
              4: (samples * 2_147_483_647).astype("<i4").tobytes()}[width]
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(scaled)
    return path


@pytest.mark.parametrize("width", [1, 2, 3, 4])
def test_the_waveform_shows_where_the_sound_is(tmp_path: Path, width: int) -> None:
    rate = 8000
    tone = 0.5 * np.sin(2 * np.pi * 440 * np.arange(rate) / rate)
    samples = np.concatenate([np.zeros(rate), tone, np.zeros(2 * rate)])  # 1 s quiet, 1 s tone, 2 s quiet
    found = audio.waveform(write_wav(tmp_path / f"w{width}.wav", samples, rate, width))
    assert found is not None and found.duration == pytest.approx(4.0)
    assert len(found.peaks) == audio.PEAKS and max(found.peaks) == 1.0
    quarter = len(found.peaks) // 4
    loud = found.peaks[quarter + 5 : 2 * quarter - 5]
    assert min(loud) > 0.9
    assert max(found.peaks[: quarter - 5] + found.peaks[2 * quarter + 5 :]) < 0.05


def test_a_stereo_file_shows_the_louder_channel_and_lasts_as_long_as_its_frames(tmp_path: Path) -> None:
    rate = 8000
    left = np.zeros(rate)
    right = np.concatenate([np.zeros(rate // 2), 0.8 * np.ones(rate // 2)])
    found = audio.waveform(write_wav(tmp_path / "s.wav", np.column_stack([left, right]).ravel(), rate, 2, channels=2))
    assert found.duration == pytest.approx(1.0)
    assert found.peaks[0] == 0.0 and found.peaks[-1] == 1.0


def test_files_that_are_not_wav_are_left_to_the_browser(tmp_path: Path) -> None:
    mp3 = tmp_path / "song.mp3"
    mp3.write_bytes(b"ID3\x03\x00" + bytes(200))
    assert audio.waveform(mp3) is None
    assert audio.waveform(tmp_path / "missing.wav") is None


def test_the_audio_templates_use_small_bundled_wavs_with_room_for_segments() -> None:
    audio_templates = [t for t in TEMPLATES if t.group == "Audio"]
    assert len(audio_templates) >= 6
    for t in audio_templates:
        path = SAMPLES / t.sample["audio"].removeprefix("/data/upload/samples/")
        assert path.stat().st_size < 300_000, path
        found = audio.waveform(path)
        assert found is not None and 3.0 <= found.duration <= 15.0, path
        assert min(found.peaks) < 0.05 and max(found.peaks) > 0.5  # silences between the sounds
