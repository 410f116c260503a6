"""The tables. Every change here goes with an Alembic revision in db/versions."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint, false, text, true
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel
from sqlmodel.sql.sqltypes import UTCDateTime

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JSONType = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)


def json_column(nullable: bool = False) -> Any:
    return Field(default=None, sa_column=Column(JSONType, nullable=nullable))


def time_column(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


def created_column() -> Any:
    return Field(default_factory=utcnow, sa_column_kwargs={"nullable": False})


class Role(StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    REVIEWER = "reviewer"
    ANNOTATOR = "annotator"
    # Not a person: the account a model server acts as (labelkit/ml/account.py), member of one
    # project, without a password; it never signs in and is listed nowhere as a person.
    MODEL_SERVER = "model_server"


class AnnotationState(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    SKIPPED = "skipped"


class ReviewStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class ReviewAction(StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"
    FIX = "fix"


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True, index=True)
    name: str = Field(default="", max_length=200)
    password_hash: str | None = Field(default=None, max_length=200)
    # Portal-wide role: admin runs the portal, manager may create projects;
    # what someone may do inside a project comes from their Membership.
    role: str = Field(default=Role.ANNOTATOR, max_length=20)
    is_active: bool = True
    created_at: datetime = created_column()
    last_seen_at: datetime | None = time_column()
    # Sessions begun before this (password or identity provider) are over: an admin ended them.
    sessions_ended_at: datetime | None = time_column()

    @property
    def display(self) -> str:
        return self.name or self.email


class Identity(SQLModel, table=True):
    """An OIDC identity (issuer + subject) linked to an account."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    provider: str = Field(default="", max_length=100)
    issuer: str = Field(max_length=500)
    subject: str = Field(max_length=500)
    email: str = Field(default="", max_length=320)
    created_at: datetime = created_column()


class AuthToken(SQLModel, table=True):
    """Browser sessions, one-time sign-in tickets and API tokens; only hashes are stored."""

    __tablename__ = "auth_tokens"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    kind: str = Field(max_length=20)
    token_hash: str = Field(max_length=64, unique=True)
    name: str = Field(default="", max_length=200)
    created_at: datetime = created_column()
    expires_at: datetime | None = time_column()
    last_used_at: datetime | None = time_column()
    revoked_at: datetime | None = time_column()


class SigninFailure(SQLModel, table=True):
    """A failed password check, kept for the sign-in window so that every app server
    counts the same failures per account (email as typed) and per address."""

    __tablename__ = "signin_failures"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, index=True)
    address: str | None = Field(default=None, max_length=64, index=True)
    at: datetime = Field(default_factory=utcnow, index=True)


class Project(SQLModel, table=True):
    __tablename__ = "projects"

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200, index=True)
    description: str = Field(default="", sa_column_kwargs={"nullable": False}, sa_type=Text)
    instructions: str = Field(default="", sa_column_kwargs={"nullable": False}, sa_type=Text)
    label_config: str = Field(sa_type=Text)
    overlap: int = 1
    sampling: str = Field(default="sequential", max_length=20)
    # Team quality: the share of tasks (percent) that get `overlap`
    # annotators, the others one; "auto" (the queue) or "manual" (only assigned tasks);
    # whether submissions wait for review and in which order reviewers get them; the share
    # of each annotator's new tasks taken from gold tasks, and the accuracy on gold below
    # which an annotator is paused (after gold_min_tasks gold tasks).
    overlap_percent: int = Field(default=100, sa_column_kwargs={"server_default": "100"})
    distribution: str = Field(default="auto", max_length=20, sa_column_kwargs={"server_default": "auto"})
    review_required: bool = Field(default=True, sa_column_kwargs={"server_default": true()})
    review_order: str = Field(default="oldest", max_length=20, sa_column_kwargs={"server_default": "oldest"})
    gold_percent: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    gold_min_accuracy: float | None = None
    gold_min_tasks: int = Field(default=5, sa_column_kwargs={"server_default": "5"})
    # The model version whose predictions are shown as pre-annotations ("" = the newest).
    model_version: str = Field(default="", max_length=200, sa_column_kwargs={"server_default": ""})
    # Live (not deleted) tasks, and those of them done; kept by labelkit/labeling/counts.py.
    task_count: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    done_count: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    created_by: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    created_at: datetime = created_column()
    updated_at: datetime = created_column()
    deleted_at: datetime | None = time_column()
    deleted_by: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")


