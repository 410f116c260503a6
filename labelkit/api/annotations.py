"""A task's annotations: list, create (submit as the caller, or skip), read, update (the
earlier version is kept), delete (to the trash, managers)."""

from __future__ import annotations

from fastapi import Depends, Response
from sqlmodel import Session

from labelkit.api import schemas
from labelkit.api.auth import NO_NUL, current_user
from labelkit.api.routing import Id, Router, errors
from labelkit.api.tasks import annotation_json
from labelkit.config import check_config
from labelkit.db import session_scope
from labelkit.errors import Conflict, PermissionDenied
from labelkit.labeling import predictions, submissions
from labelkit.models import User
from labelkit.projects import crud, trash
from labelkit.reports import task_detail

router = Router(tags=["annotations"], dependencies=[NO_NUL])


def _checked(session: Session, user: User, project_id: int, result: list) -> list:
    """A result from outside in Label Studio's shape: items with a type and a value, naming
    controls of the project's config (relations, which link regions, aside)."""
    config = check_config(crud.get_project(session, user, project_id).label_config)
    predictions.check_result([item for item in result if item.get("type") != "relation"], set(config.controls))
    return result


@router.get("/tasks/{id}/annotations", response_model=list[schemas.Annotation], responses=errors(400, 401, 404))
def list_annotations(id: Id, user: User = Depends(current_user)) -> list[dict]:
    """The task's submitted and skipped annotations (an annotator sees only their own)."""
    with session_scope(write=False) as session:
        return [annotation_json(a) for a in task_detail.get_task(session, user, id).annotations]


@router.post("/tasks/{id}/annotations", status_code=201, response_model=schemas.Annotation,
             responses=errors(400, 401, 403, 404, 409))
def create_annotation(id: Id, body: schemas.AnnotationIn, user: User = Depends(current_user)) -> dict:
    """Submit your annotation of the task, as the labeling page does (one per person and task:
    if you already submitted, this updates it and keeps the earlier version); with
    was_cancelled, skip the task instead. 409 when the task got all the annotations it needs
    meanwhile: your result is kept as a draft."""
    with session_scope() as session:
        task, _ = task_detail.visible_task(session, user, id)
        if body.was_cancelled:
            return annotation_json(submissions.skip(session, user, id))
        outcome = submissions.submit(session, user, id, _checked(session, user, task.project_id, body.result), body.lead_time)
        if not outcome.counted:
            session.commit()  # the draft is kept; the caller hears why it is not an annotation
            raise Conflict(outcome.message)
        return annotation_json(outcome.annotation)


@router.get("/annotations/{id}", response_model=schemas.Annotation, responses=errors(400, 401, 404))
def get_annotation(id: Id, user: User = Depends(current_user)) -> dict:
    with session_scope(write=False) as session:
        return annotation_json(task_detail.get_annotation(session, user, id))


@router.patch("/annotations/{id}", response_model=schemas.Annotation, responses=errors(400, 401, 403, 404))
def update_annotation(id: Id, body: schemas.AnnotationPatch, user: User = Depends(current_user)) -> dict:
    """Update your own submitted annotation; the earlier version is kept."""
    with session_scope() as session:
        annotation = task_detail.get_annotation(session, user, id)
        if annotation.user_id != user.id:
            raise PermissionDenied("You can update only your own annotations; reviewers fix others' work on the Review page.")
        result = _checked(session, user, annotation.project_id, body.result)
        return annotation_json(submissions.submit(session, user, annotation.task_id, result, body.lead_time).annotation)


@router.delete("/annotations/{id}", status_code=204, response_class=Response, responses=errors(400, 401, 403, 404))
def delete_annotation(id: Id, user: User = Depends(current_user)) -> Response:
    """Moves the annotation to the trash (managers; an admin can restore it)."""
    with session_scope() as session:
        task_detail.get_annotation(session, user, id)
        trash.delete_annotation(session, user, id)
    return Response(status_code=204)
