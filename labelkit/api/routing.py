"""What every route module shares: a router that answers with and without the trailing
slash (Label Studio's clients ask for /api/projects/, people type /api/projects), the id
types (within the database's integer range, so an id too large is a 422/400, not a 500),
and the error responses each route declares."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from starlette.routing import compile_path

from labelkit.api.schemas import Error
from labelkit.auth.permissions import Capability

MAX_ID = 2**31 - 1  # ids are INTEGER columns
MAX_PAGE = 1_000_000

Id = Annotated[int, Path(ge=1, le=MAX_ID, description="An id")]
QueryId = Annotated[int, Query(ge=1, le=MAX_ID)]


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The error statuses a route can answer with, each a JSON {"detail": ...}."""
    meaning = {
        400: "Bad input (the detail says what)",
        401: "No valid token or session",
        403: "Your role does not allow this",
        404: "No such thing, or not one you may see",
        409: "It conflicts with the current state",
    }
    return {code: {"model": Error, "description": meaning[code]} for code in codes}


PUBLIC, SIGNED_IN = "public", "signed-in"
C = Capability

# Who may call each route: a Capability (in the project the route's ids belong to, or
# portal-wide), SIGNED_IN (any active account; what it sees is limited to its projects) or
# PUBLIC. The services check it; this declares it, for the OpenAPI description
# (x-labelkit-access) and tests/unit/test_api_access_matrix.py, which calls every route as
# every role and fails for a route that is not declared here.
ACCESS: dict[tuple[str, str], Capability | str] = {
    ("GET", "/health"): PUBLIC,
    ("GET", "/version"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs-assets"): PUBLIC,
    ("GET", "/current-user/whoami"): SIGNED_IN,
    ("GET", "/projects"): SIGNED_IN,
    ("POST", "/projects"): C.PROJECT_CREATE,
    ("GET", "/projects/{id}"): C.PROJECT_VIEW,
    ("PATCH", "/projects/{id}"): C.PROJECT_EDIT,
    ("DELETE", "/projects/{id}"): C.PROJECT_DELETE,
    ("POST", "/projects/{id}/import"): C.TASK_IMPORT,
    ("GET", "/projects/{id}/export"): C.PROJECT_EXPORT,
    ("GET", "/projects/{id}/export/formats"): C.PROJECT_EXPORT,
    ("GET", "/projects/{id}/next"): C.TASK_ANNOTATE,
    ("GET", "/projects/{id}/tasks"): C.TASK_BROWSE,
    ("GET", "/tasks"): C.TASK_BROWSE,
    ("GET", "/tasks/{id}"): C.PROJECT_VIEW,  # an annotator: the tasks they hold or worked on
    ("DELETE", "/tasks/{id}"): C.TASK_DELETE,
    ("GET", "/tasks/{id}/annotations"): C.PROJECT_VIEW,  # an annotator: their own
    ("POST", "/tasks/{id}/annotations"): C.TASK_ANNOTATE,
    ("GET", "/annotations/{id}"): C.PROJECT_VIEW,  # an annotator: their own
    ("PATCH", "/annotations/{id}"): C.TASK_ANNOTATE,  # one's own annotation only
    ("DELETE", "/annotations/{id}"): C.ANNOTATION_DELETE,
    ("POST", "/predictions"): C.PREDICTION_CREATE,
    ("GET", "/predictions"): C.PROJECT_VIEW,
    ("GET", "/predictions/{id}"): C.PROJECT_VIEW,
}

# Every path's methods (a path's routes are one route per method), for a 405's Allow header.
METHODS: dict[re.Pattern, set[str]] = {}


def allowed_methods(path: str) -> set[str]:
    path = path.rstrip("/") or "/"
    found = set().union(*(methods for regex, methods in METHODS.items() if regex.match(path)))
    return found | {"HEAD"} if "GET" in found else found


class Router(APIRouter):
    """Each route also under its other spelling (with or without a trailing slash), that one
    left out of the OpenAPI description."""

    def add_api_route(self, path: str, endpoint, **kwargs: Any) -> None:
        access = {ACCESS[(m, path)] for m in kwargs.get("methods") or () if (m, path) in ACCESS}
        if access:  # who may call it, in the OpenAPI description too
            kwargs["openapi_extra"] = {**(kwargs.get("openapi_extra") or {}), "x-labelkit-access": str(access.pop())}
        super().add_api_route(path, endpoint, **kwargs)
        regex = compile_path(path.rstrip("/") or "/")[0]
        METHODS.setdefault(regex, set()).update(kwargs.get("methods") or ())
        other = path[:-1] if path.endswith("/") else f"{path}/"
        if other:
            super().add_api_route(other, endpoint, **{**kwargs, "include_in_schema": False})
