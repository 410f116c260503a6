"""Gold tasks: a manager marks an annotation as the task's ground truth (GROUND_TRUTH);
the queue mixes such tasks unannounced into each annotator's new work at about the
project's gold_percent (labelkit/labeling/queue.py); each answer on one is scored against the
truth with labelkit.agreement.score, and an annotator whose mean accuracy falls below
gold_min_accuracy after gold_min_tasks gold tasks is paused and the managers told.

A task has at most one ground truth. The truth is the reviewer's corrected result when
there is one, else the annotation's own result."""

from __future__ import annotations

import logging

from sqlalchemy import and_, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from labelkit import audit
from labelkit.auth.permissions import Capability
from labelkit.errors import InvalidInput, NotFound
from labelkit.labeling import assign
from labelkit.models import (
    Annotation,
    AnnotationState,
    Membership,
    Project,
    ReviewStatus,
    Role,
    Task,
    User,
)
from labelkit.projects.crud import get_project

log = logging.getLogger(__name__)


def truth_of(annotation: Annotation) -> list:
    return annotation.reviewed_result or (annotation.result or [])


def score(label_config: str, mine: list, truth: list) -> float | None:
    """How close an answer is to the truth, in [0, 1] (None: nothing comparable)."""
    try:
        from labelkit.agreement import score as agreement_score
    except ImportError:  # until labelkit.agreement.score lands: the same values or not
        from labelkit.results.items import values_of

        theirs = values_of(truth)
        return None if not theirs else float(values_of(mine) == theirs)
    return agreement_score(label_config, mine, truth)


def _set(session: Session, annotation: Annotation, on: bool) -> bool:
    """Mark (or unmark) one annotation; a task keeps one truth. Returns whether it changed."""
    if annotation.ground_truth == on:
        return False
    if on:
        session.execute(
            update(Annotation)
            .where(Annotation.task_id == annotation.task_id, Annotation.id != annotation.id, col(Annotation.ground_truth))
            .values(ground_truth=False)
        )
    annotation.ground_truth = on
    session.add(annotation)
    return True


def mark_ground_truth(session: Session, actor: User, annotation_id: int, on: bool = True) -> Annotation:
    """Make a submitted annotation its task's ground truth (on=False: no longer)."""
    annotation = session.get(Annotation, int(annotation_id))
    if annotation is None or annotation.deleted_at is not None:
        raise NotFound(f"There is no annotation {annotation_id}.")
    get_project(session, actor, annotation.project_id, Capability.GROUND_TRUTH)
    if on and annotation.state != AnnotationState.SUBMITTED:
        raise InvalidInput("Only a submitted annotation can be the ground truth (this one is a draft or a skip).")
    if on and annotation.review_status == ReviewStatus.REJECTED:
        raise InvalidInput("This annotation was sent back by a reviewer; it cannot be the ground truth.")
    task = session.get(Task, annotation.task_id)
    if task is None or task.deleted_at is not None:
        raise NotFound(f"There is no task {annotation.task_id}.")
    if _set(session, annotation, bool(on)):
        audit.record(
            session, actor, "annotation.ground_truth" if on else "annotation.ground_truth_off",
            f"annotation:{annotation.id}", annotation.project_id, task=annotation.task_id,
        )
        session.flush()
    return annotation


def mark_tasks(session: Session, actor: User, project_id: int, task_ids: list[int]) -> int:
    """Make these tasks gold: each one's accepted annotation (else its latest submitted one)
    becomes its ground truth. Tasks with no submitted annotation are left as they are.
    Returns how many tasks now have a ground truth they did not have before."""
    get_project(session, actor, project_id, Capability.GROUND_TRUTH)
    ids = sorted({int(t) for t in task_ids})
    if not ids:
        raise InvalidInput("Pick at least one task.")
    live = set(
        session.exec(select(Task.id).where(col(Task.id).in_(ids), Task.project_id == project_id, Task.deleted_at.is_(None))).all()
    )
    missing = [i for i in ids if i not in live]
    if missing:
        raise NotFound(f"There is no task {missing[0]} in this project; nothing was marked.")
    rows = session.exec(
        select(Annotation)
        .where(
            col(Annotation.task_id).in_(ids),
            Annotation.state == AnnotationState.SUBMITTED,
            Annotation.deleted_at.is_(None),
            (Annotation.review_status != ReviewStatus.REJECTED) | col(Annotation.review_status).is_(None),
        )
        .order_by(Annotation.task_id)
    ).all()
    best: dict[int, Annotation] = {}
    already: set[int] = set()
    for a in rows:
        if a.ground_truth:
            already.add(a.task_id)
        current = best.get(a.task_id)
        rank = (a.review_status == ReviewStatus.ACCEPTED, a.submitted_at or a.updated_at, a.id)
        if current is None or rank > (current.review_status == ReviewStatus.ACCEPTED, current.submitted_at or current.updated_at, current.id):
            best[a.task_id] = a
    marked = 0
    for task_id, annotation in best.items():
        if task_id in already:
            continue  # a truth a manager chose stays
        _set(session, annotation, True)
        marked += 1
    if marked:
        audit.record(session, actor, "task.gold", f"project:{project_id}", project_id, tasks=sorted(t for t in best if t not in already))
    session.flush()
    return marked


