"""Telling model servers about new work: ANNOTATION_CREATED / ANNOTATION_UPDATED after a
submit commits (in a background thread, with the backend's timeout: a slow or broken server
never holds up or fails a submit), and START_TRAINING when a manager asks for it."""

from __future__ import annotations

import json
import logging
import threading

from sqlalchemy import event
from sqlmodel import Session

from labelkit import audit
from labelkit.auth.permissions import Capability
from labelkit.cloud.targets import annotation_body
from labelkit.errors import NotFound
from labelkit.ml.backends import (
    _end_transaction,
    _note_state,
    _project_backends,
    client_of,
    note_state_apart,
)
from labelkit.ml.client import ModelServerClient, ModelServerError
from labelkit.models import Annotation, AnnotationState, Project, Task, User
from labelkit.projects.crud import get_project

log = logging.getLogger(__name__)


def project_payload(project: Project) -> dict:
    """The project as Label Studio's webhooks describe it (what backends read from it)."""
    return {"id": project.id, "title": project.title, "label_config": project.label_config,
            "model_version": project.model_version, "created_at": project.created_at.isoformat()}


def _annotation_payload(session: Session, annotation: Annotation, project: Project) -> dict:
    task = session.get(Task, annotation.task_id)
    user = session.get(User, annotation.user_id) if annotation.user_id else None
    body = json.loads(annotation_body(annotation, task, user.email if user else None))
    nested = body.pop("task")
    body["task"] = task.id
    body["completed_by"] = annotation.user_id
    return {"annotation": body, "task": {**nested, "annotations": [], "predictions": []}, "project": project_payload(project)}


def _send_all(sends: list[tuple[int, bool, ModelServerClient]], action: str, payload: dict) -> None:
    for backend_id, had_error, client in sends:
        try:
            client.webhook(action, payload)
        except ModelServerError as e:
            log.warning("model server %s: %s", backend_id, e)
            note_state_apart(backend_id, f"{action} was not delivered: {e}")
        except Exception:
            log.exception("model server %s: %s failed", backend_id, action)
        else:
            if had_error:
                note_state_apart(backend_id, "")


def _annotation_submitted(session: Session, annotation: Annotation, created: bool) -> _Pending | None:
    """After a submit: once it commits, send ANNOTATION_CREATED (or _UPDATED) to the
    project's model servers in a background thread. Never raises; one indexed query when
    the project has no model server. The thread is returned for tests once started."""
    started: list[threading.Thread] = []
    try:
        if annotation.state != AnnotationState.SUBMITTED:
            return None
        backends = _project_backends(session, annotation.project_id)
        if not backends:
            return None
        project = session.get(Project, annotation.project_id)
        payload = _annotation_payload(session, annotation, project)
        sends = [(b.id, b.state != "connected", client_of(b)) for b in backends]
    except Exception:
        log.exception("could not prepare the webhook for annotation %s", annotation.id)
        return None
    action = "ANNOTATION_CREATED" if created else "ANNOTATION_UPDATED"

    def after_commit(_session: Session) -> None:
        thread = threading.Thread(target=_send_all, args=(sends, action, payload), daemon=True,
                                  name=f"ml-webhook-{annotation.id}")
        thread.start()
        started.append(thread)

    event.listen(session, "after_commit", after_commit, once=True)
    return _Pending(started)


class _Pending:
    """The webhook thread of a submit, once its transaction commits (tests join it)."""

    def __init__(self, started: list[threading.Thread]) -> None:
        self._started = started

    def join(self, timeout: float | None = None) -> None:
        for thread in self._started:
            thread.join(timeout)


def start_training(session: Session, actor: User, project_id: int, backend_id: int | None = None) -> int:
    """Send START_TRAINING to the project's model servers (or one); how many took it.
    Raises ModelServerError naming the first that failed (its error is kept on it)."""
    project = get_project(session, actor, project_id, Capability.MODEL_MANAGE)
    backends = [b for b in _project_backends(session, project.id) if backend_id is None or b.id == backend_id]
    if not backends:
        raise NotFound(f"Project {project.id} has no model server" + (f" {backend_id}." if backend_id else " connected."))
    payload = {"project": project_payload(project)}
    audit.record(session, actor, "ml.train", f"project:{project.id}", project.id, backends=[b.id for b in backends])
    _end_transaction(session)
    failures = []
    for backend in backends:
        try:
            client_of(backend).webhook("START_TRAINING", payload)
        except ModelServerError as e:
            _note_state(session, backend, f"START_TRAINING failed: {e}")
            failures.append(str(e))
        else:
            if backend.state != "connected":
                _note_state(session, backend)
    if failures:
        _end_transaction(session)
        raise ModelServerError(failures[0])
    return len(backends)
