"""/api/predictions: a model's result for a task (score, model version), as Label Studio's."""

from __future__ import annotations

from fastapi import Depends

from labelkit.api import schemas
from labelkit.api.auth import NO_NUL, current_user, outsiders_see_nothing
from labelkit.api.routing import Id, QueryId, Router, errors
from labelkit.api.tasks import PageNumber, PageSize, prediction_json
from labelkit.db import session_scope
from labelkit.errors import InvalidInput
from labelkit.labeling import predictions
from labelkit.models import User
from labelkit.reports import task_detail, task_table

router = Router(tags=["predictions"], dependencies=[NO_NUL])


@router.post("/predictions", status_code=201, response_model=schemas.Prediction, responses=errors(400, 401, 403, 404))
def create_prediction(body: schemas.PredictionIn, user: User = Depends(current_user)) -> dict:
    """Add a prediction to a task (managers, and the project's model servers); its result is checked against the project's config."""
    with session_scope() as session:
        task_detail.visible_task(session, user, body.task)
        found = predictions.create_prediction(session, user, body.task, body.result, body.score, body.model_version)
        return prediction_json(found)


@router.get("/predictions", response_model=list[schemas.Prediction], responses=errors(400, 401, 404))
def list_predictions(task: QueryId | None = None, project: QueryId | None = None, page: PageNumber = 1,
                     page_size: PageSize = task_table.MAX_API_PAGE, user: User = Depends(current_user)) -> list[dict]:
    """The predictions of a task (?task=) or of a project (?project=), oldest first, a page
    (`page`, `page_size` up to 1000) at a time: a plain list, as Label Studio answers."""
    if task is None and project is None:
        raise InvalidInput("Name a task (?task=ID) or a project (?project=ID).")
    window = {"offset": (page - 1) * page_size, "limit": page_size}
    with session_scope(write=False) as session:
        if task is not None:
            task_detail.visible_task(session, user, task)
            return [prediction_json(p) for p in predictions.list_predictions(session, user, task_id=task, **window)]
        with outsiders_see_nothing(session, user, project):
            return [prediction_json(p) for p in predictions.list_predictions(session, user, project_id=project, **window)]


@router.get("/predictions/{id}", response_model=schemas.Prediction, responses=errors(400, 401, 404))
def get_prediction(id: Id, user: User = Depends(current_user)) -> dict:
    with session_scope(write=False) as session:
        return prediction_json(task_detail.get_prediction(session, user, id))
