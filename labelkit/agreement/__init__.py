"""Agreement between annotators, and against ground truth (issue 7).

score(config, a, b) is the one rule for how alike two results of one task are, in [0, 1]:
each control both answered is compared the way its type calls for, then averaged:
  Choices      1 when the same set, else Jaccard of the two sets
  Taxonomy     Jaccard of the chosen paths
  TextArea     1 - normalized edit distance
  Rating       1 - |a - b| / (maxRating - 1);  Number: 1 - |a - b| / (max - min), else equal or not
  spans        overlap F1 of (start, end, label) (Labels on Text, HyperText, Paragraphs, Audio, TimeSeries)
  boxes, polygons, ellipses   F1 of the shapes matched at IoU >= 0.5 with the same label, in pixels
  keypoints    F1 of the points matched within 2% of the image with the same label
  others       the same value or not (DateTime, Ranker, Pairwise, brush masks, video tracks)
A region control counts as answered when either result has a region of it (an empty image
against three boxes is 0); a per-task control when both have a value.

The project service (project_agreement) adds the metrics practitioners report per control:
Cohen's kappa (two annotators) or Krippendorff's alpha (more; Fleiss' kappa beside it) for
choices, interval alpha for ratings and numbers, exact and overlap span F1, IoU-matched
P/R/F1 for shapes, exact match and edit similarity for text; the annotator x annotator
matrix; each annotator's accuracy against ground truth; the score of each task. It reads
only tasks with two or more submitted annotations or a ground truth, in batches.
"""

from __future__ import annotations

import heapq
import itertools
import json
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, or_
from sqlmodel import Session, col, select

from labelkit import regions as regions_mod
from labelkit.agreement import metrics
from labelkit.auth.permissions import Capability
from labelkit.config import LabelConfig, parse_config
from labelkit.config.tags import CLASSIFICATION_CONTROLS, REGION_CONTROLS
from labelkit.errors import InvalidInput
from labelkit.models import Annotation, AnnotationState, Project, Task, User
from labelkit.projects import get_project
from labelkit.results import REGIONS, values_of

BATCH = 500
KEYPOINT_RADIUS = 2.0  # percent of the image: two keypoints this close (same label) are one
_SPAN_SHAPES = ("span", "offsets", "range", "timeline")
_AREA_SHAPES = ("rectangle", "polygon", "ellipse")


# ---------------------------------------------------------------- one task


@dataclass(frozen=True)
class _Control:
    name: str
    tag: str
    kind: str  # choices, taxonomy, text, rating, number, exact, regions
    low: float | None = None
    high: float | None = None


def controls_of(config: LabelConfig) -> list[_Control]:
    """The controls agreement is measured on, with how each is compared."""
    found = []
    for name, control in config.controls.items():
        if control.per_region:
            continue  # answered inside a region: counted with the region's label, not apart
        tag = control.tag
        if tag in REGION_CONTROLS:
            found.append(_Control(name, tag, "regions"))
        elif tag in CLASSIFICATION_CONTROLS:
            kind = {"Choices": "choices", "Taxonomy": "taxonomy", "TextArea": "text",
                    "Rating": "rating", "Number": "number"}.get(tag, "exact")
            low = high = None
            if kind == "rating":
                low, high = 1.0, _number(control.attrs.get("maxRating"), 5.0)
            elif kind == "number":
                low, high = _number(control.attrs.get("min")), _number(control.attrs.get("max"))
            found.append(_Control(name, tag, kind, low, high))
    return found


def _number(text: str | None, default: float | None = None) -> float | None:
    try:
        value = float(text) if text not in (None, "") else default
    except ValueError:
        return default
    return value if value is None or math.isfinite(value) else default


def _config(config: LabelConfig | str) -> LabelConfig:
    return parse_config(config) if isinstance(config, str) else config


def _answers(config: LabelConfig, controls: list[_Control], result: list | None) -> dict[str, Any]:
    """Each control's comparable answer in one result (absent: not answered)."""
    values = values_of(result or [], config)
    found_regions = values.get(REGIONS) or []
    answers: dict[str, Any] = {}
    for control in controls:
        if control.kind == "regions":
            mine = [r for r in found_regions if r.get("tool") == control.name or control.name in r["labels"]]
            answers[control.name] = _region_answer(mine)
        elif values.get(control.name) not in (None, "", [], {}):
            answers[control.name] = values[control.name]
    return answers