class Membership(SQLModel, table=True):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("project_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="projects.id", ondelete="CASCADE")
    user_id: int = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    role: str = Field(max_length=20)
    created_at: datetime = created_column()
    # An annotator paused in this project (by a manager, or below the gold accuracy) gets no new tasks.
    paused_at: datetime | None = time_column()
    paused_reason: str = Field(default="", max_length=500, sa_column_kwargs={"server_default": ""})


class Invite(SQLModel, table=True):
    __tablename__ = "invites"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    role: str = Field(max_length=20)
    project_id: int | None = Field(default=None, foreign_key="projects.id", ondelete="CASCADE")
    # An exact address, or "@example.com" for anyone at that domain.
    email: str | None = Field(default=None, max_length=320)
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    max_uses: int = 1
    uses: int = 0
    revoked_at: datetime | None = time_column()
    created_by: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    created_at: datetime = created_column()


class Task(SQLModel, table=True):
    __tablename__ = "tasks"
    # Walks over a whole project (exports, the task table) follow the primary key. The
    # queue has an index of only the tasks that still want annotations, in order, so a
    # claim never walks over finished or deleted tasks.
    __table_args__ = (
        Index(
            "ix_tasks_open", "project_id", "id",
            sqlite_where=text("done = 0 AND deleted_at IS NULL"),
            postgresql_where=text("NOT done AND deleted_at IS NULL"),
        ),
        Index(
            "ix_tasks_open_uncertain", "project_id", "uncertainty", "id",
            sqlite_where=text("done = 0 AND deleted_at IS NULL"),
            postgresql_where=text("NOT done AND deleted_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="projects.id", ondelete="CASCADE")
    data: dict = json_column()
    # Submitted annotations, and whether they reach the project's overlap; kept in step
    # by labelkit/labeling/counts.py so that neither the claim nor a progress bar counts rows.
    total_annotations: int = 0
    done: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    # How unsure the models are about this task (1 - score, or the entropy of per-class
    # scores), from its newest prediction; the queue serves the least certain first when
    # the project's sampling is "uncertainty" (labelkit/labeling/predictions.py keeps it).
    uncertainty: float | None = None
    created_at: datetime = created_column()
    deleted_at: datetime | None = time_column()
    deleted_by: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")


class TaskLock(SQLModel, table=True):
    """Who is working on a task right now; a lock ends at expires_at."""

    __tablename__ = "task_locks"
    __table_args__ = (Index("ix_task_locks_user_project", "user_id", "project_id"),)

    task_id: int = Field(foreign_key="tasks.id", primary_key=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="users.id", primary_key=True, ondelete="CASCADE")
    project_id: int = Field(foreign_key="projects.id", index=True, ondelete="CASCADE")
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class Annotation(SQLModel, table=True):
    """One person's work on one task: a draft, a submission or a skip."""

    __tablename__ = "annotations"
    __table_args__ = (
        UniqueConstraint("task_id", "user_id"),
        Index("ix_annotations_review_queue", "project_id", "review_status", "submitted_at"),
        Index("ix_annotations_user_project", "user_id", "project_id", "updated_at"),
        # Gold tasks: the few annotations marked as ground truth, found without walking the rest.
        Index(
            "ix_annotations_ground_truth", "project_id", "task_id",
            sqlite_where=text("ground_truth = 1"), postgresql_where=text("ground_truth"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="tasks.id", ondelete="CASCADE")
    project_id: int = Field(foreign_key="projects.id", ondelete="CASCADE")
    user_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    state: str = Field(max_length=20)
    result: list = json_column()
    review_status: str | None = Field(default=None, max_length=20)
    # A reviewer's corrected result; the annotator's own result stays in `result`.
    reviewed_result: list | None = json_column(nullable=True)
    # The answer others are measured against; a task with one is a gold task.
    ground_truth: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    lead_time: float = 0.0
    created_at: datetime = created_column()
    updated_at: datetime = created_column()
    submitted_at: datetime | None = time_column()
    deleted_at: datetime | None = time_column()
    deleted_by: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")


class AnnotationVersion(SQLModel, table=True):
    """An earlier version of an annotation, kept whenever it is changed."""

    __tablename__ = "annotation_versions"

    id: int | None = Field(default=None, primary_key=True)
    annotation_id: int = Field(foreign_key="annotations.id", index=True, ondelete="CASCADE")
    state: str = Field(max_length=20)
    result: list = json_column()
    user_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    created_at: datetime = created_column()


class Prediction(SQLModel, table=True):
    __tablename__ = "predictions"

    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="tasks.id", index=True, ondelete="CASCADE")
    project_id: int = Field(foreign_key="projects.id", index=True, ondelete="CASCADE")
    result: list = json_column()
    score: float | None = None
    model_version: str = Field(default="", max_length=200)
    # The model server that made it (None: imported or posted through the API).
    ml_backend_id: int | None = Field(default=None, foreign_key="ml_backends.id", ondelete="SET NULL")
    created_at: datetime = created_column()


class Review(SQLModel, table=True):
    __tablename__ = "reviews"

    id: int | None = Field(default=None, primary_key=True)
    annotation_id: int = Field(foreign_key="annotations.id", index=True, ondelete="CASCADE")
    reviewer_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    action: str = Field(max_length=20)
    comment: str = Field(default="", sa_type=Text)
    result: list | None = json_column(nullable=True)
    created_at: datetime = created_column()


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_events"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    actor_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    action: str = Field(max_length=100)
    target: str = Field(default="", max_length=200, index=True)  # a task's history reads its events
    project_id: int | None = Field(default=None, foreign_key="projects.id", ondelete="SET NULL")
    detail: dict = json_column()


class CloudStorage(SQLModel, table=True):
    """An S3 (or S3-compatible) bucket a project takes tasks from ("source") or writes
    annotations to ("target"); labelkit/cloud/. An entered secret is kept encrypted."""

    __tablename__ = "storages"

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="projects.id", index=True, ondelete="CASCADE")
    kind: str = Field(max_length=10)
    bucket: str = Field(max_length=255)
    prefix: str = Field(default="", max_length=1024)
    pattern: str = Field(default="", max_length=500)
    regex: bool = False
    # Media reaches browsers through presigned links to the bucket, else through this server.
    presign: bool = Field(default=True, sa_column_kwargs={"server_default": true()})
    region: str = Field(default="", max_length=100)
    endpoint_url: str = Field(default="", max_length=500)
    access_key_id: str = Field(default="", max_length=200)
    secret_encrypted: str = Field(default="", sa_type=Text)
    last_sync_at: datetime | None = time_column()
    last_error: str = Field(default="", sa_type=Text)
    created_by: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    created_at: datetime = created_column()


class StorageObject(SQLModel, table=True):
    """An object a source storage already made tasks of, so a sync never repeats it."""

    __tablename__ = "storage_objects"
    __table_args__ = (UniqueConstraint("storage_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    storage_id: int = Field(foreign_key="storages.id", ondelete="CASCADE")
    key: str = Field(max_length=1024)
    tasks: int = 0
    synced_at: datetime = created_column()


class TaskAssignment(SQLModel, table=True):
    """A task a manager gave to a person: it goes to them (and only to its assignees)."""

    __tablename__ = "task_assignments"
    __table_args__ = (UniqueConstraint("task_id", "user_id"), Index("ix_task_assignments_user_project", "user_id", "project_id"))

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="projects.id", ondelete="CASCADE")
    task_id: int = Field(foreign_key="tasks.id", ondelete="CASCADE")
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE")
    assigned_by: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    created_at: datetime = created_column()


class Comment(SQLModel, table=True):
    """A comment on a task; @mentions notify the people named."""

    __tablename__ = "comments"

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="projects.id", index=True, ondelete="CASCADE")
    task_id: int = Field(foreign_key="tasks.id", index=True, ondelete="CASCADE")
    user_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    text: str = Field(sa_type=Text)
    created_at: datetime = created_column()
    resolved_at: datetime | None = time_column()


class Notification(SQLModel, table=True):
    """Something a person should see in the app: work sent back, a new assignment, a mention."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_read", "user_id", "read_at"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE")
    project_id: int | None = Field(default=None, foreign_key="projects.id", ondelete="CASCADE")
    task_id: int | None = Field(default=None, foreign_key="tasks.id", ondelete="CASCADE")
    kind: str = Field(max_length=30)
    text: str = Field(sa_type=Text)
    created_at: datetime = created_column()
    read_at: datetime | None = time_column()


class MLBackend(SQLModel, table=True):
    """A model server attached to a project, spoken to in the Label Studio ML backend
    protocol (labelkit/ml/). Its basic-auth password and extra headers are kept encrypted."""

    __tablename__ = "ml_backends"

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="projects.id", index=True, ondelete="CASCADE")
    title: str = Field(default="", max_length=200)
    url: str = Field(max_length=1000)
    auth_method: str = Field(default="none", max_length=20)  # "none" or "basic"
    basic_auth_user: str = Field(default="", max_length=200)
    basic_auth_pass_encrypted: str = Field(default="", sa_type=Text)
    headers_encrypted: str = Field(default="", sa_type=Text)  # a JSON object of extra headers, encrypted
    # An API token of the server's own account (labelkit/ml/account.py; never a person's),
    # sent on /setup so the server can fetch its project's task media (/data/upload/...) as
    # Label Studio backends do; replaced when the URL changes, revoked with the backend.
    access_token_encrypted: str = Field(default="", sa_type=Text)
    access_token_id: int | None = Field(default=None, foreign_key="auth_tokens.id", ondelete="SET NULL")
    timeout: float = 30.0  # seconds for one call; labeling never waits longer than this
    is_interactive: bool = False  # ask it for a prediction when a task opens without one
    predict_every: int = 0  # active learning: predict the open tasks again every N new annotations (0: never)
    annotations_at_predict: int = 0  # the project's submitted-annotation count when it last predicted
    model_version: str = Field(default="", max_length=200)  # as the server reported it on /setup
    state: str = Field(default="connected", max_length=20)  # "connected", "error"
    last_error: str = Field(default="", sa_type=Text)
    last_checked_at: datetime | None = time_column()
    created_by: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    created_at: datetime = created_column()
