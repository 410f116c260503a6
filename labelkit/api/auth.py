"""Who is calling (a personal access token, else the browser's session cookie), and the one
place where labelkit's errors become HTTP answers: JSON {"detail": "..."} as Label Studio
(Django REST framework) writes them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import unquote, urlsplit

from fastapi import Depends, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader
from sqlalchemy.exc import (
    DataError,
    DisconnectionError,
    OperationalError,
    StatementError,
)
from sqlmodel import Session
from starlette.exceptions import HTTPException
from starlette.routing import get_route_path

from labelkit.auth import sessions
from labelkit.auth.permissions import Capability, can
from labelkit.db import UNAVAILABLE, session_scope
from labelkit.errors import (
    Conflict,
    InvalidInput,
    LabelkitError,
    NotFound,
    NotSignedIn,
    PermissionDenied,
)
from labelkit.models import User
from labelkit.settings import get_settings

NO_CREDENTIALS = "Authentication credentials were not provided or are invalid."


class Unauthenticated(NotSignedIn):
    """No token or session, or one that is revoked, expired or of a deactivated account."""


def caller(request: Request) -> User | None:
    """The account behind a request: `Authorization: Token <token>`, else the session cookie."""
    header = request.headers.get("authorization", "")
    with session_scope() as session:
        if header[:6].lower() == "token ":
            return sessions.user_for_api_token(session, header[6:].strip())
        if header:
            return None  # another scheme (Bearer, Basic) is not ours: refused, not ignored
        return sessions.user_for_session(session, request.cookies.get(sessions.SESSION_COOKIE))


TOKEN = APIKeyHeader(name="Authorization", auto_error=False, scheme_name="Token",
                     description="`Token <your personal access token>` (Account page, or `labelkit user token EMAIL`)")


def current_user(request: Request, _header: str | None = Security(TOKEN)) -> User:
    """FastAPI dependency: the signed-in caller (token or session cookie), or 401."""
    user = caller(request)
    if user is None:
        raise Unauthenticated(NO_CREDENTIALS)
    if not request.headers.get("authorization"):
        refuse_forged_browser_writes(request)
    return user


SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
BROWSER_WRITE_HEADER = "X-Requested-With"
FORGED_WRITE = (
    "A write with the browser's session cookie needs the header X-Requested-With or an Origin of this "
    "server (a form on another site sends neither); scripts send Authorization: Token <token>."
)
TEXT_PLAIN = "A text/plain body is not accepted with the session cookie: send JSON (application/json) or files."


def refuse_forged_browser_writes(request: Request) -> None:
    """A cookie-authenticated write (cross-site request forgery guard): the session cookie is
    SameSite=Lax, which a page on another port or a sibling subdomain of the same site still
    gets sent along with its form posts. A form cannot add a header nor forge the Origin, and a
    script on another origin cannot add one without a CORS preflight, which nothing here allows."""
    if request.method.upper() in SAFE_METHODS:
        return
    if request.headers.get("content-type", "").split(";")[0].strip().lower() == "text/plain":
        raise HTTPException(415, TEXT_PLAIN)
    if not request.headers.get(BROWSER_WRITE_HEADER) and not _own_origin(request):
        raise PermissionDenied(FORGED_WRITE)


def _own_origin(request: Request) -> bool:
    """The request's Origin is this server: its LABELKIT_BASE_URL, or the address it was asked at."""
    origin = (request.headers.get("origin") or "").rstrip("/").lower()
    if not origin or origin == "null":
        return False
    own = {f"{request.url.scheme}://{request.headers.get('host', '')}".lower()}
    configured = get_settings().base_url
    if configured:
        parts = urlsplit(configured)
        own.add(f"{parts.scheme}://{parts.netloc}".lower())
    return origin in own


STATUS = [(NotSignedIn, 401), (PermissionDenied, 403), (NotFound, 404), (Conflict, 409), (InvalidInput, 400)]


def status_of(error: LabelkitError) -> int:
    return next((code for kind, code in STATUS if isinstance(error, kind)), 400)


def labelkit_error(_request: Request, error: LabelkitError) -> JSONResponse:
    status = status_of(error)
    headers = {"WWW-Authenticate": "Token"} if status == 401 else None
    return JSONResponse({"detail": str(error)}, status_code=status, headers=headers)


def validation_error(_request: Request, error: RequestValidationError) -> JSONResponse:
    """Malformed JSON or a field of the wrong type: 400 naming the first problems (as DRF does)."""
    problems = []
    for item in error.errors()[:5]:
        where = ".".join(str(part) for part in item.get("loc", ()) if part != "body") or "body"
        problems.append(f"{where}: {item.get('msg', 'invalid')}")
    return JSONResponse({"detail": "; ".join(problems) or "Invalid request."}, status_code=400)


def http_error(request: Request, error: HTTPException) -> JSONResponse:
    headers = dict(getattr(error, "headers", None) or {})
    if error.status_code == 405:  # every method of the path, not only those of the first route matched
        headers["Allow"] = ", ".join(sorted(_methods(request)))
    return JSONResponse({"detail": str(error.detail)}, status_code=error.status_code, headers=headers or None)


def _methods(request: Request) -> set[str]:
    from labelkit.api.routing import allowed_methods

    return allowed_methods(get_route_path(request.scope))


def database_refused(_request: Request, error: StatementError) -> JSONResponse:
    """A value the database cannot store (a NUL character in text, a number out of range):
    bad input, and the transaction was rolled back. Anything else is a real error."""
    if isinstance(error, DataError) or isinstance(getattr(error, "orig", None), ValueError):
        return JSONResponse({"detail": "The request holds a value that cannot be stored (such as a NUL character)."},
                            status_code=400)
    raise error


def database_unavailable(_request: Request, _error: Exception) -> JSONResponse:
    """The database is down or restarting: 503 with a clear detail (the request's transaction
    was rolled back), so a client retries instead of reporting a server bug."""
    return JSONResponse({"detail": UNAVAILABLE}, status_code=503, headers={"Retry-After": "5"})


HANDLERS = {
    OperationalError: database_unavailable,
    DisconnectionError: database_unavailable,
    LabelkitError: labelkit_error,
    RequestValidationError: validation_error,
    HTTPException: http_error,
    StatementError: database_refused,
}


@contextmanager
def outsiders_see_nothing(session: Session, user: User, project_id: int) -> Iterator[None]:
    """A refusal in a project the caller is not a member of becomes "no such project", so
    an id says nothing about projects one cannot open; members still hear what role they lack."""
    try:
        yield
    except PermissionDenied:
        if not can(session, user, Capability.PROJECT_VIEW, project_id):
            raise NotFound(f"There is no project {project_id}.") from None
        raise


async def no_nul_characters(request: Request) -> None:
    """Text with a NUL character cannot be stored (PostgreSQL refuses it): refuse it up front,
    in the query or a JSON body (where JSON writes it as \\u0000), with a clear 400."""
    if "\x00" in unquote(request.url.query) or "%00" in request.url.path:
        raise InvalidInput("The query holds a NUL character, which cannot be stored.")
    multipart = request.headers.get("content-type", "").split(";")[0].strip().lower() == "multipart/form-data"
    if not multipart and b"\\u0000" in (await request.body()).lower():
            raise InvalidInput("The body holds a NUL character (\\u0000), which cannot be stored.")


NO_NUL = Depends(no_nul_characters)  # on every router but the import's (the importer names the row with a NUL)
