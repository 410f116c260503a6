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


# Every path's methods (a path's routes are one route per method), for a 405's Allow header.
METHODS: dict[re.Pattern, set[str]] = {}


def allowed_methods(path: str) -> set[str]:
    path = path.rstrip("/") or "/"
    found = set().union(*(methods for regex, methods in METHODS.items() if regex.match(path)))
    return found | {"HEAD"} if "GET" in found else found


class Router(APIRouter):
    """Each route also under its other spelling (with or without a trailing slash), that one
    left out of the OpenAPI description."""

    def add_api_route(self, path: str, endpoint, **kwargs: Any) -> None:  # noqa: ANN001
        super().add_api_route(path, endpoint, **kwargs)
        regex = compile_path(path.rstrip("/") or "/")[0]
        METHODS.setdefault(regex, set()).update(kwargs.get("methods") or ())
        other = path[:-1] if path.endswith("/") else f"{path}/"
        if other:
            super().add_api_route(other, endpoint, **{**kwargs, "include_in_schema": False})
