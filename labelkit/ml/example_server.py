"""`labelkit ml example-server`: a small model server that speaks the Label Studio ML backend
protocol, for newcomers and tests.

It classifies the text of a project with a <Choices> control on a <Text> object by
multinomial naive Bayes over words, or the image of a <Choices> on an <Image> by the
nearest mean colour of each class (images are downloaded from labelkit with the token
/setup hands over, as Label Studio backends do). It learns from the annotations it is sent
(ANNOTATION_CREATED / ANNOTATION_UPDATED on /webhook) and retrains on START_TRAINING; each
retraining is a new model version. Its predictions carry a score and the per-class
probabilities (`"probabilities": {class: p}`) labelkit reads for active learning. It keeps
everything in memory: a restart forgets what it learned."""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from labelkit.config import parse_config
from labelkit.errors import LabelkitError

WORD = re.compile(r"\w+", re.UNICODE)


def words(text: str) -> list[str]:
    return WORD.findall(str(text).lower())


@dataclass
class TextTask:
    """What the model needs of a project's config: the Choices control and the object it
    classifies (kind "text" or "image")."""

    from_name: str
    to_name: str
    data_key: str
    classes: list[str]
    kind: str = "text"


def text_task(label_config: str) -> TextTask:
    try:
        config = parse_config(label_config)
    except LabelkitError as e:
        raise ValueError(f"the label config cannot be read: {e}") from None
    for name, control in config.controls.items():
        if control.tag != "Choices" or not control.to_name:
            continue
        target = config.objects.get(control.to_name[0])
        if target is not None and target.tag in ("Text", "Image") and str(target.value).startswith("$"):
            return TextTask(name, target.name, target.value[1:], [o.value for o in control.options], target.tag.lower())
    raise ValueError("this example model needs a <Choices> control on a <Text> or an <Image> object")


@dataclass
class Media:
    """Where the project's media is (labelkit's address and a token, from /setup)."""

    hostname: str = ""
    access_token: str = ""

    def mean_colour(self, url: str) -> tuple[float, float, float]:
        """The mean colour (0..1 per channel) of an image labelkit serves (/data/...)."""
        import io

        import httpx
        from PIL import Image, ImageStat

        base = self.hostname.rstrip("/")
        if url.startswith("/"):
            url = base + url
        if not base or not url.startswith(base + "/"):
            raise ValueError(f"this example model only downloads images from labelkit ({base or 'no hostname'}), not {url}")
        response = httpx.get(url, headers={"Authorization": f"Token {self.access_token}"}, timeout=10)
        response.raise_for_status()
        with Image.open(io.BytesIO(response.content)) as image:
            means = ImageStat.Stat(image.convert("RGB")).mean
        return tuple(m / 255 for m in means)


@dataclass
class ProjectModel:
    """Naive Bayes for one project, trained on the examples it was sent (by annotation id,
    so an updated annotation replaces its earlier answer)."""

    task: TextTask
    media: Media = field(default_factory=Media)
    examples: dict[int, tuple[object, str]] = field(default_factory=dict)  # annotation id -> (features, class)
    version: int = 0
    class_counts: Counter = field(default_factory=Counter)
    word_counts: dict[str, Counter] = field(default_factory=dict)
    centroids: dict[str, tuple[float, ...]] = field(default_factory=dict)

    @property
    def model_version(self) -> str:
        return f"example-v{self.version}"

    def features(self, task: dict) -> object:
        value = (task.get("data") or {}).get(self.task.data_key, "")
        return self.media.mean_colour(str(value)) if self.task.kind == "image" else str(value)

    def learn(self, annotation_id: int, task: dict, label: str) -> None:
        if label in self.task.classes:
            self.examples[annotation_id] = (self.features(task), label)

    def train(self) -> None:
        self.class_counts = Counter(label for _, label in self.examples.values())
        if self.task.kind == "image":
            groups: dict[str, list] = {}
            for colour, label in self.examples.values():
                groups.setdefault(label, []).append(colour)
            self.centroids = {c: tuple(sum(x[i] for x in xs) / len(xs) for i in range(3)) for c, xs in groups.items()}
        else:
            self.word_counts = {c: Counter() for c in self.task.classes}
            for text, label in self.examples.values():
                self.word_counts[label].update(words(text))
        self.version += 1

    def image_probabilities(self, colour: tuple[float, ...]) -> dict[str, float]:
        """Closer to a class's mean colour, likelier; classes never seen share what is left."""
        classes = self.task.classes
        if not self.centroids:
            return {c: round(1 / len(classes), 6) for c in classes}
        weights = {c: math.exp(-8 * math.dist(colour, self.centroids[c])) if c in self.centroids else 1e-3 for c in classes}
        norm = sum(weights.values())
        return {c: round(w / norm, 6) for c, w in weights.items()}

    def probabilities(self, text: str) -> dict[str, float]:
        classes = self.task.classes
        vocabulary = len(set().union(*(set(c) for c in self.word_counts.values()))) + 1 if self.word_counts else 1
        total = sum(self.class_counts.values())
        logs = {}
        for c in classes:
            counts = self.word_counts.get(c, Counter())
            size = sum(counts.values())
            prior = math.log((self.class_counts[c] + 1) / (total + len(classes)))
            logs[c] = prior + sum(math.log((counts[w] + 1) / (size + vocabulary)) for w in words(text))
        top = max(logs.values())
        exps = {c: math.exp(v - top) for c, v in logs.items()}
        norm = sum(exps.values())
        return {c: round(v / norm, 6) for c, v in exps.items()}

    def predict(self, task: dict) -> dict:
        found = self.features(task)
        probabilities = self.image_probabilities(found) if self.task.kind == "image" else self.probabilities(found)
        best = max(self.task.classes, key=lambda c: probabilities[c])
        score = probabilities[best]
        item = {"from_name": self.task.from_name, "to_name": self.task.to_name, "type": "choices",
                "value": {"choices": [best]}, "score": score, "probabilities": probabilities}
        return {"result": [item], "score": score, "model_version": self.model_version}


