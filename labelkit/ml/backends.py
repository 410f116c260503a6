"""Model servers attached to a project: connect (health, then setup), list, change, check,
remove, and which model version the label page shows.

Only managers and admins (model.manage) attach model servers. Their URL is http(s) and,
unless an admin allows private addresses (LABELKIT_ALLOW_PRIVATE_URLS), public. The basic
auth password, extra headers and the API token handed to the server on /setup are kept
encrypted; the token is revoked when the backend is removed."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass

from sqlmodel import Session, col, select

from labelkit import audit
from labelkit.auth import crypto
from labelkit.auth.permissions import Capability
from labelkit.auth.sessions import create_api_token, revoke_api_token
from labelkit.db import session_scope
from labelkit.errors import InvalidInput, NotFound
from labelkit.media.fetch import check_public
from labelkit.ml.client import (
    Connection,
    ModelServerClient,
    ModelServerError,
    project_uid,
)
from labelkit.models import AuthToken, MLBackend, Project, User, utcnow
from labelkit.projects.crud import get_project
from labelkit.settings import get_settings

log = logging.getLogger(__name__)

MIN_TIMEOUT, MAX_TIMEOUT = 1.0, 600.0
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")


@dataclass
class BackendFields:
    """What a manager types to attach (or change) a model server."""

    url: str
    title: str = ""
    basic_auth_user: str = ""
    basic_auth_password: str = ""  # on update: "" keeps the stored one
    headers: dict[str, str] | None = None  # on update: None keeps the stored ones
    timeout: float = 30.0
    interactive: bool = False
    predict_every: int = 0


def parse_header(text: str) -> tuple[str, str]:
    """'Name: value' (as the CLI's --header and the page's header lines take it)."""
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise InvalidInput(f"The header {text!r} should look like 'Name: value'.")
    return name.strip(), value.strip()


def _validate(fields: BackendFields) -> BackendFields:
    fields.url = fields.url.strip()
    fields.title = fields.title.strip()[:200]
    check_public(fields.url)  # http(s), and public unless an admin allows private addresses
    if len(fields.url) > 1000:
        raise InvalidInput("The model server's URL is longer than 1000 characters.")
    try:
        fields.timeout = float(fields.timeout)
    except (TypeError, ValueError):
        raise InvalidInput("The timeout must be a number of seconds.") from None
    if not MIN_TIMEOUT <= fields.timeout <= MAX_TIMEOUT:
        raise InvalidInput(f"The timeout must be between {MIN_TIMEOUT:g} and {MAX_TIMEOUT:g} seconds.")
    if not isinstance(fields.predict_every, int) or fields.predict_every < 0:
        raise InvalidInput("'Predict every N annotations' must be 0 (never) or a positive whole number.")
    if fields.basic_auth_password and not fields.basic_auth_user:
        raise InvalidInput("A basic-auth password needs a user name.")
    for name, value in (fields.headers or {}).items():
        if not isinstance(name, str) or not _HEADER_NAME.match(name) or not isinstance(value, str) or "\n" in value or "\r" in value:
            raise InvalidInput(f"The header {name!r} is not a valid HTTP header name and value.")
    return fields


# --- reading a backend -----------------------------------------------------------


def connection_of(backend: MLBackend, timeout: float | None = None) -> Connection:
    """How to reach a stored backend (its secrets decrypted)."""
    password = crypto.decrypt_secret(backend.basic_auth_pass_encrypted)
    auth = (backend.basic_auth_user, password) if backend.auth_method == "basic" else None
    return Connection(backend.url, min(timeout, backend.timeout) if timeout else backend.timeout, auth, headers_of(backend))


def client_of(backend: MLBackend, timeout: float | None = None) -> ModelServerClient:
    return ModelServerClient(connection_of(backend, timeout))


def headers_of(backend: MLBackend) -> dict[str, str]:
    return json.loads(crypto.decrypt_secret(backend.headers_encrypted) or "{}")


def uid_of(project: Project) -> str:
    return project_uid(project.id, project.created_at)


def hostname() -> str:
    """The portal's address a model server fetches task media from (/data/upload/...)."""
    return (get_settings().base_url or "http://localhost:8501").rstrip("/")


