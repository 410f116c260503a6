"""Named entities of a <Text> labeled with <Labels>: CoNLL 2003 and spaCy.

CONLL2003, as Label Studio writes it: a "-DOCSTART- -X- O" line (and a blank line after
it, as CoNLL 2003's own files have, so readers that split on blank lines skip it), then
per task one token a line, "token -X- _ TAG", and a blank line after each task. Tags are
BIO (B-PER, I-PER, O). Tokens are runs of letters/digits/underscore or single other
non-space characters (regex `\\w+|[^\\w\\s]`): "Dr. O'Neil" -> Dr . O ' Neil. A token
is in a span when it overlaps it. Spaces in a label become "_" in its tags (B-New_York),
as the columns are split on spaces.

SPACY: a JSON list of {"text": the task's text, "entities": [[start, end, label]]}, as
spaCy's training docs build Docs from: `doc.char_span(start, end, label=label)`,
offsets in characters of the text, end exclusive (Label Studio's span offsets as they
are).

Both use one annotation per task (a text gets one set of entities): the accepted one,
else the answer most annotators gave, else the latest; a task without one is left out
(not labeled is not "no entities"). Spans that overlap an earlier one (earlier start,
or same start and longer) are left out: neither format holds overlapping entities. With several <Text>s, the first one that
<Labels> label is exported.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from typing import BinaryIO

from labelkit.config import LabelConfig, ObjectTag
from labelkit.exporters import choose
from labelkit.exporters.base import (
    ExportContext,
    ExportedAnnotation,
    ExportedTask,
    Exporter,
)
from labelkit.results.regions import regions_of

TOKEN = re.compile(r"\w+|[^\w\s]")
_WHITESPACE = re.compile(r"\s+")
DOCSTART = "-DOCSTART- -X- O\n"


def text_object(config: LabelConfig) -> ObjectTag | None:
    """The first <Text> (showing a data key) that a <Labels> labels."""
    for obj in config.objects_of("Text"):
        if obj.key and any(c.tag == "Labels" and obj.name in c.to_name for c in config.controls.values()):
            return obj
    return None


def supports_spans(fmt: str):
    def supports(config: LabelConfig) -> str | None:
        if text_object(config) is None:
            return f"{fmt} needs <Labels> on a <Text>; this project has none."
        return None

    return supports


def chosen(item: ExportedTask) -> ExportedAnnotation | None:
    """The one annotation a task's text (or audio) exports with: the accepted one, else
    the answer most annotators gave, else the latest (labelkit.exporters.choose)."""
    return choose.one(item.annotations)


def tokens(text: str) -> list[tuple[str, int, int]]:
    return [(m.group(), m.start(), m.end()) for m in TOKEN.finditer(text)]


def entities(result: list, config: LabelConfig, obj: ObjectTag, text: str) -> list[tuple[int, int, str]]:
    """(start, end, label) of the spans on the text, in order, without overlaps (the
    earlier, then the longer, wins); a span with several labels takes its first."""
    spans = []
    for region in regions_of(result, config):
        geometry = region["geometry"]
        if region["shape"] != "span" or region["to_name"] != obj.name:
            continue
        labels = [name for names in region["labels"].values() for name in names]
        start, end = geometry.get("start"), geometry.get("end")
        if not labels or not isinstance(start, int) or not isinstance(end, int):
            continue
        start, end = max(0, start), min(len(text), end)
        if start < end:
            spans.append((start, end, str(labels[0])))
    spans.sort(key=lambda s: (s[0], -(s[1] - s[0])))
    kept: list[tuple[int, int, str]] = []
    for span in spans:
        if not kept or span[0] >= kept[-1][1]:
            kept.append(span)
    return kept


def bio(text: str, spans: list[tuple[int, int, str]]) -> list[tuple[str, str]]:
    """(token, tag) for each token of the text: B- on a span's first token, I- on the
    tokens after it in the same span."""
    tagged = []
    previous = None  # the span the previous token is in
    at = 0  # spans are in order and do not overlap: walk them with the tokens
    for token, start, end in tokens(text):
        while at < len(spans) and spans[at][1] <= start:
            at += 1
        hit = at if at < len(spans) and spans[at][0] < end else None
        label = "" if hit is None else _WHITESPACE.sub("_", spans[hit][2])  # a column holds no spaces
        tag = "O" if hit is None else f"{'I' if hit == previous else 'B'}-{label}"
        tagged.append((token, tag))
        previous = hit
    return tagged


def _documents(ctx: ExportContext) -> Iterator[tuple[str, list[tuple[int, int, str]]]]:
    obj = text_object(ctx.config)
    if obj is None or not obj.key:  # supports() refuses such a project before writing
        return
    for item in ctx.tasks():
        annotation = chosen(item)
        if annotation is None:
            continue
        value = item.data.get(obj.key)
        text = value if isinstance(value, str) else "" if value is None else str(value)
        yield text, entities(annotation.result, ctx.config, obj, text)


def write_conll(ctx: ExportContext, out: BinaryIO) -> None:
    text_out = io.TextIOWrapper(out, encoding="utf-8", newline="\n", write_through=True)
    try:
        text_out.write(DOCSTART + "\n")
        for text, spans in _documents(ctx):
            text_out.write("".join(f"{token} -X- _ {tag}\n" for token, tag in bio(text, spans)) + "\n")
    finally:
        text_out.detach()


def write_spacy(ctx: ExportContext, out: BinaryIO) -> None:
    out.write(b"[")
    first = True
    for text, spans in _documents(ctx):
        doc = json.dumps({"text": text, "entities": [list(s) for s in spans]}, ensure_ascii=False)
        out.write((("\n" if first else ",\n") + doc).encode())
        first = False
    out.write(b"\n]\n")


_ONE = (" One annotation per labeled task (accepted, else the majority's, else the latest); of overlapping"
        " spans the earlier (then longer) one is kept.")

EXPORTERS = [
    Exporter("CONLL2003", "CoNLL 2003", "conll", "text/plain", write_conll,
             "Named entities of a <Text> as 'token -X- _ B-PER' lines, a blank line between tasks; tokens are words"
             " and single punctuation marks." + _ONE,
             supports_spans("CoNLL 2003")),
    Exporter("SPACY", "spaCy", "spacy.json", "application/json", write_spacy,
             "A JSON list of {text, entities: [[start, end, label]]}: character offsets for spaCy's Doc.char_span."
             + _ONE,
             supports_spans("spaCy")),
]
