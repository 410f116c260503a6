"""ASR manifest, as NVIDIA NeMo trains on it (https://docs.nvidia.com/nemo-framework/user-guide/latest/nemotoolkit/asr/datasets.html):
JSON lines, one per utterance,

    {"audio_filepath": "/data/upload/3/a.wav", "duration": 4.2, "text": "hello there",
     "annotator": "ann@example.com"}

from a <TextArea> on an <Audio>: a per-task transcription gives one line for the whole
file; a per-region one (perRegion="true", on segments of the audio) gives a line per
segment with "offset" (its start, seconds) and "duration" (its length), as NeMo reads a
segment of a longer file. audio_filepath is the task's audio as it is stored (an upload
here, a URL...): point it at your copy of the files. "annotator" (the email, as Label
Studio's manifest has it) is ignored by NeMo. A whole file's duration comes from
the result (Label Studio's original_length of its segments) or, for an uploaded WAV, its
header; when neither tells it is null (NeMo needs it: fill it in, e.g. with soundfile).
Several texts of one TextArea are joined with a space. One annotation per labeled task:
the accepted one, else the answer most annotators gave, else the latest; a task without
one is left out.
"""

from __future__ import annotations

import json
import wave
from collections.abc import Iterator
from typing import BinaryIO

from labelkit.config import LabelConfig, ObjectTag
from labelkit.errors import LabelkitError
from labelkit.exporters.base import ExportContext, ExportedTask, Exporter
from labelkit.exporters.spans import chosen
from labelkit.results.regions import regions_of
from labelkit.storage import local

AUDIO_TAGS = ("Audio", "AudioPlus")


def _pairs(config: LabelConfig) -> list[tuple[ObjectTag, str, bool]]:
    """(audio object, TextArea name, per region) for each TextArea on an audio object."""
    audios = {o.name: o for o in config.objects_of(*AUDIO_TAGS) if o.key}
    return [(audios[target], c.name, c.per_region) for c in config.controls.values() if c.tag == "TextArea"
            for target in c.to_name if target in audios]


def supports(config: LabelConfig) -> str | None:
    if not _pairs(config):
        return "the ASR manifest needs a <TextArea> on an <Audio> (the transcription); this project has none."
    return None


def wav_seconds(url: str, project_id: int | None) -> float | None:
    """The length of a WAV file of the project on this server (uploaded or in the server
    folder) from its header; None for anything else."""
    if not local.is_local(url):
        return None
    try:
        with wave.open(str(local.resolve_for(url, project_id)), "rb") as wav:
            rate = wav.getframerate()
            return round(wav.getnframes() / rate, 6) if rate > 0 else None
    except (LabelkitError, wave.Error, EOFError, OSError):
        return None


def _text(value: object) -> str:
    if isinstance(value, list):
        return " ".join(str(v).strip() for v in value if str(v).strip())
    return "" if value is None else str(value).strip()


def lines(ctx: ExportContext) -> Iterator[dict]:
    pairs = _pairs(ctx.config)
    for item in ctx.tasks():
        annotation = chosen(item)
        if annotation is None:
            continue
        for line in _task_lines(item, annotation.result, ctx.config, pairs, ctx.project.id if ctx.project else None):
            yield {**line, "annotator": annotation.annotator}


def _task_lines(item: ExportedTask, result: list, config: LabelConfig, pairs: list, project_id: int | None) -> Iterator[dict]:
    data = item.data
    found = regions_of(result, config)
    for audio, name, per_region in pairs:
        path = data.get(audio.key)
        if not isinstance(path, str) or not path:
            continue
        if per_region:
            for region in found:
                geometry = region["geometry"]
                text = _text(region["attributes"].get(name))
                if region["to_name"] != audio.name or region["shape"] != "range" or not text:
                    continue
                start, end = float(geometry.get("start", 0)), float(geometry.get("end", 0))
                yield {"audio_filepath": path, "offset": round(start, 6), "duration": round(end - start, 6), "text": text}
            continue
        texts = [_text((entry.get("value") or {}).get("text")) for entry in result
                 if isinstance(entry, dict) and entry.get("from_name") == name and entry.get("type") == "textarea"
                 and "start" not in (entry.get("value") or {})]
        text = " ".join(t for t in texts if t)
        if not text:
            continue
        lengths = [r["original_length"] for r in found if r["to_name"] == audio.name and r.get("original_length")]
        duration = float(lengths[0]) if lengths else wav_seconds(path, project_id)
        yield {"audio_filepath": path, "duration": duration, "text": text}


def write(ctx: ExportContext, out: BinaryIO) -> None:
    out.writelines(json.dumps(line, ensure_ascii=False).encode() + b"\n" for line in lines(ctx))


EXPORTERS = [
    Exporter("ASR_MANIFEST", "ASR manifest (NeMo)", "manifest.jsonl", "application/jsonl", write,
             "JSON lines {audio_filepath, duration, text} for speech recognition (NVIDIA NeMo): a line per transcribed"
             " file, or per transcribed segment with its offset; one annotation per labeled task (accepted, else the"
             " majority's, else the latest).",
             supports),
]