def _project_backends(session: Session, project_id: int) -> list[MLBackend]:
    """The model servers of a project (no permission check: for labelkit's own hooks)."""
    return list(session.exec(select(MLBackend).where(MLBackend.project_id == project_id).order_by(col(MLBackend.id))).all())


def _end_transaction(session: Session) -> None:
    """Commit what is done so far, so that no database lock is held while a model server
    thinks (SQLite has one writer: labeling would wait). Like streaming imports committing
    per batch, calls to model servers are the stated exception to "services only flush"."""
    session.commit()


def _note_state(session: Session, backend: MLBackend, error: str = "") -> None:
    backend.state = "error" if error else "connected"
    backend.last_error = error[:2000]
    backend.last_checked_at = utcnow()
    session.add(backend)
    session.flush()


def note_state_apart(backend_id: int, error: str) -> None:
    """Keep a backend's state and last error in a transaction of its own (from background
    work or after a failed call whose transaction is rolled back); never raises."""
    try:
        with session_scope() as session:
            backend = session.get(MLBackend, backend_id)
            if backend is not None:
                _note_state(session, backend, error)
    except Exception:
        log.exception("could not note the state of model server %s", backend_id)


def _setup(session: Session, backend: MLBackend, project: Project) -> str:
    """POST /setup with the project and the backend's token; keeps the reported model version.
    The caller has ended its transaction (no lock is held during the call)."""
    version = client_of(backend).setup(uid_of(project), project.label_config, hostname(),
                                       crypto.decrypt_secret(backend.access_token_encrypted), backend.model_version or None)
    if version and version != backend.model_version:
        backend.model_version = version[:200]
    return version


# --- services ----------------------------------------------------------------------


def connect(session: Session, actor: User, project_id: int, fields: BackendFields) -> MLBackend:
    """Attach a model server: it must answer /health and /setup; then it is kept with the
    model version it reports and an API token of the connecting person (for its media).
    A server that does not answer leaves nothing behind."""
    project = get_project(session, actor, project_id, Capability.MODEL_MANAGE)
    fields = _validate(fields)
    backend = MLBackend(
        project_id=project.id, title=fields.title or fields.url, url=fields.url, timeout=fields.timeout,
        auth_method="basic" if fields.basic_auth_user else "none", basic_auth_user=fields.basic_auth_user,
        basic_auth_pass_encrypted=crypto.encrypt_secret(fields.basic_auth_password),
        headers_encrypted=crypto.encrypt_secret(json.dumps(fields.headers)) if fields.headers else "",
        is_interactive=fields.interactive, predict_every=fields.predict_every, created_by=actor.id,
    )
    _end_transaction(session)
    client_of(backend).health()
    token = create_api_token(session, actor, f"model server {backend.title}"[:200])
    backend.access_token_encrypted = crypto.encrypt_secret(token)
    backend.access_token_id = session.exec(select(AuthToken.id).where(AuthToken.token_hash == crypto.token_hash(token))).one()
    session.add(backend)
    session.flush()
    _end_transaction(session)  # the token must exist when the server first uses it
    try:
        _setup(session, backend, project)
    except ModelServerError:
        _forget(session, backend)
        _end_transaction(session)
        raise
    _note_state(session, backend)
    audit.record(session, actor, "ml.connect", f"ml_backend:{backend.id}", project.id, url=backend.url,
                 model_version=backend.model_version)
    return backend


def _forget(session: Session, backend: MLBackend) -> None:
    """Delete a backend and revoke the token it was given."""
    if backend.access_token_id is not None:
        token = session.get(AuthToken, backend.access_token_id)
        holder = session.get(User, token.user_id) if token is not None else None
        if holder is not None and token.revoked_at is None:
            revoke_api_token(session, holder, token.id)
    session.delete(backend)
    session.flush()


