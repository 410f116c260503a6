"""Hugging Face datasets-friendly exports: Parquet (HF_PARQUET) and JSON lines (HF_JSONL),
the same rows in both, so `datasets.load_dataset("parquet", data_files=...)` (or "json")
gives a typed table to train on.

A row per annotation (a task without annotations gets one row, its control columns null);
export with one annotation per task for one row per task. Columns, fixed up front from the
config so every Parquet row group has the same schema:

- `id`: the task id; then the task's data keys as strings (text, media URLs and paths as
  they are; numbers, lists and objects as their JSON text). A data key named like a
  control or one of the columns below gets the prefix "data.".
- one column per control: Choices a string (choice="multiple": a list of strings),
  TextArea a string (several texts joined by newlines), Rating an integer, Number a
  float, DateTime and Pairwise strings, Taxonomy a list of paths (lists of strings),
  Ranker and perItem answers JSON text. A region control a list of structs per region,
  each with its `labels` (every label it has): spans of a Text {start, end, text},
  rectangles {x, y, width, height, rotation}, polygons {points, closed}, keypoints
  {x, y, width}, ellipses {x, y, radiusX, radiusY, rotation}, audio segments {start, end}
  in seconds; anything else (HTML offsets, time series, brush masks, video) {shape,
  geometry} with the geometry as JSON text. Image coordinates are in PERCENT of the image,
  as Label Studio stores them, with original_width and original_height in pixels
  (x_px = x / 100 * original_width).
  With perRegion controls, each region also has `attributes`: their answers as JSON text.
- `annotation_id`, `annotator` (email), `review_status`, `created_at`, `lead_time`, and
  `annotations`: the row's annotation as Label Studio's JSON (a list of one), so nothing
  is lost.

Every config can be exported: what has no typed column travels as JSON text.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from labelkit.config import ControlTag, LabelConfig
from labelkit.config.parser import truthy
from labelkit.config.tags import CLASSIFICATION_CONTROLS, REGION_CONTROLS
from labelkit.exporters import label_studio
from labelkit.exporters.base import (
    ExportContext,
    ExportedAnnotation,
    ExportedTask,
    Exporter,
    iso,
)
from labelkit.results.items import REGIONS, values_of
from labelkit.results.regions import OBJECT_SHAPES, label_names

GROUP_ROWS = 4000  # rows per Parquet row group: what is held in memory at once
META = ("annotation_id", "annotator", "review_status", "created_at", "lead_time", "annotations")
_dump = json.JSONEncoder(ensure_ascii=False).encode

# The shape each region control draws (Labels: the shape of regions on its object).
_TOOL_SHAPES = {
    "RectangleLabels": "rectangle", "Rectangle": "rectangle", "PolygonLabels": "polygon", "Polygon": "polygon",
    "KeyPointLabels": "keypoint", "KeyPoint": "keypoint", "EllipseLabels": "ellipse", "Ellipse": "ellipse",
}  # TimeSeriesLabels: its start/end may be dates or numbers, so its geometry stays JSON
_F, _I, _S = pa.float64(), pa.int64(), pa.string()
_IMAGE_SIZE = [("original_width", _I), ("original_height", _I)]
# Typed fields of each shape's struct (besides labels, and attributes with perRegion controls).
_SHAPE_FIELDS: dict[str, list[tuple[str, pa.DataType]]] = {
    "span": [("start", _I), ("end", _I), ("text", _S)],
    "rectangle": [("x", _F), ("y", _F), ("width", _F), ("height", _F), ("rotation", _F), *_IMAGE_SIZE],
    "polygon": [("points", pa.list_(pa.list_(_F))), ("closed", pa.bool_()), *_IMAGE_SIZE],
    "keypoint": [("x", _F), ("y", _F), ("width", _F), *_IMAGE_SIZE],
    "ellipse": [("x", _F), ("y", _F), ("radiusX", _F), ("radiusY", _F), ("rotation", _F), *_IMAGE_SIZE],
    "range": [("start", _F), ("end", _F)],  # seconds of audio
    None: [("shape", _S), ("geometry", _S)],  # any other: the shape's name and its geometry as JSON
}
_ANSWER_TYPES = {"Rating": _I, "Number": _F, "Taxonomy": pa.list_(pa.list_(_S))}  # else a string


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    control: ControlTag | None = None
    shape: str | None = None  # region controls: the shape of their structs
    attributes: bool = False  # region structs carry perRegion answers


def _region_shape(config: LabelConfig, control: ControlTag) -> str | None:
    if control.tag in _TOOL_SHAPES:
        return _TOOL_SHAPES[control.tag]
    if control.tag == "Labels":
        kinds = {config.objects[n].tag for n in control.to_name if n in config.objects}
        shapes = {OBJECT_SHAPES.get(k) for k in kinds}
        if kinds <= {"Audio", "AudioPlus", "Text"} and len(shapes) == 1:
            return shapes.pop()
    return None


def _control_column(config: LabelConfig, control: ControlTag) -> Column | None:
    if control.tag in REGION_CONTROLS:
        shape = _region_shape(config, control)
        attributes = any(c.per_region and set(c.to_name) & set(control.to_name) for c in config.controls.values())
        fields = [*_SHAPE_FIELDS[shape], ("labels", pa.list_(_S))] + [("attributes", _S)] * attributes
        return Column(control.name, pa.list_(pa.struct(fields)), control, shape, attributes)
    if control.tag not in CLASSIFICATION_CONTROLS or control.per_region:
        return None  # perRegion answers are in their regions' structs
    if truthy(control.attrs.get("perItem")) or control.tag == "Ranker":
        kind = _S
    elif control.tag == "Choices" and control.multiple:
        kind = pa.list_(_S)
    else:
        kind = _ANSWER_TYPES.get(control.tag, _S)
    return Column(control.name, kind, control)


def columns(config: LabelConfig, data_keys: list[str]) -> tuple[list[Column], dict[str, str]]:
    """The columns, and the column of each data key."""
    controls = [c for c in (_control_column(config, ctl) for ctl in config.controls.values()) if c]
    taken = {"id", *META, *(c.name for c in controls)}
    data_columns = {key: f"data.{key}" if key in taken else key for key in data_keys if key != "id"}
    cols = [Column("id", _I), *(Column(n, _S) for n in data_columns.values()), *controls]
    cols += [Column("annotation_id", _I), Column("annotator", _S), Column("review_status", _S),
             Column("created_at", _S), Column("lead_time", _F), Column("annotations", _S)]
    return cols, data_columns


def schema(cols: list[Column]) -> pa.Schema:
    return pa.schema([pa.field(c.name, c.type) for c in cols])


def _number(value: Any, kind: type) -> Any:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return kind(value)
    except (TypeError, ValueError, OverflowError):
        return None


def _cast(value: Any, kind: pa.DataType) -> Any:
    """A value as the column's type, or None where it does not fit (an odd imported result)."""
    if value is None:
        return None
    if kind == _I:
        number = _number(value, float)
        return int(number) if number is not None and number.is_integer() else None
    if kind == _F:
        return _number(value, float)
    if kind == pa.bool_():
        return value if isinstance(value, bool) else None
    if kind == _S:
        return value if isinstance(value, str) else _dump(value)
    if pa.types.is_list(kind):
        if not isinstance(value, list):
            return None
        inner = kind.value_type
        return [_cast(v, inner) for v in value]
    return None