def _region_answer(found: list[dict]) -> dict[str, list]:
    """Regions grouped by how they are matched: spans, areas (shapely, pixels), points, exact."""
    spans, spans_exact, areas, points, exact = [], [], [], [], []
    for region in found:
        label = tuple(sorted(regions_mod.label_names(region)))
        shape, g = region["shape"], region["geometry"]
        width = float(region.get("original_width") or 100)
        height = float(region.get("original_height") or 100)
        try:
            if shape in ("span", "range") and g.get("start") is not None and g.get("end") is not None:
                spans.append((float(g["start"]), float(g["end"]), label))
            elif shape == "offsets" and isinstance(g.get("globalOffsets"), dict):
                spans.append((float(g["globalOffsets"]["start"]), float(g["globalOffsets"]["end"]), label))
            elif shape == "offsets":
                spans_exact.append((json.dumps([g.get("start"), g.get("startOffset")]),
                                    json.dumps([g.get("end"), g.get("endOffset")]), label))
            elif shape == "rectangle":
                areas.append((label, metrics.rectangle(
                    g["x"] * width / 100, g["y"] * height / 100, g["width"] * width / 100,
                    g["height"] * height / 100, float(g.get("rotation") or 0))))
            elif shape == "polygon":
                areas.append((label, metrics.polygon([(p[0] * width / 100, p[1] * height / 100) for p in g["points"]])))
            elif shape == "ellipse":
                areas.append((label, metrics.ellipse(
                    g["x"] * width / 100, g["y"] * height / 100, g["radiusX"] * width / 100,
                    g["radiusY"] * height / 100, float(g.get("rotation") or 0))))
            elif shape == "keypoint":
                points.append((label, float(g["x"]), float(g["y"])))
            else:
                exact.append((label, json.dumps(g, sort_keys=True, default=str)))
        except (KeyError, TypeError, ValueError, IndexError):
            exact.append((label, json.dumps(g, sort_keys=True, default=str)))  # malformed: compared as it is
    return {"spans": spans, "spans_exact": spans_exact, "areas": areas, "points": points, "exact": exact}


def _region_count(answer: dict[str, list]) -> int:
    return sum(len(v) for v in answer.values())


def _point_similarity(p, q) -> float:
    if p[0] != q[0]:
        return 0.0
    distance = math.dist(p[1:], q[1:])
    return 0.0 if distance > KEYPOINT_RADIUS else max(1.0 - distance / KEYPOINT_RADIUS, 1e-9)


def _region_matches(a: dict[str, list], b: dict[str, list]) -> dict[str, Any]:
    """How two results' regions of one control match, by kind (a is the reference)."""
    exact_spans = metrics.span_prf(a["spans"], b["spans"], "exact") + metrics.span_prf(a["spans_exact"], b["spans_exact"], "exact")
    overlap_spans = metrics.span_prf(a["spans"], b["spans"], "overlap") + metrics.span_prf(a["spans_exact"], b["spans_exact"], "exact")
    areas, ious = metrics.region_prf(a["areas"], b["areas"])
    n_points, _ = metrics.greedy_match(a["points"], b["points"], _point_similarity, 1e-12)
    points = metrics.Match(n_points, len(a["points"]), len(b["points"]))
    exact = metrics.span_prf(a["exact"], b["exact"], "exact")
    return {"span_exact": exact_spans, "span_overlap": overlap_spans, "areas": areas, "ious": ious,
            "points": points, "exact": exact}


