"""What every exporter gets: the project, its config, and its tasks streamed one at a time.

Task data and results arrive as the JSON text the database holds, so a JSON export
writes them without parsing them; `data` and `result` parse on demand."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO

from labelkit.config import LabelConfig
from labelkit.models import Project

if TYPE_CHECKING:
    from labelkit.exporters.images import ImagePacker


@dataclass(slots=True)
class ExportedAnnotation:
    id: int
    user_id: int | None
    annotator: str | None
    state: str
    review_status: str | None
    created_at: str | None
    updated_at: str | None
    lead_time: float
    result_json: str  # after review: the reviewer's fix when there is one

    @property
    def result(self) -> list:
        return json.loads(self.result_json)


@dataclass(slots=True)
class ExportedPrediction:
    id: int
    result_json: str
    score: float | None
    model_version: str
    created_at: str | None


@dataclass(slots=True)
class ExportedTask:
    id: int
    data_json: str
    created_at: str | None
    total_annotations: int
    annotations: list[ExportedAnnotation] = field(default_factory=list)
    predictions: list[ExportedPrediction] = field(default_factory=list)

    @property
    def data(self) -> dict:
        return json.loads(self.data_json)


@dataclass
class ExportContext:
    project: Project
    config: LabelConfig
    tasks: Callable[[], Iterator[ExportedTask]]  # a fresh stream each call
    data_keys: Callable[[], list[str]]  # every data key, in first-seen order (a pass over the data)
    images: ImagePacker | None = None  # set when the user asked for the images in the archive (labelkit.exporters.images)


def any_config(config: LabelConfig) -> str | None:
    return None


@dataclass(frozen=True)
class Exporter:
    name: str
    title: str
    extension: str
    mime: str
    write: Callable[[ExportContext, BinaryIO], None]
    description: str
    # Why a project with this config cannot be exported in this format (None: it can).
    supports: Callable[[LabelConfig], str | None] = any_config
    # Whether it can pack the images into its archive (export_project(..., with_images=True)).
    packs_images: bool = False


def iso(stamp: str | None) -> str | None:
    """A timestamp as the database gives it as text, in Label Studio's form (UTC, ...Z)."""
    if not stamp:
        return None
    text = stamp.replace(" ", "T", 1)
    for suffix in ("+00:00", "+00"):
        text = text.removesuffix(suffix)
    if "." not in text:
        text += ".000000"
    return text + "Z"


def zip_entry(path: str, compression: int = zipfile.ZIP_DEFLATED) -> zipfile.ZipInfo:
    """A ZIP entry with a fixed date, so the same project exports to the same bytes (store
    what is compressed already: images, PNG masks)."""
    info = zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = compression
    info.external_attr = 0o644 << 16
    return info
