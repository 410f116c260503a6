"""Browsing a project's tasks (the data table on the project page), and one task with its
annotations and predictions (the REST API)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from labelkit.auth.permissions import Capability, can, require
from labelkit.errors import NotFound
from labelkit.models import Annotation, AnnotationState, Prediction, Task, TaskLock, User
from labelkit.projects.crud import get_project


def list_tasks(session: Session, actor: User, project_id: int, offset: int = 0, limit: int = 50) -> tuple[list[dict], int]:
    """A page of tasks, newest last, and how many there are."""
    project = get_project(session, actor, project_id, Capability.PROJECT_EDIT)
    live = (Task.project_id == project_id) & Task.deleted_at.is_(None)
    total = project.task_count
    tasks = session.exec(select(Task).where(live).order_by(col(Task.id)).offset(offset).limit(limit)).all()
    return [{"id": t.id, "data": t.data, "annotations": t.total_annotations, "created": t.created_at} for t in tasks], total


# One task with its work, as the REST API shows it (Label Studio's task JSON).


@dataclass
class TaskDetail:
    task: Task
    annotations: list[Annotation]  # submitted and skipped, not drafts; only the caller's own for annotators
    predictions: list[Prediction]


def _shown_annotations():
    return col(Annotation.state).in_([AnnotationState.SUBMITTED, AnnotationState.SKIPPED]) & Annotation.deleted_at.is_(None)


def details(session: Session, actor: User, tasks: list[Task], only_own: bool = False) -> list[TaskDetail]:
    """The annotations and predictions of tasks (two queries for the lot): everyone's for
    someone who browses the tasks' projects, or with `only_own` only the actor's own
    annotations, for someone who labels there (the task they were just given)."""
    needed = Capability.PROJECT_VIEW if only_own else Capability.TASK_BROWSE
    for project_id in {t.project_id for t in tasks}:
        require(session, actor, needed, project_id)
    return _details(session, tasks, actor.id if only_own else None)


def _details(session: Session, tasks: list[Task], only_user_id: int | None) -> list[TaskDetail]:
    ids = [t.id for t in tasks]
    found: dict[int, TaskDetail] = {t.id: TaskDetail(t, [], []) for t in tasks}
    if not ids:
        return []
    query = select(Annotation).where(col(Annotation.task_id).in_(ids), _shown_annotations())
    if only_user_id is not None:
        query = query.where(Annotation.user_id == only_user_id)
    for annotation in session.exec(query.order_by(col(Annotation.id))):
        found[annotation.task_id].annotations.append(annotation)
    for prediction in session.exec(select(Prediction).where(col(Prediction.task_id).in_(ids)).order_by(col(Prediction.id))):
        found[prediction.task_id].predictions.append(prediction)
    return [found[i] for i in ids]


def tasks_by_id(session: Session, actor: User, project_id: int, ids: list[int]) -> list[Task]:
    """Live tasks of a project whose tasks the actor browses, in the order of `ids` (such as a
    page of task_table.page_ids); ids of other projects are left out."""
    require(session, actor, Capability.TASK_BROWSE, project_id)
    if not ids:
        return []
    query = select(Task).where(col(Task.id).in_(ids), Task.project_id == project_id, Task.deleted_at.is_(None))
    rows = {t.id: t for t in session.exec(query)}
    return [rows[i] for i in ids if i in rows]


def own_work(user_id: int, task_id=Task.id):
    """Which tasks someone who labels but does not browse a project sees (visible_task): the
    ones they worked on or hold. A SQL condition on a column of task ids, so a listing keeps
    to the same rule as one task."""
    mine = select(Annotation.task_id).where(Annotation.user_id == user_id)
    held = select(TaskLock.task_id).where(TaskLock.user_id == user_id)
    return col(task_id).in_(mine) | col(task_id).in_(held)


def _own_work(session: Session, task_id: int, user_id: int) -> bool:
    return session.exec(select(Task.id).where(Task.id == task_id, own_work(user_id)).limit(1)).first() is not None


def visible_task(session: Session, actor: User, task_id: int) -> tuple[Task, int | None]:
    """A task the actor may read, and whose annotations they see (None: everyone's; else
    their own): anyone who browses the project's tasks sees it whole; an annotator sees a
    task they worked on or hold, with their own work. Otherwise it does not exist for them."""
    task = session.get(Task, task_id)
    if task is None or task.deleted_at is not None:
        raise NotFound(f"There is no task {task_id}.")
    if can(session, actor, Capability.TASK_BROWSE, task.project_id):
        return task, None
    if can(session, actor, Capability.PROJECT_VIEW, task.project_id) and _own_work(session, task.id, actor.id):
        return task, actor.id
    raise NotFound(f"There is no task {task_id}.")


def get_task(session: Session, actor: User, task_id: int) -> TaskDetail:
    task, only = visible_task(session, actor, task_id)
    return _details(session, [task], only)[0]


def get_annotation(session: Session, actor: User, annotation_id: int) -> Annotation:
    """An annotation (not a draft) the actor may read: their own, or any in a project whose tasks they browse."""
    annotation = session.get(Annotation, annotation_id)
    hidden = annotation is None or annotation.deleted_at is not None or annotation.state == AnnotationState.DRAFT
    if not hidden and (annotation.user_id == actor.id or can(session, actor, Capability.TASK_BROWSE, annotation.project_id)):
        require(session, actor, Capability.PROJECT_VIEW, annotation.project_id)
        return annotation
    raise NotFound(f"There is no annotation {annotation_id}.")


def get_prediction(session: Session, actor: User, prediction_id: int) -> Prediction:
    """A prediction of a task the actor may read (visible_task)."""
    prediction = session.get(Prediction, prediction_id)
    if prediction is None or not can(session, actor, Capability.PROJECT_VIEW, prediction.project_id):
        raise NotFound(f"There is no prediction {prediction_id}.")
    try:
        visible_task(session, actor, prediction.task_id)
    except NotFound:
        raise NotFound(f"There is no prediction {prediction_id}.") from None
    return prediction