def _compare(control: _Control, x: Any, y: Any) -> float | None:
    """Similarity in [0, 1] of two answers of one control (None: nothing comparable)."""
    if control.kind == "regions":
        if not _region_count(x) and not _region_count(y):
            return None
        m = _region_matches(x, y)
        total = m["span_overlap"] + m["areas"] + m["points"] + m["exact"]
        return total.f1
    if isinstance(x, dict) or isinstance(y, dict):  # perItem: {page index: answer}, page by page
        if not (isinstance(x, dict) and isinstance(y, dict)):
            return float(_canonical(x) == _canonical(y))
        pages = [s for k in x.keys() & y.keys() if (s := _compare(control, x[k], y[k])) is not None]
        return sum(pages) / len(pages) if pages else None
    if control.kind == "choices":
        return metrics.jaccard(set(_as_list(x)), set(_as_list(y)))
    if control.kind == "taxonomy":
        return metrics.jaccard({tuple(p) for p in _as_list(x)}, {tuple(p) for p in _as_list(y)})
    if control.kind == "text":
        return metrics.edit_similarity(str(x), str(y))
    if control.kind in ("rating", "number"):
        try:
            return metrics.numeric_similarity(float(x), float(y), control.low, control.high)
        except (TypeError, ValueError):
            return float(x == y)
    return float(_canonical(x) == _canonical(y))


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def score(config: LabelConfig | str, a: list | None, b: list | None) -> float | None:
    """How alike two results of one task are, in [0, 1]: the mean over the controls both
    answered of each control's similarity (see the module's doc). None: nothing comparable."""
    config = _config(config)
    controls = controls_of(config)
    answers_a, answers_b = _answers(config, controls, a), _answers(config, controls, b)
    return _score_answers(controls, answers_a, answers_b)


def _score_answers(controls: list[_Control], answers_a: dict, answers_b: dict) -> float | None:
    scores = []
    for control in controls:
        if control.name in answers_a and control.name in answers_b:
            s = _compare(control, answers_a[control.name], answers_b[control.name])
            if s is not None:
                scores.append(s)
    return sum(scores) / len(scores) if scores else None


def _mean_pairwise(controls: list[_Control], answers: list[dict]) -> float | None:
    scores = [s for x, y in itertools.combinations(answers, 2) if (s := _score_answers(controls, x, y)) is not None]
    return sum(scores) / len(scores) if scores else None


def task_agreement(session: Session, project: Project, task_id: int) -> float | None:
    """Mean pairwise score of a task's submitted annotations (None: fewer than two, or
    nothing comparable). No permission check: callers have already checked the project."""
    results = session.exec(
        select(Annotation.result).where(
            Annotation.task_id == task_id, Annotation.project_id == project.id,
            Annotation.state == AnnotationState.SUBMITTED, col(Annotation.deleted_at).is_(None),
        ).order_by(Annotation.id)
    ).all()
    if len(results) < 2:
        return None
    config = _config(project.label_config)
    controls = controls_of(config)
    return _mean_pairwise(controls, [_answers(config, controls, r) for r in results])


# ---------------------------------------------------------------- a project


@dataclass
class ControlAgreement:
    """One control's agreement over the project, by the metric its type calls for."""

    name: str
    tag: str
    metric: str  # what `value` is: "Cohen's kappa", "Krippendorff's alpha", "Span F1 (overlap)", ...
    value: float | None  # None: undefined (e.g. everyone always chose the same one option)
    tasks: int  # tasks where two or more annotators answered this control (pages, for perItem)
    # Every metric computed, by name: krippendorff_alpha, fleiss_kappa, cohen_kappa, exact_match,
    # edit_similarity, span_f1_exact, span_f1_overlap, shape_f1, mean_iou, keypoint_f1, exact_f1;
    # against ground truth: truth_accuracy (mean score), or for regions truth_precision,
    # truth_recall, truth_f1 (the truth is the reference). None: nothing to compute it on.
    details: dict[str, float | None] = field(default_factory=dict)


@dataclass
class AnnotatorAccuracy:
    """How one annotator's submissions score against the ground truth of the same tasks."""

    user_id: int
    name: str
    accuracy: float | None  # mean score against the truth, in [0, 1]
    tasks: int  # gold tasks this annotator answered (their own truth not counted)


@dataclass
class ProjectAgreement:
    project_id: int
    tasks: int  # tasks with two or more submitted annotations (the per-task scores below)
    mean: float | None  # mean of the per-task scores
    controls: list[ControlAgreement]
    annotators: list[tuple[int, str]]  # (user id, name): the rows and columns of the matrix
    matrix: dict[tuple[int, int], float]  # (user, other) -> mean pairwise score, both orders
    pair_tasks: dict[tuple[int, int], int]  # (user, other) -> tasks both annotated, both orders
    accuracy: list[AnnotatorAccuracy]  # one per annotator with a gold task, worst first
    task_scores: list[tuple[int, float]]  # (task id, mean pairwise score), by task id

    def matrix_rows(self) -> list[list[float | None]]:
        """The matrix as rows for a heat map, in the order of `annotators` (diagonal None)."""
        ids = [uid for uid, _ in self.annotators]
        return [[self.matrix.get((u, v)) if u != v else None for v in ids] for u in ids]