def _answer(column: Column, value: Any) -> Any:
    if column.control.tag == "Choices" and column.type == _S and isinstance(value, list):
        return str(value[0]) if value else None  # one choice
    return _cast(value, column.type)


def _region(column: Column, region: dict) -> dict:
    geometry = region["geometry"]
    if column.shape is None:
        row = {"shape": region["shape"], "geometry": _dump(geometry)}
    else:
        source = {**geometry, "original_width": region.get("original_width"), "original_height": region.get("original_height")}
        row = {name: _cast(source.get(name), kind) for name, kind in _SHAPE_FIELDS[column.shape]}
    row["labels"] = [str(label) for label in label_names(region)]
    if column.attributes:
        row["attributes"] = _dump(region["attributes"]) if region["attributes"] else None
    return row


def _data_value(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else _dump(value)


def rows(ctx: ExportContext, cols: list[Column], data_columns: dict[str, str]) -> Iterator[dict]:
    """The rows, in the columns' order."""
    answers = [c for c in cols if c.control is not None and c.control.tag not in REGION_CONTROLS]
    region_columns = {c.name: c for c in cols if c.control is not None and c.control.tag in REGION_CONTROLS}
    for item in ctx.tasks():
        data = item.data if isinstance(item.data, dict) else {}
        base = {"id": item.id, **{name: _data_value(data.get(key)) for key, name in data_columns.items()}}
        if not item.annotations:
            yield {c.name: base.get(c.name) for c in cols}
        for a in item.annotations:
            row = _annotation_row(ctx, item, a, base, answers, region_columns)
            yield {c.name: row.get(c.name) for c in cols}


def _annotation_row(ctx: ExportContext, item: ExportedTask, a: ExportedAnnotation, base: dict,
                    answers: list[Column], region_columns: dict[str, Column]) -> dict:
    result = a.result if isinstance(a.result, list) else []
    values = values_of(result, ctx.config)
    row = dict(base)
    for column in answers:
        row[column.name] = _answer(column, values.get(column.name))
    for name in region_columns:
        row[name] = []  # labeled: no regions is an empty list, not null
    for region in values.get(REGIONS) or []:
        column = region_columns.get(region["tool"])
        if column is not None:
            row[column.name].append(_region(column, region))
    row |= {
        "annotation_id": a.id, "annotator": a.annotator, "review_status": a.review_status, "created_at": iso(a.created_at),
        "lead_time": round(a.lead_time, 3),
        "annotations": f"[{label_studio._annotation(a, item.id, ctx.project.id)}]",
    }
    return row


def write_parquet(ctx: ExportContext, out: BinaryIO) -> None:
    cols, data_columns = columns(ctx.config, ctx.data_keys())
    fixed = schema(cols)
    buffer: list[dict] = []
    with pq.ParquetWriter(out, fixed, compression="zstd") as writer:
        for row in rows(ctx, cols, data_columns):
            buffer.append(row)
            if len(buffer) >= GROUP_ROWS:
                writer.write_table(pa.Table.from_pylist(buffer, schema=fixed))
                buffer.clear()
        if buffer:
            writer.write_table(pa.Table.from_pylist(buffer, schema=fixed))


def write_jsonl(ctx: ExportContext, out: BinaryIO) -> None:
    cols, data_columns = columns(ctx.config, ctx.data_keys())
    out.writelines((_dump(row) + "\n").encode() for row in rows(ctx, cols, data_columns))


_DESCRIPTION = (
    " for Hugging Face datasets: a row per annotation (one per task with one annotation per task), the task id and data,"
    " a typed column per control (choices as strings or lists, ratings and numbers as numbers, spans and regions as lists"
    " of structs with their labels; image coordinates in percent with original_width/height in pixels), the annotator"
    " and the annotation's full Label Studio JSON."
)
EXPORTERS = [
    Exporter("HF_PARQUET", "Hugging Face Parquet", "parquet", "application/vnd.apache.parquet", write_parquet,
             "Parquet" + _DESCRIPTION + " Read it with datasets.load_dataset(\"parquet\", data_files=...)."),
    Exporter("HF_JSONL", "Hugging Face JSON lines", "hf.jsonl", "application/jsonl", write_jsonl,
             "JSON lines" + _DESCRIPTION + " Read it with datasets.load_dataset(\"json\", data_files=...)."),
]
