"""The one server: the Streamlit app (st.App) plus the HTTP routes it cannot serve itself.

/session/...  sign-in cookies (the Streamlit script cannot set cookies)
/invite/...   keeps an invite token in a cookie across an OIDC round trip
/data/...     uploaded media and server-folder files, to a signed link, a signed-in session or an API token
/api/...      the REST API (labelkit/api/, FastAPI): tokens or the session cookie"""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlparse

from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route

from labelkit.api import ApiMount
from labelkit.auth import sessions
from labelkit.auth.invites import INVITE_COOKIE
from labelkit.db import ROOT, session_scope
from labelkit.errors import LabelkitError, NotFound, PermissionDenied
from labelkit.ops.startup import prepare
from labelkit.ui.asgi import streamlit_app

INVITE_COOKIE_SECONDS = 3600


def _safe_next(value: str | None) -> str:
    """Only same-site paths: never redirect to another host."""
    if not value or not value.startswith("/") or value.startswith("//") or urlparse(value).netloc:
        return "/"
    return value


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


async def session_start(request: Request) -> Response:
    """Trade a sign-in ticket for a session cookie, in the browser that signed in only (it
    holds the ticket's key in a cookie); never in place of another account's live session."""
    ticket = request.query_params.get("ticket", "")
    browser_key = request.cookies.get(sessions.SIGNIN_COOKIE)
    if not browser_key:  # a link opened in another browser than the one that signed in
        return RedirectResponse("/?signin=elsewhere", status_code=303)
    if request.headers.get("sec-fetch-site", "same-origin") != "same-origin":
        # Sent by a page of another origin: one on another port of this host (or a sibling
        # subdomain) can write the key's cookie too, but not make the browser say same-origin.
        response = RedirectResponse("/?signin=elsewhere", status_code=303)
        response.delete_cookie(sessions.SIGNIN_COOKIE, path="/session/start")
        return response

    def redeem() -> tuple[str, int]:
        with session_scope() as session:
            return sessions.redeem_signin_ticket(session, ticket, browser_key, request.cookies.get(sessions.SESSION_COOKIE))

    try:
        token, max_age = await run_in_threadpool(redeem)
    except sessions.SignedInAsAnother as e:
        response = PlainTextResponse(str(e), status_code=409)
        response.delete_cookie(sessions.SIGNIN_COOKIE, path="/session/start")
        return response
    except LabelkitError:
        response = RedirectResponse("/?signin=expired", status_code=303)
        response.delete_cookie(sessions.SIGNIN_COOKIE, path="/session/start")
        return response
    response = RedirectResponse(_safe_next(request.query_params.get("next")), status_code=303)
    response.delete_cookie(sessions.SIGNIN_COOKIE, path="/session/start")
    response.set_cookie(
        sessions.SESSION_COOKIE, token, max_age=max_age, httponly=True, samesite="lax", secure=_secure(request), path="/"
    )
    # A password sign-in handles its invite in the page before coming here.
    response.delete_cookie(INVITE_COOKIE, path="/")
    return response


async def session_logout(request: Request) -> Response:
    """A POST from labelkit's own page, carrying the session's sign-out proof: another site
    can make a browser send a request here, but cannot know the proof."""
    token = request.cookies.get(sessions.SESSION_COOKIE)
    proof = (await request.form()).get("proof")

    def end() -> bool:
        with session_scope() as session:
            return sessions.end_session(session, token, proof if isinstance(proof, str) else None)

    if token and not await run_in_threadpool(end):
        return PlainTextResponse("Sign out from labelkit's own menu.", status_code=403)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(sessions.SESSION_COOKIE, path="/")
    response.delete_cookie(INVITE_COOKIE, path="/")
    return response


async def invite_landing(request: Request) -> Response:
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        INVITE_COOKIE, request.path_params["token"], max_age=INVITE_COOKIE_SECONDS,
        httponly=True, samesite="lax", secure=_secure(request), path="/",
    )
    return response


async def invite_done(request: Request) -> Response:
    response = RedirectResponse(_safe_next(request.query_params.get("next")), status_code=303)
    response.delete_cookie(INVITE_COOKIE, path="/")
    return response