class _ControlTally:
    """What one control's metrics need, summed task by task."""

    def __init__(self, control: _Control):
        self.control = control
        self.tasks = 0
        self.raters: set[int] = set()
        self.cohen: dict[tuple[int, int], Counter] = defaultdict(Counter)  # (u, v) -> (u's, v's) counts
        self.coincidence: Counter = Counter()
        self.fleiss: dict[int, Counter] = defaultdict(Counter)  # raters per task -> Counter of labels
        self.fleiss_rows: dict[int, list[Counter]] = defaultdict(list)
        self.pairs = 0
        self.exact = 0.0
        self.edit = 0.0
        self.matches: dict[str, metrics.Match] = defaultdict(lambda: metrics.NO_MATCH)
        self.ious: list[float] = []
        self.ious_sum = 0.0
        self.ious_n = 0
        self.truth_matches: dict[str, metrics.Match] = defaultdict(lambda: metrics.NO_MATCH)
        self.truth_sum = 0.0
        self.truth_n = 0

    def add_truth(self, truth: Any, answer: Any) -> None:
        """One annotator's answer against the task's ground truth (the reference)."""
        if self.control.kind == "regions":
            if _region_count(truth) or _region_count(answer):
                for key, m in _region_matches(truth, answer).items():
                    if key != "ious":
                        self.truth_matches[key] += m
            return
        s = _compare(self.control, answer, truth)
        if s is not None:
            self.truth_sum += s
            self.truth_n += 1

    def add(self, answers: list[tuple[int, Any]]) -> None:
        c = self.control
        if c.kind == "regions" and not any(_region_count(a) for _, a in answers):
            return
        if c.kind not in ("regions", "exact") and any(isinstance(a, dict) for _, a in answers):
            for page in sorted({k for _, a in answers if isinstance(a, dict) for k in a}, key=str):
                self.add([(u, a[page]) for u, a in answers if isinstance(a, dict) and a.get(page) not in (None, "", [])])
            return  # perItem: each page is a unit of its own
        if len(answers) < 2:
            return
        self.tasks += 1
        if c.kind in ("choices", "rating", "number"):
            labels = [(u, x) for u, a in answers if (x := _category(c, a)) is not None]  # not a number: left out
            self.raters.update(u for u, _ in labels)
            for (u, x), (v, y) in itertools.combinations(sorted(labels, key=lambda p: p[0]), 2):
                self.cohen[(u, v)][(x, y)] += 1
            metrics.add_coincidences(self.coincidence, [x for _, x in labels])
            self.fleiss_rows[len(labels)].append(Counter(x for _, x in labels))
        for (_, x), (_, y) in itertools.combinations(answers, 2):
            self.pairs += 1
            if c.kind == "regions":
                m = _region_matches(x, y)
                for key in ("span_exact", "span_overlap", "areas", "points", "exact"):
                    self.matches[key] += m[key]
                self.ious_sum += sum(m["ious"])
                self.ious_n += len(m["ious"])
            else:
                self.exact += float(_canonical(x) == _canonical(y))
                if c.kind == "text":
                    self.edit += metrics.edit_similarity(str(x), str(y))

    def result(self) -> ControlAgreement:
        c = self.control
        details: dict[str, float | None] = {}
        metric, value = "Exact match", (self.exact / self.pairs if self.pairs else None)
        if c.kind in ("choices", "rating", "number"):
            level = "nominal" if c.kind == "choices" else "interval"
            details["krippendorff_alpha"] = metrics.alpha_from_coincidences(self.coincidence, level)
            metric, value = "Krippendorff's alpha", details["krippendorff_alpha"]
            if c.kind == "choices":
                if self.fleiss_rows:
                    most = max(self.fleiss_rows, key=lambda m: (len(self.fleiss_rows[m]), m))
                    rows = self.fleiss_rows[most]
                    cats = sorted({k for r in rows for k in r}, key=repr)
                    details["fleiss_kappa"] = metrics.fleiss_kappa([[r[k] for k in cats] for r in rows])
                if len(self.raters) == 2 and len(self.cohen) == 1:
                    details["cohen_kappa"] = metrics.cohen_from_pairs(next(iter(self.cohen.values())))
                    metric, value = "Cohen's kappa", details["cohen_kappa"]
            details["exact_match"] = self.exact / self.pairs if self.pairs else None
        elif c.kind == "text":
            details["exact_match"] = value
            details["edit_similarity"] = self.edit / self.pairs if self.pairs else None
            metric, value = "Edit similarity", details["edit_similarity"]
        elif c.kind == "regions":
            m = self.matches
            details["span_f1_exact"] = m["span_exact"].f1
            details["span_f1_overlap"] = m["span_overlap"].f1
            details["shape_f1"] = m["areas"].f1
            details["mean_iou"] = self.ious_sum / self.ious_n if self.ious_n else None
            details["keypoint_f1"] = m["points"].f1
            details["exact_f1"] = m["exact"].f1
            both = {key: m[key] + self.truth_matches[key] for key in ("areas", "span_overlap", "points", "exact")}
            main, metric = next(
                ((key, name) for key, name in (("areas", "Shape F1 at IoU 0.5"), ("span_overlap", "Span F1 (overlap)"),
                                               ("points", "Keypoint F1")) if both[key].n_a + both[key].n_b),
                ("exact", "Region F1 (exact)"),
            )
            value = m[main].f1
            truth = self.truth_matches[main]  # the truth is the reference: recall is of its regions
            details["truth_precision"], details["truth_recall"], details["truth_f1"] = truth.precision, truth.recall, truth.f1
        if c.kind != "regions":
            details["truth_accuracy"] = self.truth_sum / self.truth_n if self.truth_n else None
        return ControlAgreement(c.name, c.tag, metric, value, self.tasks, details)


