"""CSV and TSV: a row per annotation (a task without annotations gets one row), the task
data in columns, and a column per control with its value as Label Studio writes it."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import BinaryIO

from labelkit.exporters.base import ExportContext, Exporter, iso
from labelkit.results.items import flat_value

# What starts a formula (OWASP, "CSV Injection"): = + - @, a tab, a carriage return or line
# feed, and the full-width forms that spreadsheets in East Asian locales read as the same.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?([eE][+-]?\d+)?", re.ASCII)
# Spaces (any kind) and invisible characters a spreadsheet may skip before reading a formula.
_LEADING_BLANKS = re.compile(r"^[\s\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]+")


def cell(value: object) -> str:
    """A value as a cell; text that a spreadsheet would run as a formula is quoted."""
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        text = json.dumps(value, ensure_ascii=False)
    else:
        text = str(value)
    if isinstance(value, str) and _runs_as_formula(text):
        return "'" + text
    return text


def _runs_as_formula(text: str) -> bool:
    """Whether a text starts a formula, also behind spaces; a plain number ("-5") does not."""
    return any(
        part.startswith(_FORMULA_START) and not _NUMBER.fullmatch(part)
        for part in (text, _LEADING_BLANKS.sub("", text))
    )


class _Rows:
    """csv.writer with "\n" line ends, except that a row with a carriage return in a cell is
    written with every cell quoted: csv quotes only the line terminator's characters, and a
    bare CR ends the row in Excel, so a cell "a\r=cmd()" would start a row with a formula."""

    def __init__(self, text: io.TextIOBase, delimiter: str) -> None:
        self.plain = csv.writer(text, delimiter=delimiter, lineterminator="\n")
        self.quoted = csv.writer(text, delimiter=delimiter, lineterminator="\n", quoting=csv.QUOTE_ALL)

    def writerow(self, row: list) -> None:
        (self.quoted if any("\r" in str(value) for value in row) else self.plain).writerow(row)


def _writer(delimiter: str):
    def write(ctx: ExportContext, out: BinaryIO) -> None:
        text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
        try:
            rows = _Rows(text, delimiter)
            data_keys = [k for k in ctx.data_keys() if k != "id"]
            controls = list(ctx.config.controls)
            meta = ["annotation_id", "annotator", "review_status", "created_at", "updated_at", "lead_time"]
            rows.writerow(["id", *(cell(k) for k in data_keys), *(cell(c) for c in controls), *meta])  # task keys are data too
            empty = [""] * (len(controls) + len(meta))
            for item in ctx.tasks():
                data = item.data
                task_cells = [item.id, *(cell(data.get(k)) for k in data_keys)]
                if not item.annotations:
                    rows.writerow(task_cells + empty)
                for a in item.annotations:
                    by_control = {r.get("from_name"): cell(flat_value(r)) for r in a.result if isinstance(r, dict)}
                    rows.writerow(
                        [
                            *task_cells,
                            *(by_control.get(name, "") for name in controls),
                            a.id,
                            cell(a.annotator),
                            a.review_status or "",
                            iso(a.created_at),
                            iso(a.updated_at),
                            round(a.lead_time, 3),
                        ]
                    )
        finally:
            text.detach()

    return write


EXPORTERS = [
    Exporter("CSV", "CSV", "csv", "text/csv", _writer(","),
             "A row per annotation: task data, a column per control, who and when."),
    Exporter("TSV", "TSV", "tsv", "text/tab-separated-values", _writer("\t"),
             "The CSV table with tabs between columns."),
]