def _caller(request: Request):
    """The account behind a request: an API token, else the session cookie."""
    header = request.headers.get("authorization", "")
    with session_scope() as session:
        if header.lower().startswith("token "):
            return sessions.user_for_api_token(session, header[6:].strip())
        return sessions.user_for_session(session, request.cookies.get(sessions.SESSION_COOKIE))


async def media(request: Request) -> Response:
    from labelkit.storage import local

    return await _serve(request, f"{local.UPLOAD_PREFIX}{request.path_params['path']}")


async def local_files(request: Request) -> Response:
    from labelkit.storage import local

    return await _serve(request, f"{local.LOCAL_FILES_PREFIX}{request.query_params.get('d', '')}")


async def _serve(request: Request, data_path: str) -> Response:
    from labelkit.storage import local

    def find() -> Path:
        query = request.query_params
        account = query.get("u") or ""
        signed = local.signature_valid(data_path, query.get("exp"), query.get("sig"), account)
        user = _account(account) if signed and account else None if signed else _caller(request)
        if not signed and user is None:
            raise PermissionDenied("Sign in, or use a signed link, to see this file.")
        if local.has_dot_segments(data_path):  # refused here, whatever the web server made of the path
            raise NotFound("No such file.")
        path = local.resolve(data_path)
        _check_media_access(user, signed and not account, local.upload_folder(path))
        return path

    try:
        path = await run_in_threadpool(find)
    except PermissionDenied as e:
        return PlainTextResponse(str(e), status_code=403)
    except LabelkitError:
        return PlainTextResponse("Not found", status_code=404)
    return FileResponse(path, headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"})


def _account(account: str):
    """The account a signed link is bound to, while it is active."""
    from labelkit.models import User

    if not account.isdigit():
        return None
    with session_scope(write=False) as session:
        user = session.get(User, int(account))
        if user is None or not user.is_active:
            raise PermissionDenied("This link is not valid any more.")
        return user


async def storage_media(request: Request) -> Response:
    """An object of a storage whose bucket browsers cannot reach, to a signed link only."""
    from labelkit.cloud import links
    from labelkit.storage import local

    storage_id, key = request.path_params["storage_id"], request.path_params["key"]
    exp, sig = request.query_params.get("exp"), request.query_params.get("sig")
    if not local.signature_valid(links.proxy_path(storage_id, key), exp, sig):
        return PlainTextResponse("This link is not valid (any more).", status_code=403)
    from labelkit.storage.s3 import S3Unreachable

    try:
        found = await run_in_threadpool(links.open_media, storage_id, key, request.headers.get("range"))
    except S3Unreachable as e:  # the store is down: say so (a 404 would say the file is gone)
        return PlainTextResponse(f"{e}. Try again later.", status_code=502)
    except LabelkitError:
        return PlainTextResponse("Not found", status_code=404)
    headers = {**found.headers, "Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"}
    return StreamingResponse(iterate_in_threadpool(found.body), status_code=found.status, media_type=found.content_type,
                             headers=headers)


def _check_media_access(user, unbound_link: bool, folder: str | None) -> None:
    """Whether this account (or an unbound signed link) may see a file, decided on the folder
    the file really is in (after the path was resolved): a project's uploads to the people
    who may open the project now; the samples and server-folder files to every account."""
    from labelkit.auth.permissions import Capability, can

    if folder is None or folder == "samples":
        return  # a server-folder file: the admin who set LABELKIT_LOCAL_FILES_ROOT shares it with every account
    if unbound_link:
        raise PermissionDenied("This link is not valid any more.")
    if not folder.isdigit():
        raise NotFound("No such file.")
    with session_scope(write=False) as session:
        if not can(session, user, Capability.PROJECT_VIEW, int(folder)):
            raise NotFound("No such file.")


@asynccontextmanager
async def lifespan(_app):
    await run_in_threadpool(prepare)
    yield


routes = [
    Route("/session/start", session_start),
    Route("/session/logout", session_logout, methods=["POST"]),
    Route("/invite/{token}", invite_landing),
    Route("/session/invite-done", invite_done),
    Route("/data/upload/{path:path}", media),
    Route("/data/local-files/", local_files),
    Route("/data/storage/{storage_id:int}/{key:path}", storage_media),
    ApiMount("/api"),  # the REST API (labelkit/api/): docs at /api/docs
]

app = streamlit_app(ROOT / "app.py", routes, lifespan)