def _pairs(session: Session, project_id: int, user_id: int | None = None):
    """(the person's submitted annotation, the truth of the same task) for gold tasks in a project."""
    truth = aliased(Annotation)
    query = (
        select(Annotation, truth)
        .join(truth, and_(truth.task_id == Annotation.task_id, col(truth.ground_truth), truth.deleted_at.is_(None)))
        .join(Task, Task.id == Annotation.task_id)
        .where(
            Annotation.project_id == project_id,
            Annotation.state == AnnotationState.SUBMITTED,
            Annotation.deleted_at.is_(None),
            Annotation.id != truth.id,
            col(Annotation.user_id).is_not(None),
            Task.deleted_at.is_(None),
        )
    )
    if user_id is not None:
        query = query.where(Annotation.user_id == user_id)
    return session.exec(query).all()


def _accuracies(session: Session, project: Project, user_id: int | None = None) -> dict[int, tuple[int, float | None]]:
    """user id -> (gold tasks scored, mean accuracy)."""
    scores: dict[int, list[float]] = {}
    for mine, truth in _pairs(session, project.id, user_id):
        value = score(project.label_config, mine.result or [], truth_of(truth))
        bucket = scores.setdefault(mine.user_id, [])
        if value is not None:
            bucket.append(float(value))
    return {u: (len(v), (sum(v) / len(v)) if v else None) for u, v in scores.items()}


def accuracy(session: Session, actor: User, project_id: int) -> list[tuple[str, int, float | None, bool]]:
    """Each annotator's accuracy on gold tasks: (email, gold tasks scored, mean accuracy 0-1, paused)."""
    project = get_project(session, actor, project_id, Capability.PROGRESS_VIEW)
    found = _accuracies(session, project)
    if not found:
        return []
    people = session.exec(
        select(User.id, User.email, Membership.paused_at)
        .join(Membership, (Membership.user_id == User.id) & (Membership.project_id == project_id), isouter=True)
        .where(col(User.id).in_(list(found)))
    ).all()
    rows = [(email, found[uid][0], found[uid][1], paused is not None) for uid, email, paused in people]
    return sorted(rows, key=lambda r: (r[2] is None, r[2] if r[2] is not None else 0, r[0]))


def _is_gold(session: Session, task_id: int) -> bool:
    return session.exec(
        select(Annotation.id).where(Annotation.task_id == task_id, col(Annotation.ground_truth), Annotation.deleted_at.is_(None)).limit(1)
    ).first() is not None


def _after_submit(session: Session, project: Project, annotation: Annotation) -> None:
    """Called by labelkit.labeling.submissions.submit after its write: on a gold task, check the person's
    accuracy and pause them (telling the managers) when it is below the project's bar."""
    if project.gold_min_accuracy is None or annotation.ground_truth or annotation.user_id is None:
        return
    if not _is_gold(session, annotation.task_id):
        return
    tasks, mean = _accuracies(session, project, annotation.user_id).get(annotation.user_id, (0, None))
    if mean is None or tasks < project.gold_min_tasks or mean >= project.gold_min_accuracy:
        return
    if assign._paused_reason(session, project.id, annotation.user_id) is not None:
        return
    membership = session.exec(
        select(Membership).where(Membership.project_id == project.id, Membership.user_id == annotation.user_id)
    ).first()
    if membership is None or membership.role == Role.MANAGER:
        return
    reason = (
        f"Your answers on quality-check tasks matched the expected answers {mean:.0%} of the time "
        f"(this project asks for {project.gold_min_accuracy:.0%}). A manager will look at it with you."
    )
    assign.pause(session, None, project.id, annotation.user_id, reason, check=False)
    person = session.get(User, annotation.user_id)
    managers = session.exec(
        select(Membership.user_id).where(Membership.project_id == project.id, Membership.role == Role.MANAGER)
    ).all()
    for manager_id in managers:
        assign._notify(
            session, manager_id, "paused",
            f"{person.email if person else 'An annotator'} was paused in {project.title!r}: accuracy on gold tasks "
            f"{mean:.0%} over {tasks} tasks is below {project.gold_min_accuracy:.0%}. Resume them on the Workload tab.",
            project_id=project.id,
        )
