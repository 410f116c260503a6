"""Model servers in the loop, spoken to in the Label Studio ML backend protocol.

- `client`: the HTTP protocol (/health, /setup, /predict, /webhook) and its one error;
- `backends`: attaching, checking, changing and removing a project's model servers;
- `account`: the account (and token) a model server acts as, never a person's;
- `predict`: pre-labeling in batches, and a quick suggestion when a task opens;
- `webhooks`: annotations sent to the servers after a submit, and START_TRAINING;
- `example_server`: a small text classifier that speaks the protocol (`labelkit ml example-server`)."""

from labelkit.ml.backends import (
    BackendChange,
    BackendFields,
    check,
    choose_model_version,
    connect,
    get_backend,
    list_backends,
    parse_header,
    remove,
    update,
)
from labelkit.ml.client import ModelServerError
from labelkit.ml.predict import (
    PredictionStopped,
    PredictSummary,
    interactive_prediction,
    predict,
    suggestion_caption,
)
from labelkit.ml.webhooks import start_training

__all__ = [
    "BackendChange", "BackendFields", "ModelServerError", "PredictSummary", "PredictionStopped", "check",
    "choose_model_version", "connect", "get_backend", "interactive_prediction", "list_backends", "parse_header",
    "predict", "remove", "start_training", "suggestion_caption", "update",
]
