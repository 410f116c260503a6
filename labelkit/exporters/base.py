"""What every exporter gets: the project, its config, and its tasks streamed one at a time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO

from labelkit.config import LabelConfig
from labelkit.models import Annotation, Prediction, Project, Task


@dataclass
class ExportedAnnotation:
    annotation: Annotation
    annotator: str | None
    result: list  # after review: the reviewer's fix when there is one


@dataclass
class ExportedTask:
    task: Task
    annotations: list[ExportedAnnotation]
    predictions: list[Prediction] = field(default_factory=list)


@dataclass
class ExportContext:
    project: Project
    config: LabelConfig
    tasks: Callable[[], Iterator[ExportedTask]]  # a fresh stream each call
    data_keys: Callable[[], list[str]]  # every data key, in first-seen order (a pass over the data)


@dataclass(frozen=True)
class Exporter:
    name: str
    title: str
    extension: str
    mime: str
    write: Callable[[ExportContext, BinaryIO], None]
    description: str


def iso(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if moment else None
