"""Review: accept, reject with a comment (the work goes back to its annotator), or fix."""

from __future__ import annotations

import random
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
    Project,
    Review,
    ReviewAction,
    ReviewStatus,
    Task,
    User,
    utcnow,
)
from labelkit.projects import notify
from labelkit.projects.crud import get_project
from labelkit.results.items import missing_required


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


ORDERS = ("oldest", "newest", "random", "disagreement")
# Random and disagreement orders look at this many of the oldest waiting annotations (a
# window, so the page stays fast however long the queue is).
ORDER_WINDOW = 200


def review_queue(session: Session, actor: User, project_id: int, limit: int = 100) -> list[dict]:
    """Submitted annotations waiting for review, in the project's review order; never the reviewer's own.

    oldest/newest: by submission time. random: a shuffle of the oldest ORDER_WINDOW. disagreement:
    of the oldest ORDER_WINDOW, the tasks whose annotators agree least first (tasks with nothing to
    compare after them, oldest first)."""
    project = get_project(session, actor, project_id, Capability.ANNOTATION_REVIEW)
    order = project.review_order if project.review_order in ORDERS else "oldest"
    query = (
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
    )
    if order == "newest":
        query = query.order_by(col(Annotation.submitted_at).desc(), col(Annotation.id).desc()).limit(limit)
    else:
        window = limit if order == "oldest" else max(limit, ORDER_WINDOW)
        query = query.order_by(col(Annotation.submitted_at), col(Annotation.id)).limit(window)
    rows = list(session.exec(query).all())
    if order == "random":
        random.shuffle(rows)
    elif order == "disagreement":
        rows = _least_agreement_first(session, project, rows)
    return [
        {"annotation_id": a.id, "task_id": a.task_id, "annotator": email or "(unknown)", "submitted": a.submitted_at, "result": a.result}
        for a, email in rows[:limit]
    ]


def _least_agreement_first(session: Session, project: Project, rows: list) -> list:
    # Imported here: agreement reads annotations and reviews, and review should not wait on its imports.
    from labelkit import agreement

    scores: dict[int, float | None] = {}
    for annotation, _ in rows:
        if annotation.task_id not in scores:
            scores[annotation.task_id] = agreement._task_agreement(session, project, annotation.task_id)
    # sorted() is stable: within one score, oldest first as fetched.
    return sorted(rows, key=lambda row: (scores[row[0].task_id] is None, scores[row[0].task_id] or 0.0))


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
    review = _record(session, actor, annotation, ReviewAction.REJECT, comment)
    _tell_annotator(session, actor, annotation, "rejected", f"sent task {annotation.task_id} back to you: {comment.strip()}")
    return review


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
    review = _record(session, actor, annotation, ReviewAction.FIX, comment, result)
    note = f": {comment.strip()}" if comment.strip() else "; your original answer is kept beside the fix."
    _tell_annotator(session, actor, annotation, "fixed", f"fixed and accepted your answer on task {annotation.task_id}{note}")
    return review


def _tell_annotator(session: Session, actor: User, annotation: Annotation, kind: str, text: str) -> None:
    if annotation.user_id is not None:
        who = actor.name or actor.email
        notify._send(session, annotation.user_id, kind, f"{who} {text}", annotation.project_id, annotation.task_id)


def send_to_review(session: Session, actor: User, project_id: int, task_ids: list[int]) -> int:
    """Put these tasks' submitted annotations back in the review queue (a manager's second look).

    A reviewer's earlier fix stays on the annotation (kept, not lost) until the next review.
    Returns how many annotations now wait for review."""
    get_project(session, actor, project_id, Capability.TASK_ASSIGN)
    ids = sorted({int(t) for t in task_ids})
    if not ids:
        raise InvalidInput("Pick the tasks to send to review.")
    annotations = session.exec(
        select(Annotation).where(
            Annotation.project_id == project_id,
            col(Annotation.task_id).in_(ids),
            Annotation.state == AnnotationState.SUBMITTED,
            Annotation.deleted_at.is_(None),
            col(Annotation.review_status).is_distinct_from(ReviewStatus.PENDING),
        )
    ).all()
    for annotation in annotations:
        annotation.review_status = ReviewStatus.PENDING
        session.add(annotation)
    for task_id in sorted({a.task_id for a in annotations}):  # one event per task: its history shows it
        audit.record(session, actor, "review.requested", f"task:{task_id}", project_id, task=task_id)
    session.flush()
    return len(annotations)


def effective_result(annotation: Annotation) -> list:
    """What the annotation says after review: the reviewer's fix if there is one."""
    return annotation.reviewed_result if annotation.reviewed_result is not None else annotation.result