class ExampleServer:
    """The protocol's four endpoints over a ProjectModel per project (keyed by project id)."""

    def __init__(self) -> None:
        self.models: dict[str, ProjectModel] = {}
        self.events: list[str] = []  # webhook actions received, oldest first
        self.lock = threading.Lock()

    def model(self, project: object, label_config: str | None) -> ProjectModel:
        key = str(project).split(".", 1)[0]
        with self.lock:
            found = self.models.get(key)
            if found is None or (label_config and text_task(label_config) != found.task):
                if not label_config:
                    raise ValueError(f"project {key} was never set up: call /setup first")
                found = self.models[key] = ProjectModel(text_task(label_config), found.media if found else Media())
            return found

    async def health(self, request: Request) -> JSONResponse:
        return JSONResponse({"status": "UP", "model_class": "ExampleTextClassifier"})

    async def setup(self, request: Request) -> JSONResponse:
        body = await request.json()
        model = self.model(body.get("project"), body.get("schema"))
        model.media = Media(str(body.get("hostname") or ""), str(body.get("access_token") or ""))
        return JSONResponse({"model_version": model.model_version})

    async def predict(self, request: Request) -> JSONResponse:
        body = await request.json()
        model = self.model(body.get("project"), body.get("label_config"))
        tasks = body.get("tasks") or []
        return JSONResponse({"results": await run_in_threadpool(lambda: [model.predict(t) for t in tasks])})

    async def webhook(self, request: Request) -> JSONResponse:
        body = await request.json()
        action = body.pop("action", "")
        self.events.append(action)
        project = body.get("project") or {}
        model = self.model(project.get("id"), project.get("label_config"))
        if action in ("ANNOTATION_CREATED", "ANNOTATION_UPDATED"):
            annotation, task = body.get("annotation") or {}, body.get("task") or {}
            for item in annotation.get("result") or []:
                if item.get("from_name") == model.task.from_name and item.get("type") == "choices":
                    for label in item.get("value", {}).get("choices", [])[:1]:
                        await run_in_threadpool(model.learn, int(annotation.get("id") or 0), task, label)
        elif action != "START_TRAINING":
            return JSONResponse({"status": "Unknown event"})
        model.train()
        return JSONResponse({"result": {"model_version": model.model_version, "examples": len(model.examples)},
                             "status": "ok"}, status_code=201)

    def app(self) -> Starlette:
        async def failure(request: Request, exc: Exception) -> JSONResponse:
            return JSONResponse({"status": 500, "detail": f"{type(exc).__name__}: {exc}"}, status_code=500)

        routes = [
            Route("/health", self.health, methods=["GET"]),
            Route("/", self.health, methods=["GET"]),
            Route("/setup", self.setup, methods=["POST"]),
            Route("/predict", self.predict, methods=["POST"]),
            Route("/webhook", self.webhook, methods=["POST"]),
        ]
        return Starlette(routes=routes, exception_handlers={ValueError: failure, Exception: failure})


def serve(host: str = "127.0.0.1", port: int = 9090) -> None:
    import uvicorn

    uvicorn.run(ExampleServer().app(), host=host, port=port, log_level="warning")