def _category(control: _Control, answer: Any) -> Any:
    if control.kind == "choices":
        values = _as_list(answer)
        return values[0] if len(values) == 1 else tuple(sorted(map(str, values)))
    try:
        return float(answer)
    except (TypeError, ValueError):
        return None


def _rows(session: Session, project_id: int, since: datetime | None, until: datetime | None):
    """Submitted annotations of the tasks worth comparing, task by task: the task ids come
    from one streamed aggregate, their annotations a batch of tasks at a time by task id
    (an index lookup whatever the planner knows of the tables)."""
    # The batch query names no project: its tasks are the project's, and with the task ids
    # the only indexed condition, the planner looks them up by task id.
    live = [
        Annotation.state == AnnotationState.SUBMITTED, col(Annotation.deleted_at).is_(None),
        col(Annotation.user_id).is_not(None),
    ]
    if since is not None:
        live.append(or_(col(Annotation.ground_truth), col(Annotation.submitted_at) >= since))
    if until is not None:
        live.append(or_(col(Annotation.ground_truth), col(Annotation.submitted_at) < until))
    wanted = (
        select(Annotation.task_id).where(Annotation.project_id == project_id, *live).group_by(Annotation.task_id)
        .having(or_(func.count() >= 2, func.max(case((col(Annotation.ground_truth), 1), else_=0)) == 1))
        .order_by(Annotation.task_id)
        .execution_options(yield_per=BATCH)
    )
    for batch in session.execute(wanted).scalars().partitions(BATCH):
        rows = session.execute(
            select(Annotation.task_id, Annotation.user_id, Annotation.result, Annotation.reviewed_result,
                   Annotation.ground_truth)
            .join(Task, Task.id == Annotation.task_id)
            .where(col(Annotation.task_id).in_(batch), *live, col(Task.deleted_at).is_(None))
            .order_by(Annotation.task_id, Annotation.id)
        ).all()
        for task_id, group in itertools.groupby(rows, key=lambda r: r[0]):
            yield task_id, list(group)


def _scored_tasks(session: Session, project: Project, since=None, until=None):
    """(task id, each annotator's answers, the truth's answers or None) per task."""
    config = _config(project.label_config)
    controls = controls_of(config)
    for task_id, rows in _rows(session, project.id, since, until):
        answers = [(r.user_id, _answers(config, controls, r.result), r.ground_truth) for r in rows]
        truth = next(((r.user_id, _answers(config, controls, r.reviewed_result or r.result)) for r in rows
                      if r.ground_truth), None)
        yield task_id, controls, answers, truth


