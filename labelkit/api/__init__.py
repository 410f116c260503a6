"""The REST API under /api (FastAPI, mounted on the one server in labelkit/server.py):
Label Studio's paths and JSON where labelkit does what a Label Studio endpoint does, so
scripts and ML backends written for Label Studio work unchanged. Docs at /api/docs, the
OpenAPI description at /api/openapi.json. Routes are thin: each calls labelkit's services
in one session_scope(); errors become JSON {"detail": ...} in labelkit/api/auth.py."""


import re

from fastapi import FastAPI
from starlette.routing import Mount

from labelkit import __version__
from labelkit.api import (
    annotations,
    export,
    imports,
    predictions,
    projects,
    system,
    tasks,
)
from labelkit.api.auth import HANDLERS
from labelkit.api.docs import add_docs

DESCRIPTION = """\
labelkit's REST API. Authenticate with a personal access token (Account page, or
`labelkit user token EMAIL`): `Authorization: Token <token>`. A signed-in browser's
session cookie works too (for writes with the header `X-Requested-With`, or from this
server's own pages). Paths and JSON follow Label Studio's API, so label-studio-sdk
and scripts written for Label Studio work here.
"""


def create_app() -> FastAPI:
    app = FastAPI(
        title="labelkit API",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,  # labelkit/api/docs.py serves it, without a CDN
        redoc_url=None,
        openapi_url="/openapi.json",
        redirect_slashes=False,
    )
    for error, handler in HANDLERS.items():
        app.add_exception_handler(error, handler)
    for module in (system, projects, imports, tasks, annotations, predictions, export):
        app.include_router(module.router)
    add_docs(app)
    return app


app = create_app()


class ApiMount(Mount):
    """The API under a prefix, given every path under it, even one with a newline (Starlette's
    `{path:path}` stops at one), so that the API, not the app beside it, answers: in JSON."""

    def __init__(self, prefix: str = "/api") -> None:
        super().__init__(prefix, app=app)
        self.path_regex = re.compile(self.path_regex.pattern, re.DOTALL)