def get_backend(session: Session, actor: User, backend_id: int) -> MLBackend:
    backend = session.get(MLBackend, backend_id)
    if backend is None:
        raise NotFound(f"There is no model server {backend_id}.")
    get_project(session, actor, backend.project_id, Capability.MODEL_MANAGE)
    return backend


def list_backends(session: Session, actor: User, project_id: int) -> list[MLBackend]:
    get_project(session, actor, project_id, Capability.MODEL_MANAGE)
    return _project_backends(session, project_id)


def update(session: Session, actor: User, backend_id: int, fields: BackendFields) -> MLBackend:
    """Change a backend's address, auth, timeout or flags ("" password and None headers keep
    the stored ones). A new URL must answer /health and /setup before it is kept."""
    backend = get_backend(session, actor, backend_id)
    fields = _validate(fields)
    if fields.url != backend.url:
        project = session.get(Project, backend.project_id)
        probe = MLBackend(project_id=backend.project_id, url=fields.url, timeout=fields.timeout,
                          auth_method=backend.auth_method, basic_auth_user=backend.basic_auth_user,
                          basic_auth_pass_encrypted=backend.basic_auth_pass_encrypted,
                          headers_encrypted=backend.headers_encrypted,
                          access_token_encrypted=backend.access_token_encrypted, model_version=backend.model_version)
        _end_transaction(session)
        client_of(probe).health()
        _setup(session, probe, project)
        backend.model_version = probe.model_version
    backend.url, backend.title = fields.url, fields.title or fields.url
    backend.auth_method = "basic" if fields.basic_auth_user else "none"
    backend.basic_auth_user = fields.basic_auth_user
    if fields.basic_auth_password or not fields.basic_auth_user:
        backend.basic_auth_pass_encrypted = crypto.encrypt_secret(fields.basic_auth_password)
    if fields.headers is not None:
        backend.headers_encrypted = crypto.encrypt_secret(json.dumps(fields.headers)) if fields.headers else ""
    backend.timeout, backend.is_interactive, backend.predict_every = fields.timeout, fields.interactive, fields.predict_every
    session.add(backend)
    session.flush()
    audit.record(session, actor, "ml.update", f"ml_backend:{backend.id}", backend.project_id, url=backend.url)
    return backend


def check(session: Session, actor: User, backend_id: int) -> MLBackend:
    """Ask the server for /health (and /setup, for its current model version) again; keeps
    the outcome as the backend's state and last error. Never raises for a server's failure."""
    backend = get_backend(session, actor, backend_id)
    project = session.get(Project, backend.project_id)
    _end_transaction(session)
    try:
        client_of(backend).health()
        _setup(session, backend, project)
    except ModelServerError as e:
        _note_state(session, backend, str(e))
    else:
        _note_state(session, backend)
    return backend


def remove(session: Session, actor: User, backend_id: int) -> None:
    """Detach a model server; its predictions stay (they no longer name it), its token is revoked."""
    backend = get_backend(session, actor, backend_id)
    audit.record(session, actor, "ml.remove", f"ml_backend:{backend.id}", backend.project_id, url=backend.url)
    _forget(session, backend)


def choose_model_version(session: Session, actor: User, project_id: int, model_version: str) -> Project:
    """The model version whose predictions the label page shows ("" = the newest of any)."""
    from labelkit.labeling.predictions import _model_versions

    project = get_project(session, actor, project_id, Capability.MODEL_MANAGE)
    model_version = (model_version or "").strip()
    if model_version and model_version not in {v for v, _ in _model_versions(session, project.id)}:
        raise InvalidInput(f"Project {project.id} has no predictions of model version {model_version!r}.")
    project.model_version = model_version
    session.add(project)
    session.flush()
    audit.record(session, actor, "ml.model_version", f"project:{project.id}", project.id, model_version=model_version)
    return project