def project_agreement(session: Session, actor: User, project_id: int, since: datetime | None = None,
                      until: datetime | None = None) -> ProjectAgreement:
    """The project's agreement (annotations submitted in [since, until) when given; ground
    truth always counts). Needs PROGRESS_VIEW: reviewers and managers."""
    project = get_project(session, actor, project_id, Capability.PROGRESS_VIEW)
    if since is not None and until is not None and since >= until:
        raise InvalidInput("The start of the period must be before its end.")
    tallies: dict[str, _ControlTally] = {}
    pair_sum: Counter = Counter()
    pair_n: Counter = Counter()
    gold_sum: Counter = Counter()
    gold_n: Counter = Counter()
    task_scores: list[tuple[int, float]] = []
    for task_id, controls, answers, truth in _scored_tasks(session, project, since, until):
        if not tallies:
            tallies = {c.name: _ControlTally(c) for c in controls}
        for control in controls:
            tallies[control.name].add([(u, a[control.name]) for u, a, _ in answers if control.name in a])
        task_pairs = []
        for (u, x, _), (v, y, _) in itertools.combinations(answers, 2):
            s = _score_answers(controls, x, y)
            if s is None:
                continue
            task_pairs.append(s)
            for key in ((u, v), (v, u)):
                pair_sum[key] += s
                pair_n[key] += 1
        if task_pairs:
            task_scores.append((task_id, sum(task_pairs) / len(task_pairs)))
        if truth is not None:
            _, truth_answers = truth
            for u, a, is_truth in answers:
                if is_truth:
                    continue  # the truth itself is not scored against itself
                for control in controls:
                    if control.name in a and control.name in truth_answers:
                        tallies[control.name].add_truth(truth_answers[control.name], a[control.name])
                s = _score_answers(controls, a, truth_answers)
                if s is not None:
                    gold_sum[u] += s
                    gold_n[u] += 1
    user_ids = sorted({u for pair in pair_n for u in pair} | set(gold_n))
    names = dict(session.exec(select(User.id, User.name).where(col(User.id).in_(user_ids))).all()) if user_ids else {}
    emails = dict(session.exec(select(User.id, User.email).where(col(User.id).in_(user_ids))).all()) if user_ids else {}
    label = {u: names.get(u) or emails.get(u) or f"user {u}" for u in user_ids}
    accuracy = sorted(
        (AnnotatorAccuracy(u, label[u], gold_sum[u] / gold_n[u], gold_n[u]) for u in gold_n),
        key=lambda a: (a.accuracy, a.name),
    )
    scores = [s for _, s in task_scores]
    return ProjectAgreement(
        project_id=project.id, tasks=len(task_scores), mean=sum(scores) / len(scores) if scores else None,
        controls=[t.result() for t in tallies.values()] if tallies else [
            _ControlTally(c).result() for c in controls_of(_config(project.label_config))],
        annotators=[(u, label[u]) for u in user_ids if any((u, v) in pair_n for v in user_ids)],
        matrix={k: pair_sum[k] / n for k, n in pair_n.items()}, pair_tasks=dict(pair_n),
        accuracy=accuracy, task_scores=task_scores,
    )


def tasks_below(session: Session, actor: User, project_id: int, threshold: float, limit: int = 50,
                offset: int = 0) -> list[tuple[int, float]]:
    """Tasks whose annotators agree less than `threshold` (a score in [0, 1]), least agreement
    first: (task id, score). For the data manager's "agreement below x" (PROGRESS_VIEW)."""
    project = get_project(session, actor, project_id, Capability.PROGRESS_VIEW)
    try:
        threshold = float(threshold)
    except (TypeError, ValueError):
        raise InvalidInput("The agreement threshold must be a number between 0 and 1.") from None
    if not 0 <= threshold <= 1 or math.isnan(threshold):
        raise InvalidInput("The agreement threshold must be a number between 0 and 1.")
    if limit < 1 or offset < 0:
        raise InvalidInput("Give a page size of at least 1 and an offset of 0 or more.")
    keep = offset + limit
    worst: list[tuple[float, int]] = []  # a max-heap (negated) of the `keep` lowest scores
    for task_id, controls, answers, _ in _scored_tasks(session, project):
        s = _mean_pairwise(controls, [a for _, a, _ in answers])
        if s is None or s >= threshold:
            continue
        item = (-s, -task_id)
        if len(worst) < keep:
            heapq.heappush(worst, item)
        elif item > worst[0]:
            heapq.heapreplace(worst, item)
    ordered = sorted((-s, -t) for s, t in worst)  # lowest score first, then by task id
    return [(t, s) for s, t in ordered][offset:offset + limit]
