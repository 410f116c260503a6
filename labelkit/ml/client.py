"""The Label Studio ML backend protocol, spoken over HTTP to one model server.

A model server answers GET /health, POST /setup, POST /predict and POST /webhook with the
JSON that label-studio-ml-backend's `api.py` reads and writes (and Label Studio's
`ml/api_connector.py` sends), so servers written for Label Studio work here unchanged.
Every call has the backend's timeout; every failure is one `ModelServerError` whose message
a manager can act on."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from labelkit.errors import InvalidInput, LabelkitError
from labelkit.media.fetch import check_public, public_transport

WEBHOOK_ACTIONS = ("ANNOTATION_CREATED", "ANNOTATION_UPDATED", "START_TRAINING")
MAX_ERROR_TEXT = 300


class ModelServerError(LabelkitError):
    """A model server could not be reached, timed out, or answered something unusable."""


class ModelServerTimeout(ModelServerError):
    """A model server did not answer within the timeout."""


@dataclass
class Connection:
    """Where a model server is and how to authenticate to it (secrets already decrypted)."""

    url: str
    timeout: float = 30.0
    basic_auth: tuple[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class PredictedTask:
    """What the server predicted for one task: zero or more predictions, each a dict with
    `result`, and maybe `score` and `model_version`."""

    task_id: int
    predictions: list[dict]


def project_uid(project_id: int, created_at: datetime) -> str:
    """The project key the protocol uses: '<id>.<created_at as a Unix timestamp>'."""
    stamp = created_at if created_at.tzinfo else created_at.replace(tzinfo=UTC)
    return f"{project_id}.{int(stamp.timestamp())}"


def _seconds(value: float) -> str:
    return f"{value:g} s"


class ModelServerClient:
    def __init__(self, connection: Connection, timeout: float | None = None) -> None:
        self.connection = connection
        self.timeout = min(timeout, connection.timeout) if timeout else connection.timeout
        self.base = connection.url.rstrip("/") + "/"

    def _call(self, method: str, path: str, body: dict | None = None) -> Any:
        url = self.base + path
        try:  # again on every call: the admin may have stopped allowing private addresses
            check_public(url)
        except InvalidInput as e:
            raise ModelServerError(f"labelkit does not call the model server at {self.connection.url}: {e}.") from None
        try:
            # It connects only to the address it checks then (no DNS rebinding past check_public).
            with httpx.Client(timeout=self.timeout, auth=self.connection.basic_auth, headers=self.connection.headers,
                              follow_redirects=False, transport=public_transport()) as http:
                response = http.request(method, url, json=body)
        except InvalidInput as e:
            raise ModelServerError(f"labelkit does not call the model server at {self.connection.url}: {e}.") from None
        except httpx.TimeoutException:
            raise ModelServerTimeout(f"The model server at {self.connection.url} timed out after "
                                   f"{_seconds(self.timeout)} ({path}).") from None
        except httpx.HTTPError as e:
            raise ModelServerError(f"Could not reach the model server at {self.connection.url}: {e or type(e).__name__}.") from None
        if response.status_code == 401 or response.status_code == 403:
            raise ModelServerError(f"The model server at {self.connection.url} refused the credentials "
                                   f"(answered {response.status_code} to /{path}); check its user, password or headers.")
        if response.status_code >= 300:
            text = " ".join(response.text.split())[:MAX_ERROR_TEXT]
            raise ModelServerError(f"The model server at {self.connection.url} answered {response.status_code} to /{path}: "
                                   f"{text or response.reason_phrase}")
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            text = " ".join(response.text.split())[:80]
            raise ModelServerError(f"The model server at {self.connection.url} did not answer JSON to /{path} "
                                   f"(it began {text!r}).") from None

    # --- the four calls -------------------------------------------------------------

    def health(self) -> dict:
        """GET /health: a server that is up answers {"status": "UP", ...}."""
        answer = self._call("GET", "health")
        if isinstance(answer, dict) and str(answer.get("status", "UP")).upper() != "UP":
            raise ModelServerError(f"The model server at {self.connection.url} says its status is {answer.get('status')!r}.")
        return answer if isinstance(answer, dict) else {}

    def setup(self, project_uid: str, label_config: str, hostname: str, access_token: str,
              model_version: str | None = None, extra_params: dict | None = None) -> str:
        """POST /setup: hand the server the project's config and a token to fetch task media;
        returns the model version it reports ("" when it reports none)."""
        answer = self._call("POST", "setup", {
            "project": project_uid,
            "schema": label_config,
            "hostname": hostname,
            "access_token": access_token,
            "model_version": model_version,
            "extra_params": extra_params,
        })
        version = answer.get("model_version") if isinstance(answer, dict) else None
        return "" if version is None else str(version)

    def predict(self, tasks: list[dict], project_uid: str, label_config: str, model_version: str | None = None,
                context: dict | None = None) -> list[PredictedTask]:
        """POST /predict for a batch of tasks (each {"id", "data", ...}); one PredictedTask per task."""
        answer = self._call("POST", "predict", {
            "tasks": tasks,
            "model_version": model_version,
            "project": project_uid,
            "label_config": label_config,
            "params": {"login": None, "password": None, "context": context},
        })
        return read_predictions(answer, [t["id"] for t in tasks], self.connection.url)

    def webhook(self, action: str, payload: dict) -> Any:
        """POST /webhook {action, ...payload} (annotation, task and project for annotation events)."""
        if action not in WEBHOOK_ACTIONS:
            raise ValueError(f"unknown webhook action {action}")
        return self._call("POST", "webhook", {"action": action, **payload})


def read_predictions(answer: Any, task_ids: list[int], url: str = "the model server") -> list[PredictedTask]:
    """The predictions in a /predict answer, in the order of the tasks sent.

    Two shapes exist: label-studio-ml-backend 2.x answers {"results": [...]} where each
    entry is one prediction dict or a list of them (each may carry its model_version);
    label-studio-ml 1.x answers {"results": [{result, score}, ...], "model_version": v}
    with the version once for all. A bare list of per-task entries is also taken."""
    if isinstance(answer, dict):
        results = answer.get("results", answer.get("predictions"))
        if isinstance(results, dict):  # a ModelResponse dumped whole
            results = results.get("predictions")
        shared_version = answer.get("model_version")
    else:
        results, shared_version = answer, None
    if not isinstance(results, list):
        raise ModelServerError(f"The answer of {url} to /predict has no list of results.")
    if len(results) != len(task_ids):
        raise ModelServerError(f"{url} answered {len(results)} results for {len(task_ids)} tasks sent to /predict.")
    found = []
    for task_id, entry in zip(task_ids, results, strict=True):
        entries = entry if isinstance(entry, list) and all(isinstance(e, dict) for e in entry) else [entry]
        predictions = []
        for item in entries:
            if item is None or item == {}:
                continue  # no prediction for this task
            if not isinstance(item, dict) or not isinstance(item.get("result"), list):
                raise ModelServerError(f"The answer of {url} for task {task_id} is not a prediction "
                                       "(an object with a 'result' list).")
            version = item.get("model_version") or shared_version
            predictions.append({**item, "model_version": "" if version is None else str(version)})
        found.append(PredictedTask(task_id, predictions))
    return found
