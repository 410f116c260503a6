"""Review: accept, reject with a comment (the work goes back to its annotator), or fix."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, func, select

from labelkit import audit
from labelkit.auth.permissions import Capability
from labelkit.config import task_config
from labelkit.errors import InvalidInput, NotFound, PermissionDenied
from labelkit.models import (
    Annotation,
    AnnotationState,
    Prediction,
    Review,
    ReviewAction,
    ReviewStatus,
    Task,
    User,
    utcnow,
)
from labelkit.projects import get_project
from labelkit.results import missing_required


@dataclass
class AnnotationView:
    annotation: Annotation
    annotator: str
    reviews: list[Review]


@dataclass
class TaskReview:
    task: Task
    annotations: list[AnnotationView]
    predictions: list[Prediction]


def review_queue(session: Session, actor: User, project_id: int, limit: int = 100) -> list[dict]:
    """Submitted annotations waiting for review, oldest first; never the reviewer's own."""
    get_project(session, actor, project_id, Capability.ANNOTATION_REVIEW)
    rows = session.exec(
        select(Annotation, User.email)
        .join(Task, Task.id == Annotation.task_id)
        .join(User, User.id == Annotation.user_id, isouter=True)
        .where(
            Annotation.project_id == project_id,
            Annotation.state == AnnotationState.SUBMITTED,
            Annotation.review_status == ReviewStatus.PENDING,
            Annotation.deleted_at.is_(None),
            Task.deleted_at.is_(None),
            col(Annotation.user_id).is_distinct_from(actor.id),
        )
        .order_by(col(Annotation.submitted_at), col(Annotation.id))
        .limit(limit)
    ).all()
    return [
        {"annotation_id": a.id, "task_id": a.task_id, "annotator": email or "(unknown)", "submitted": a.submitted_at, "result": a.result}
        for a, email in rows
    ]


def own_pending(session: Session, actor: User, project_id: int) -> int:
    """The actor's own submitted work waiting for another reviewer."""
    get_project(session, actor, project_id, Capability.ANNOTATION_REVIEW)
    return session.exec(
        select(func.count(Annotation.id)).where(
            Annotation.project_id == project_id,
            Annotation.user_id == actor.id,
            Annotation.state == AnnotationState.SUBMITTED,
            Annotation.review_status == ReviewStatus.PENDING,
            Annotation.deleted_at.is_(None),
        )
    ).one()


def task_for_review(session: Session, actor: User, task_id: int) -> TaskReview:
    """A task with every submitted annotation, side by side, and their reviews."""
    task = session.get(Task, task_id)
    if task is None or task.deleted_at is not None:
        raise NotFound(f"There is no task {task_id}.")
    get_project(session, actor, task.project_id, Capability.ANNOTATION_REVIEW)
    rows = session.exec(
        select(Annotation, User.email)
        .join(User, User.id == Annotation.user_id, isouter=True)
        .where(
            Annotation.task_id == task_id,
            Annotation.state == AnnotationState.SUBMITTED,
            Annotation.deleted_at.is_(None),
        )
        .order_by(col(Annotation.id))
    ).all()
    views = []
    for annotation, email in rows:
        reviews = session.exec(
            select(Review).where(Review.annotation_id == annotation.id).order_by(col(Review.id))
        ).all()
        views.append(AnnotationView(annotation, email or "(unknown)", list(reviews)))
    predictions = session.exec(select(Prediction).where(Prediction.task_id == task_id)).all()
    return TaskReview(task, views, list(predictions))


def _reviewable(session: Session, actor: User, annotation_id: int) -> Annotation:
    annotation = session.get(Annotation, annotation_id)
    if annotation is None or annotation.deleted_at is not None:
        raise NotFound(f"There is no annotation {annotation_id}.")
    get_project(session, actor, annotation.project_id, Capability.ANNOTATION_REVIEW)
    if annotation.user_id == actor.id:
        raise PermissionDenied("You cannot review your own work; another reviewer has to.")
    if annotation.state != AnnotationState.SUBMITTED:
        raise InvalidInput("Only submitted annotations can be reviewed.")
    return annotation


def _record(session: Session, actor: User, annotation: Annotation, action: ReviewAction, comment: str, result: list | None = None) -> Review:
    review = Review(annotation_id=annotation.id, reviewer_id=actor.id, action=action, comment=comment.strip(), result=result)
    session.add(review)
    session.add(annotation)
    session.flush()
    audit.record(
        session, actor, f"review.{action}", f"annotation:{annotation.id}", annotation.project_id, task=annotation.task_id
    )
    return review


def accept(session: Session, actor: User, annotation_id: int, comment: str = "") -> Review:
    annotation = _reviewable(session, actor, annotation_id)
    annotation.review_status = ReviewStatus.ACCEPTED
    return _record(session, actor, annotation, ReviewAction.ACCEPT, comment)


def reject(session: Session, actor: User, annotation_id: int, comment: str) -> Review:
    """Send the work back to its annotator, who sees the comment."""
    if not comment or not comment.strip():
        raise InvalidInput("Say what is wrong, so the annotator can fix it.")
    annotation = _reviewable(session, actor, annotation_id)
    annotation.review_status = ReviewStatus.REJECTED
    return _record(session, actor, annotation, ReviewAction.REJECT, comment)


def fix(session: Session, actor: User, annotation_id: int, result: list, comment: str = "") -> Review:
    """Accept with the reviewer's correction; the annotator's own result is kept beside it."""
    annotation = _reviewable(session, actor, annotation_id)
    project = get_project(session, actor, annotation.project_id, Capability.ANNOTATION_REVIEW)
    task = session.get(Task, annotation.task_id)
    missing = missing_required(task_config(project.label_config, task.data if task else {}), result)
    if missing or not result:
        raise InvalidInput(f"The fixed result is incomplete: answer {', '.join(missing) or 'something'}.")
    annotation.reviewed_result = result
    annotation.review_status = ReviewStatus.ACCEPTED
    annotation.updated_at = utcnow()
    return _record(session, actor, annotation, ReviewAction.FIX, comment, result)


def effective_result(annotation: Annotation) -> list:
    """What the annotation says after review: the reviewer's fix if there is one."""
    return annotation.reviewed_result if annotation.reviewed_result is not None else annotation.result
