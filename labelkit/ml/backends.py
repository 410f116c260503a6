"""Model servers attached to a project: connect (health, then setup), list, change, check,
remove, and which model version the label page shows.

Only managers and admins (model.manage) attach model servers. Their URL is http(s) and,
unless an admin allows private addresses (LABELKIT_ALLOW_PRIVATE_URLS), public. The basic
auth password and extra headers are kept encrypted and sent only to the address they were
entered for: a new address drops them. The API token handed to the server on /setup is of
the server's own account (labelkit/ml/account.py), never a person's.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass

from sqlmodel import Session, col, select

from labelkit import audit
from labelkit.auth import crypto
from labelkit.auth.permissions import Capability
from labelkit.db import session_scope
from labelkit.errors import InvalidInput, NotFound
from labelkit.media.fetch import check_public
from labelkit.ml import account
from labelkit.ml.client import (
    Connection,
    ModelServerClient,
    ModelServerError,
    project_uid,
)
from labelkit.models import MLBackend, Project, User, utcnow
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
    basic_auth_password: str = ""  # on update: "" keeps the stored one (at the same URL only)
    headers: dict[str, str] | None = None  # on update: None keeps the stored ones (at the same URL only)
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
    """POST /setup with the project and the backend's own token (a person's token kept from
    before is replaced first); keeps the reported model version. The caller has ended its
    transaction (no lock is held during the call)."""
    token = account._token_for_setup(session, backend)
    version = client_of(backend).setup(uid_of(project), project.label_config, hostname(), token, backend.model_version or None)
    if version and version != backend.model_version:
        backend.model_version = version[:200]
    return version


# --- services ----------------------------------------------------------------------


def connect(session: Session, actor: User, project_id: int, fields: BackendFields) -> MLBackend:
    """Attach a model server: it must answer /health and /setup; then it is kept with the
    model version it reports and a token of its own account (for its project's tasks and
    media). A server that does not answer leaves nothing behind."""
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
    session.add(backend)
    session.flush()
    account._issue(session, backend)
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
    """Delete a backend, revoke the token it was given and close its account."""
    account._close(session, backend)
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


@dataclass
class BackendChange:
    """A changed backend, and the stored credentials dropped because its address changed
    (for the page to ask for them again)."""

    backend: MLBackend
    cleared: list[str]


def update(session: Session, actor: User, backend_id: int, fields: BackendFields) -> BackendChange:
    """Change a backend's address, auth, timeout or flags. At the same address, "" password
    and None headers keep the stored ones. A new address must answer /health and /setup
    before it is kept, and gets only what was entered with it: the stored password and
    headers are dropped (never sent there) and the server gets a new token (the old one is
    revoked)."""
    backend = get_backend(session, actor, backend_id)
    fields = _validate(fields)
    cleared: list[str] = []
    if fields.url != backend.url:
        cleared = _repoint(session, backend, fields)
    else:
        if fields.basic_auth_password or not fields.basic_auth_user:
            backend.basic_auth_pass_encrypted = crypto.encrypt_secret(fields.basic_auth_password)
        if fields.headers is not None:
            backend.headers_encrypted = crypto.encrypt_secret(json.dumps(fields.headers)) if fields.headers else ""
    backend.title = fields.title or fields.url
    backend.auth_method = "basic" if fields.basic_auth_user else "none"
    backend.basic_auth_user = fields.basic_auth_user
    backend.timeout, backend.is_interactive, backend.predict_every = fields.timeout, fields.interactive, fields.predict_every
    session.add(backend)
    session.flush()
    audit.record(session, actor, "ml.update", f"ml_backend:{backend.id}", backend.project_id, url=backend.url,
                 cleared=cleared)
    return BackendChange(backend, cleared)


def _cleared_by(backend: MLBackend, fields: BackendFields) -> list[str]:
    """The stored credentials a move to a new address drops (those not entered again)."""
    cleared = []
    if backend.basic_auth_pass_encrypted and not fields.basic_auth_password:
        cleared.append("basic-auth password")
    if backend.headers_encrypted and not fields.headers:
        cleared.append("extra headers")
    return cleared


def _repoint(session: Session, backend: MLBackend, fields: BackendFields) -> list[str]:
    """Move a backend to fields.url with only the credentials entered now and a new token of
    its account, once the new address answered /health and /setup; the old token is revoked
    then. Nothing stored for the old address is sent to the new one."""
    project = session.get(Project, backend.project_id)
    cleared = _cleared_by(backend, fields)
    token, token_id = account._new_token(session, backend)
    probe = MLBackend(project_id=backend.project_id, title=backend.title, url=fields.url, timeout=fields.timeout,
                      auth_method="basic" if fields.basic_auth_user else "none", basic_auth_user=fields.basic_auth_user,
                      basic_auth_pass_encrypted=crypto.encrypt_secret(fields.basic_auth_password),
                      headers_encrypted=crypto.encrypt_secret(json.dumps(fields.headers)) if fields.headers else "",
                      access_token_encrypted=crypto.encrypt_secret(token), access_token_id=token_id,
                      model_version=backend.model_version)
    _end_transaction(session)  # the new token must exist when the server first uses it
    try:
        client_of(probe).health()
        _setup(session, probe, project)
    except ModelServerError as e:
        account._revoke(session, token_id)
        _end_transaction(session)
        hint = f" The stored {' and '.join(cleared)} are not sent to a new address: enter them again." if cleared else ""
        raise ModelServerError(f"{e}{hint}") from None
    account._revoke(session, backend.access_token_id)
    for name in ("url", "basic_auth_pass_encrypted", "headers_encrypted", "access_token_encrypted", "access_token_id",
                 "model_version"):
        setattr(backend, name, getattr(probe, name))
    return cleared


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
