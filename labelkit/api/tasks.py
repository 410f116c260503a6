"""/api/tasks and a project's tasks: list (paged, with filters), read, delete (to the trash),
and the next task of the queue for the caller (claimed as the labeling page claims it)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Response
from sqlmodel import Session

from labelkit.api import schemas
from labelkit.api.auth import NO_NUL, current_user, outsiders_see_nothing
from labelkit.api.routing import MAX_PAGE, Id, QueryId, Router, errors
from labelkit.db import session_scope
from labelkit.errors import NotFound
from labelkit.labeling import queue
from labelkit.models import Annotation, AnnotationState, Prediction, User
from labelkit.projects import crud, trash
from labelkit.reports import task_detail, task_table

router = Router(tags=["tasks"], dependencies=[NO_NUL])

PageNumber = Annotated[int, Query(ge=1, le=MAX_PAGE)]
PageSize = Annotated[int, Query(ge=1, le=task_table.MAX_API_PAGE)]


def annotation_json(a: Annotation) -> dict:
    return {
        "id": a.id, "result": a.result or [], "was_cancelled": a.state == AnnotationState.SKIPPED,
        "ground_truth": a.ground_truth, "lead_time": a.lead_time, "completed_by": a.user_id, "task": a.task_id,
        "project": a.project_id, "created_at": a.created_at, "updated_at": a.updated_at, "review_status": a.review_status,
    }


def prediction_json(p: Prediction) -> dict:
    return {"id": p.id, "result": p.result or [], "score": p.score, "model_version": p.model_version, "task": p.task_id,
            "project": p.project_id, "created_at": p.created_at}


def task_json(detail: task_detail.TaskDetail) -> dict:
    task = detail.task
    return {
        "id": task.id,
        "data": task.data or {},
        "annotations": [annotation_json(a) for a in detail.annotations],
        "predictions": [prediction_json(p) for p in detail.predictions],
        "project": task.project_id,
        "total_annotations": task.total_annotations,
        "cancelled_annotations": sum(1 for a in detail.annotations if a.state == AnnotationState.SKIPPED),
        "total_predictions": len(detail.predictions),
        "is_labeled": task.done,
        "created_at": task.created_at,
        "meta": {},
    }


def _page(session: Session, user: User, project_id: int, query: task_table.TaskQuery, page: int, size: int) -> list[dict]:
    ids, _ = task_table.page_ids(session, user, project_id, query, page, size)
    if not ids and page > 1:
        raise NotFound("Invalid page.")  # as Django REST framework says it; label-studio-sdk's pager stops there
    return [task_json(d) for d in task_detail.details(session, user, task_detail.tasks_by_id(session, user, project_id, ids))]


def _query(only_annotated: bool | None, labeled: bool | None, annotator: str | None, label: str | None,
           review: str | None, search: str | None) -> task_table.TaskQuery:
    return task_table.TaskQuery(labeled=True if only_annotated else labeled, annotator=annotator, label=label,
                                review=review, search=search)


Text = Annotated[str | None, Query(max_length=500)]


@router.get("/tasks", response_model=schemas.TaskPage, responses=errors(400, 401, 403, 404))
def list_tasks(
    project: QueryId,
    page: PageNumber = 1,
    page_size: PageSize = 100,
    only_annotated: bool | None = None,
    labeled: Annotated[bool | None, Query(description="labelkit: with (true) or without (false) a submitted annotation")] = None,
    annotator: Text = None,
    label: Text = None,
    review: Annotated[str | None, Query(description="pending, accepted, rejected, or 'not reviewed'")] = None,
    search: Text = None,
    user: User = Depends(current_user),
) -> dict:
    """A page of a project's tasks with their annotations and predictions (for reviewers and managers)."""
    query = _query(only_annotated, labeled, annotator, label, review, search)
    with session_scope(write=False) as session, outsiders_see_nothing(session, user, project):
        tasks = _page(session, user, project, query, page, page_size)
        total, _ = task_table.count(session, user, project, query)
        counts = crud.totals(session, user, [project])[project]
    return {"tasks": tasks, "total": total, "total_annotations": counts["annotations"], "total_predictions": counts["predictions"]}


@router.get("/projects/{id}/tasks", response_model=list[schemas.Task], responses=errors(400, 401, 403, 404))
def project_tasks(id: Id, page: PageNumber = 1, page_size: PageSize = 100,
                  user: User = Depends(current_user)) -> list[dict]:
    """A page of the project's tasks, as a plain list."""
    with session_scope(write=False) as session, outsiders_see_nothing(session, user, id):
        return _page(session, user, id, task_table.TaskQuery(), page, page_size)


@router.get("/tasks/{id}", response_model=schemas.Task, responses=errors(400, 401, 404))
def get_task(id: Id, user: User = Depends(current_user)) -> dict:
    """A task with its annotations (an annotator sees only their own) and predictions."""
    with session_scope(write=False) as session:
        return task_json(task_detail.get_task(session, user, id))


@router.delete("/tasks/{id}", status_code=204, response_class=Response, responses=errors(400, 401, 403, 404))
def delete_task(id: Id, user: User = Depends(current_user)) -> Response:
    """Moves the task and its annotations to the trash (managers)."""
    with session_scope() as session:
        task, _ = task_detail.visible_task(session, user, id)
        trash.delete_tasks(session, user, task.project_id, [task.id])
    return Response(status_code=204)


@router.get("/projects/{id}/next", response_model=schemas.NextTask, responses=errors(400, 401, 403, 404))
def next_task(id: Id, user: User = Depends(current_user)) -> dict:
    """The task you should label now, held for you as the labeling page holds it: the one you
    hold, else your work sent back or a draft, else a new one. 404 when there is none for you."""
    with session_scope() as session, outsiders_see_nothing(session, user, id):
        assignment = queue.claim_next(session, user, id)
        if assignment is None:
            raise NotFound(f"There are no more tasks for you in project {id}.")
        return {**task_json(task_detail.details(session, user, [assignment.task], only_own=True)[0]), "queue": assignment.reason}
