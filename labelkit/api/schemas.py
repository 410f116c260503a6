"""The JSON the API reads and writes, in Label Studio's field names (its REST API and
label-studio-sdk), with our own fields named where Label Studio has none."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Error(BaseModel):
    detail: str


class Health(BaseModel):
    status: str


class Version(BaseModel):
    release: str
    labelkit: str
    edition: str = Field(description="'Community' for label-studio-sdk, which asks before it exports")


class UserSimple(BaseModel):
    id: int
    email: str
    username: str
    first_name: str
    last_name: str = ""


# Projects

Sampling = Literal["Sequential sampling", "Uniform sampling", "Uncertainty sampling"]


class ProjectIn(BaseModel):
    """A new project. Label Studio's other settings are accepted and ignored."""

    model_config = ConfigDict(extra="ignore", strict=True)  # true is not 1, "2" is not 2

    title: str = Field("New project", max_length=200)
    description: str | None = Field(None, max_length=100_000)
    label_config: str | None = Field(None, max_length=1_000_000, description="Label Studio's XML")
    expert_instruction: str | None = Field(None, max_length=100_000, description="Instructions for annotators")
    maximum_annotations: int | None = Field(None, ge=1, le=1000, description="Annotations each task needs (overlap)")
    overlap_cohort_percentage: int | None = Field(None, ge=0, le=100)
    sampling: Sampling | None = None
    model_version: str | None = Field(None, max_length=200, description="On PATCH: the model version whose predictions "
                                      "annotators see ('' = the newest); ignored on create (no predictions yet)")


class ProjectPatch(ProjectIn):
    title: str | None = Field(None, max_length=200)  # type: ignore[assignment]


class Project(BaseModel):
    id: int
    title: str
    description: str
    label_config: str
    expert_instruction: str
    show_instruction: bool
    show_skip_button: bool = True
    enable_empty_annotation: bool = False
    maximum_annotations: int
    overlap_cohort_percentage: int
    sampling: str
    model_version: str
    is_published: bool = True
    is_draft: bool = False
    task_number: int
    finished_task_number: int
    num_tasks_with_annotations: int
    total_annotations_number: int
    skipped_annotations_number: int
    total_predictions_number: int
    created_by: UserSimple | None
    created_at: datetime
    review_required: bool = Field(description="labelkit: submissions wait for a reviewer")


class ProjectPage(BaseModel):
    count: int
    next: str | None
    previous: str | None
    results: list[Project]


# Tasks, annotations, predictions


class Annotation(BaseModel):
    id: int
    result: list[Any]
    was_cancelled: bool
    ground_truth: bool
    lead_time: float
    completed_by: int | None
    task: int
    project: int
    created_at: datetime
    updated_at: datetime
    review_status: str | None = Field(description="labelkit: pending, accepted, rejected, or null (not reviewed)")


class Prediction(BaseModel):
    id: int
    result: list[Any]
    score: float | None
    model_version: str
    task: int
    project: int
    created_at: datetime


class Task(BaseModel):
    id: int
    data: dict[str, Any]
    annotations: list[Annotation]
    predictions: list[Prediction]
    project: int
    total_annotations: int
    cancelled_annotations: int
    total_predictions: int
    is_labeled: bool
    created_at: datetime
    meta: dict[str, Any] = Field(default_factory=dict)


class NextTask(Task):
    queue: str = Field(description="Why this task: new, locked (you hold it), draft, rejected (sent back to you)")


class TaskPage(BaseModel):
    tasks: list[Task]
    total: int
    total_annotations: int
    total_predictions: int


class AnnotationIn(BaseModel):
    """Submit (or, when you already did, update) your annotation of the task; was_cancelled: skip it."""

    model_config = ConfigDict(extra="ignore", strict=True)  # true is not 1, "2" is not 2

    result: list[dict[str, Any]] = Field(default_factory=list, max_length=10_000)
    lead_time: float = Field(0.0, ge=0, le=10**7, description="Seconds spent")
    was_cancelled: bool = False


class AnnotationPatch(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)  # true is not 1, "2" is not 2

    result: list[dict[str, Any]] = Field(max_length=10_000)
    lead_time: float = Field(0.0, ge=0, le=10**7)


class PredictionIn(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)  # true is not 1, "2" is not 2

    task: int = Field(ge=1, le=2**31 - 1)
    result: list[dict[str, Any]] = Field(max_length=10_000)
    score: float | None = Field(None, allow_inf_nan=False)
    model_version: str = Field("", max_length=200)


class ImportReport(BaseModel):
    task_count: int
    annotation_count: int
    prediction_count: int
    duration: float
    file_upload_ids: list[int]
    could_be_tasks_list: bool
    found_formats: list[str]
    data_columns: list[str]
    duplicates: int = Field(0, description="labelkit: tasks skipped as duplicates")


class ExportFormat(BaseModel):
    name: str
    title: str
    description: str
    disabled: bool
    why_disabled: str | None = Field(None, description="labelkit: why this project cannot be exported in it")
