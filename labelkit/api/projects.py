"""/api/projects: list, create, read, update, delete (to the trash), as Label Studio's."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request, Response
from sqlmodel import Session

from labelkit.api import schemas
from labelkit.api.auth import NO_NUL, current_user, outsiders_see_nothing
from labelkit.api.routing import MAX_PAGE, Id, Router, errors
from labelkit.api.system import user_json
from labelkit.auth.permissions import Capability, visible_projects
from labelkit.db import session_scope
from labelkit.errors import InvalidInput, NotFound
from labelkit.ml import backends
from labelkit.models import Project, User
from labelkit.projects import crud, trash

router = Router(tags=["projects"], dependencies=[NO_NUL])

# Label Studio's sampling names and ours.
SAMPLING = {"Sequential sampling": "sequential", "Uniform sampling": "random", "Uncertainty sampling": "uncertainty"}
SAMPLING_NAMES = {ours: theirs for theirs, ours in SAMPLING.items()}
MAX_PAGE_SIZE = 1000


def project_json(session: Session, user: User, project: Project, counts: dict[str, int] | None = None) -> dict:
    counts = counts or crud.totals(session, user, [project.id])[project.id]
    creator = session.get(User, project.created_by) if project.created_by else None
    return {
        "id": project.id,
        "title": project.title,
        "description": project.description,
        "label_config": project.label_config,
        "expert_instruction": project.instructions,
        "show_instruction": bool(project.instructions),
        "maximum_annotations": project.overlap,
        "overlap_cohort_percentage": project.overlap_percent,
        "sampling": SAMPLING_NAMES.get(project.sampling, project.sampling),
        "model_version": project.model_version,
        "task_number": project.task_count,
        "finished_task_number": project.done_count,
        "num_tasks_with_annotations": counts["annotated_tasks"],
        "total_annotations_number": counts["annotations"],
        "skipped_annotations_number": counts["skipped"],
        "total_predictions_number": counts["predictions"],
        "created_by": user_json(creator) if creator else None,
        "created_at": project.created_at,
        "review_required": project.review_required,
    }


def _fields(body: schemas.ProjectIn, fields: crud.ProjectFields) -> crud.ProjectFields:
    """Our project settings with what the body sets (Label Studio's names) applied."""
    given = body.model_dump(exclude_unset=True)
    names = {"title": "title", "description": "description", "label_config": "label_config",
             "expert_instruction": "instructions", "maximum_annotations": "overlap", "overlap_cohort_percentage": "overlap_percent"}
    for theirs, ours in names.items():
        if given.get(theirs) is not None:
            setattr(fields, ours, given[theirs])
    if given.get("sampling") is not None:
        fields.sampling = SAMPLING[given["sampling"]]
    return fields


def page_link(request: Request, page: int | None) -> str | None:
    return None if page is None else str(request.url.include_query_params(page=page))


@router.get("/projects", response_model=schemas.ProjectPage, responses=errors(400, 401, 404))
def list_projects(
    request: Request,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 30,
    user: User = Depends(current_user),
) -> dict:
    """The projects you can open, newest first, a page at a time ({count, next, previous, results})."""
    with session_scope(write=False) as session:
        found = visible_projects(session, user)
        start = (page - 1) * page_size
        if start and start >= len(found):
            raise_invalid_page()
        shown = found[start:start + page_size]
        counts = crud.totals(session, user, [p.id for p in shown])
        results = [project_json(session, user, p, counts[p.id]) for p in shown]
    more = start + page_size < len(found)
    return {"count": len(found), "next": page_link(request, page + 1 if more else None),
            "previous": page_link(request, page - 1 if page > 1 else None), "results": results}


def raise_invalid_page() -> None:
    raise NotFound("Invalid page.")  # Django REST framework's words, which label-studio-sdk's pager stops at


@router.post("/projects", status_code=201, response_model=schemas.Project, responses=errors(400, 401, 403))
def create_project(body: schemas.ProjectIn, user: User = Depends(current_user)) -> dict:
    if not body.label_config:
        raise InvalidInput("Give the project a label_config (Label Studio's XML, e.g. <View>...</View>).")
    with session_scope() as session:
        fields = _fields(body, crud.ProjectFields(title=body.title, label_config=body.label_config))
        project = crud.create_project(session, user, fields)
        return project_json(session, user, project)


@router.get("/projects/{id}", response_model=schemas.Project, responses=errors(400, 401, 404))
def get_project(id: Id, user: User = Depends(current_user)) -> dict:
    with session_scope(write=False) as session, outsiders_see_nothing(session, user, id):
        return project_json(session, user, crud.get_project(session, user, id))


@router.patch("/projects/{id}", response_model=schemas.Project, responses=errors(400, 401, 403, 404))
def update_project(id: Id, body: schemas.ProjectPatch, user: User = Depends(current_user)) -> dict:
    with session_scope() as session, outsiders_see_nothing(session, user, id):
        project = crud.get_project(session, user, id, Capability.PROJECT_EDIT)
        project = crud.update_project(session, user, id, _fields(body, crud.ProjectFields.of(project)))
        if body.model_version is not None and body.model_version != project.model_version:
            project = backends.choose_model_version(session, user, id, body.model_version)
        return project_json(session, user, project)


@router.delete("/projects/{id}", status_code=204, response_class=Response, responses=errors(400, 401, 403, 404))
def delete_project(id: Id, user: User = Depends(current_user)) -> Response:
    """Moves the project, with its tasks and annotations, to the trash (an admin can restore it)."""
    with session_scope() as session, outsiders_see_nothing(session, user, id):
        trash.delete_project(session, user, id)
    return Response(status_code=204)
