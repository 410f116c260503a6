"""A person's work on a task: drafts, submissions, updates and skips. An annotation is
never overwritten in place: its earlier version goes to annotation_versions."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from labelkit.cloud.targets import _annotation_submitted
from labelkit.config import task_config
from labelkit.db import write_lock
from labelkit.errors import InvalidInput
from labelkit.labeling import active, counts, gold, overlap, queue
from labelkit.ml import webhooks as ml_webhooks
from labelkit.models import Annotation, AnnotationState, AnnotationVersion, Project, ReviewStatus, TaskLock, User, utcnow
from labelkit.results.items import missing_required


@dataclass
class SubmitOutcome:
    annotation: Annotation
    counted: bool  # False: the task was already full, the work was kept as a draft
    message: str


def save_draft(session: Session, actor: User, task_id: int, result: list) -> Annotation | None:
    """Keep unsaved work; never touches a submitted annotation (use submit to update)."""
    task, _ = queue.task_for_work(session, actor, task_id)
    annotation = queue._my_annotation(session, task.id, actor.id)
    if annotation is not None and annotation.state != AnnotationState.DRAFT:
        return None
    now = utcnow()
    if annotation is None:
        annotation = Annotation(
            task_id=task.id, project_id=task.project_id, user_id=actor.id, state=AnnotationState.DRAFT, result=result,
            created_at=now,
        )
    annotation.result = result
    annotation.updated_at = now
    session.add(annotation)
    lock = session.get(TaskLock, (task.id, actor.id))
    if lock is not None:
        lock.expires_at = now + queue.lock_ttl()
        session.add(lock)
    session.flush()
    return annotation


def _keep_version(session: Session, annotation: Annotation) -> None:
    session.add(
        AnnotationVersion(
            annotation_id=annotation.id,
            state=annotation.state,
            result=annotation.result,
            user_id=annotation.user_id,
            created_at=annotation.updated_at,
        )
    )


def submit(session: Session, actor: User, task_id: int, result: list, lead_time: float = 0.0) -> SubmitOutcome:
    """Submit (or update) this person's annotation of a task."""
    write_lock(session)
    task, project = queue.task_for_work(session, actor, task_id, for_update=True)
    missing = missing_required(task_config(project.label_config, task.data), result)
    if missing:
        raise InvalidInput(f"Please answer {', '.join(missing)} before submitting.")
    if not result:
        raise InvalidInput("There is nothing to submit yet; label the task or skip it.")
    now = utcnow()
    done_delta = 0
    annotation = queue._my_annotation(session, task.id, actor.id)
    if annotation is not None and annotation.state == AnnotationState.SUBMITTED:
        _keep_version(session, annotation)
        annotation.result = result
        annotation.updated_at = now
        annotation.lead_time += max(lead_time, 0.0)
        # Work a reviewer sent back goes back to review even where review is not required.
        waiting = _review_status(project, annotation.review_status == ReviewStatus.REJECTED)
        if annotation.review_status != waiting:
            annotation.review_status = waiting
            annotation.reviewed_result = None
        outcome = SubmitOutcome(annotation, True, "Updated.")
    else:
        holds_lock, others = queue._lock_counts(session, task.id, actor.id, now)
        needed = overlap.needed(project, task.id)
        room = not task.done and (holds_lock or task.total_annotations + others < needed)
        # A gold task the queue gave this person: it takes their answer whatever its overlap.
        room = room or (holds_lock and gold._is_gold(session, task.id))
        if annotation is None:
            annotation = Annotation(
                task_id=task.id, project_id=task.project_id, user_id=actor.id, state=AnnotationState.DRAFT,
                result=[], created_at=now,
            )
        elif annotation.state == AnnotationState.SKIPPED:
            _keep_version(session, annotation)
        annotation.result = result
        annotation.updated_at = now
        annotation.lead_time += max(lead_time, 0.0)
        if room:
            annotation.state = AnnotationState.SUBMITTED
            annotation.review_status = _review_status(project)
            annotation.submitted_at = now
            done_delta = counts._annotation_counted(session, task, needed, +1)
            outcome = SubmitOutcome(annotation, True, "Submitted.")
        else:
            annotation.state = AnnotationState.DRAFT
            outcome = SubmitOutcome(
                annotation, False,
                f"While you worked, this task got the {needed} annotation(s) it needs. "
                "Your answer is kept as a draft; nothing was lost.",
            )
    session.add(annotation)
    queue._release(session, task.id, actor.id)
    session.flush()
    if outcome.counted:
        gold._after_submit(session, project, annotation)  # an answer on a gold task is scored; may pause
    # Last: it locks the project's row until the commit, and every submit wants it.
    counts._done_changed(session, project.id, done_delta)
    _annotation_submitted(session, annotation)  # to target storages after the commit; never raises
    # To model servers after the commit, in the background; created: first submitted just now.
    ml_webhooks._annotation_submitted(session, annotation, created=annotation.submitted_at == now)
    active._annotation_counted(session, annotation)  # may start a model's re-prediction after the commit
    return outcome


def _review_status(project: Project, sent_back: bool = False) -> str | None:
    """A submission waits for review ("pending") when the project requires review; else it is
    not reviewed (None): it never enters the review queue, and the "accepted" export filter keeps
    meaning "a reviewer accepted it" (export "completed" to get everything submitted)."""
    return ReviewStatus.PENDING if project.review_required or sent_back else None


def skip(session: Session, actor: User, task_id: int) -> Annotation:
    """Pass on a task: it is not shown to this person again, and others still get it."""
    task, _ = queue.task_for_work(session, actor, task_id)
    annotation = queue._my_annotation(session, task.id, actor.id)
    if annotation is not None and annotation.state == AnnotationState.SUBMITTED:
        raise InvalidInput("You already submitted this task; update it instead of skipping.")
    now = utcnow()
    if annotation is None:
        annotation = Annotation(
            task_id=task.id, project_id=task.project_id, user_id=actor.id, state=AnnotationState.SKIPPED, result=[],
            created_at=now,
        )
    elif annotation.result:
        _keep_version(session, annotation)
    annotation.state = AnnotationState.SKIPPED
    annotation.result = []
    annotation.updated_at = now
    session.add(annotation)
    queue._release(session, task.id, actor.id)
    session.flush()
    return annotation
