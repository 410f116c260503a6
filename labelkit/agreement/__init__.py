"""Agreement between annotators, and against ground truth.

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

metrics.py holds the metrics themselves (no database); report.py the project's agreement
report (project_agreement, tasks_below) built on the rules here.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from labelkit.agreement import metrics
from labelkit.config import LabelConfig, parse_config
from labelkit.config.tags import CLASSIFICATION_CONTROLS, REGION_CONTROLS
from labelkit.models import Annotation, AnnotationState, Project
from labelkit.results import regions as regions_mod
from labelkit.results.geometry import box_in_pixels, ellipse_in_pixels, to_pixels
from labelkit.results.items import REGIONS, values_of

BATCH = 500
KEYPOINT_RADIUS = 2.0  # percent of the image: two keypoints this close (same label) are one
_SPAN_SHAPES = ("span", "offsets", "range", "timeline")
_AREA_SHAPES = ("rectangle", "polygon", "ellipse")


# ---------------------------------------------------------------- one task


@dataclass(frozen=True)
class Control:
    name: str
    tag: str
    kind: str  # choices, taxonomy, text, rating, number, exact, regions
    low: float | None = None
    high: float | None = None


def controls_of(config: LabelConfig) -> list[Control]:
    """The controls agreement is measured on, with how each is compared."""
    found = []
    for name, control in config.controls.items():
        if control.per_region:
            continue  # answered inside a region: counted with the region's label, not apart
        tag = control.tag
        if tag in REGION_CONTROLS:
            found.append(Control(name, tag, "regions"))
        elif tag in CLASSIFICATION_CONTROLS:
            kind = {"Choices": "choices", "Taxonomy": "taxonomy", "TextArea": "text",
                    "Rating": "rating", "Number": "number"}.get(tag, "exact")
            low = high = None
            if kind == "rating":
                low, high = 1.0, _number(control.attrs.get("maxRating"), 5.0)
            elif kind == "number":
                low, high = _number(control.attrs.get("min")), _number(control.attrs.get("max"))
            found.append(Control(name, tag, kind, low, high))
    return found


def _number(text: str | None, default: float | None = None) -> float | None:
    try:
        value = float(text) if text not in (None, "") else default
    except ValueError:
        return default
    return value if value is None or math.isfinite(value) else default


def config_of(config: LabelConfig | str) -> LabelConfig:
    return parse_config(config) if isinstance(config, str) else config


def answers_of(config: LabelConfig, controls: list[Control], result: list | None) -> dict[str, Any]:
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
                x, y, w, h, rotation = box_in_pixels(g, width, height)
                areas.append((label, metrics.rectangle(x, y, w, h, float(rotation))))
            elif shape == "polygon":
                areas.append((label, metrics.polygon([to_pixels(p[0], p[1], width, height) for p in g["points"]])))
            elif shape == "ellipse":
                x, y, rx, ry, rotation = ellipse_in_pixels(g, width, height)
                areas.append((label, metrics.ellipse(x, y, rx, ry, float(rotation))))
            elif shape == "keypoint":
                points.append((label, float(g["x"]), float(g["y"])))
            else:
                exact.append((label, json.dumps(g, sort_keys=True, default=str)))
        except (KeyError, TypeError, ValueError, IndexError):
            exact.append((label, json.dumps(g, sort_keys=True, default=str)))  # malformed: compared as it is
    return {"spans": spans, "spans_exact": spans_exact, "areas": areas, "points": points, "exact": exact}


def region_count(answer: dict[str, list]) -> int:
    return sum(len(v) for v in answer.values())


def _point_similarity(p, q) -> float:
    if p[0] != q[0]:
        return 0.0
    distance = math.dist(p[1:], q[1:])
    return 0.0 if distance > KEYPOINT_RADIUS else max(1.0 - distance / KEYPOINT_RADIUS, 1e-9)


def region_matches(a: dict[str, list], b: dict[str, list]) -> dict[str, Any]:
    """How two results' regions of one control match, by kind (a is the reference)."""
    exact_spans = metrics.span_prf(a["spans"], b["spans"], "exact") + metrics.span_prf(a["spans_exact"], b["spans_exact"], "exact")
    overlap_spans = metrics.span_prf(a["spans"], b["spans"], "overlap") + metrics.span_prf(a["spans_exact"], b["spans_exact"], "exact")
    areas, ious = metrics.region_prf(a["areas"], b["areas"])
    n_points, _ = metrics.greedy_match(a["points"], b["points"], _point_similarity, 1e-12)
    points = metrics.Match(n_points, len(a["points"]), len(b["points"]))
    exact = metrics.span_prf(a["exact"], b["exact"], "exact")
    return {"span_exact": exact_spans, "span_overlap": overlap_spans, "areas": areas, "ious": ious,
            "points": points, "exact": exact}


def compare(control: Control, x: Any, y: Any) -> float | None:
    """Similarity in [0, 1] of two answers of one control (None: nothing comparable)."""
    if control.kind == "regions":
        if not region_count(x) and not region_count(y):
            return None
        m = region_matches(x, y)
        total = m["span_overlap"] + m["areas"] + m["points"] + m["exact"]
        return total.f1
    if isinstance(x, dict) or isinstance(y, dict):  # perItem: {page index: answer}, page by page
        if not (isinstance(x, dict) and isinstance(y, dict)):
            return float(canonical(x) == canonical(y))
        pages = [s for k in x.keys() & y.keys() if (s := compare(control, x[k], y[k])) is not None]
        return sum(pages) / len(pages) if pages else None
    if control.kind == "choices":
        return metrics.jaccard(set(as_list(x)), set(as_list(y)))
    if control.kind == "taxonomy":
        return metrics.jaccard({tuple(p) for p in as_list(x)}, {tuple(p) for p in as_list(y)})
    if control.kind == "text":
        return metrics.edit_similarity(str(x), str(y))
    if control.kind in ("rating", "number"):
        try:
            return metrics.numeric_similarity(float(x), float(y), control.low, control.high)
        except (TypeError, ValueError):
            return float(x == y)
    return float(canonical(x) == canonical(y))


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def score(config: LabelConfig | str, a: list | None, b: list | None) -> float | None:
    """How alike two results of one task are, in [0, 1]: the mean over the controls both
    answered of each control's similarity (see the module's doc). None: nothing comparable."""
    config = config_of(config)
    controls = controls_of(config)
    answers_a, answers_b = answers_of(config, controls, a), answers_of(config, controls, b)
    return score_answers(controls, answers_a, answers_b)


def score_answers(controls: list[Control], answers_a: dict, answers_b: dict) -> float | None:
    scores = []
    for control in controls:
        if control.name in answers_a and control.name in answers_b:
            s = compare(control, answers_a[control.name], answers_b[control.name])
            if s is not None:
                scores.append(s)
    return sum(scores) / len(scores) if scores else None


def mean_pairwise(controls: list[Control], answers: list[dict]) -> float | None:
    scores = [s for x, y in itertools.combinations(answers, 2) if (s := score_answers(controls, x, y)) is not None]
    return sum(scores) / len(scores) if scores else None


def _task_agreement(session: Session, project: Project, task_id: int) -> float | None:
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
    config = config_of(project.label_config)
    controls = controls_of(config)
    return mean_pairwise(controls, [answers_of(config, controls, r) for r in results])
