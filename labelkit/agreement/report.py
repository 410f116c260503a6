"""The agreement report of a project: per control the metric its type calls for (Cohen's
kappa or Krippendorff's alpha with Fleiss' kappa beside it for choices, interval alpha for
ratings and numbers, exact and overlap span F1, IoU-matched P/R/F1 for shapes, exact match
and edit similarity for text), the annotator x annotator matrix, each annotator's accuracy
against ground truth, and each task's score (tasks_below, for the data manager). Tasks are
compared with the rules of labelkit.agreement (score); only tasks with two or more submitted
annotations or a ground truth are read, in batches."""

from __future__ import annotations

import heapq
import itertools
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, or_
from sqlmodel import Session, col, select

from labelkit.agreement import (
    BATCH,
    Control,
    answers_of,
    as_list,
    canonical,
    compare,
    config_of,
    controls_of,
    mean_pairwise,
    metrics,
    region_count,
    region_matches,
    score_answers,
)
from labelkit.auth.permissions import Capability
from labelkit.errors import InvalidInput
from labelkit.models import Annotation, AnnotationState, Project, Task, User
from labelkit.projects.crud import get_project


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

    def __init__(self, control: Control):
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
            if region_count(truth) or region_count(answer):
                for key, m in region_matches(truth, answer).items():
                    if key != "ious":
                        self.truth_matches[key] += m
            return
        s = compare(self.control, answer, truth)
        if s is not None:
            self.truth_sum += s
            self.truth_n += 1

    def add(self, answers: list[tuple[int, Any]]) -> None:
        c = self.control
        if c.kind == "regions" and not any(region_count(a) for _, a in answers):
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
                m = region_matches(x, y)
                for key in ("span_exact", "span_overlap", "areas", "points", "exact"):
                    self.matches[key] += m[key]
                self.ious_sum += sum(m["ious"])
                self.ious_n += len(m["ious"])
            else:
                self.exact += float(canonical(x) == canonical(y))
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


def _category(control: Control, answer: Any) -> Any:
    if control.kind == "choices":
        values = as_list(answer)
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
    config = config_of(project.label_config)
    controls = controls_of(config)
    for task_id, rows in _rows(session, project.id, since, until):
        answers = [(r.user_id, answers_of(config, controls, r.result), r.ground_truth) for r in rows]
        truth = next(((r.user_id, answers_of(config, controls, r.reviewed_result or r.result)) for r in rows
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
            s = score_answers(controls, x, y)
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
                s = score_answers(controls, a, truth_answers)
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
            _ControlTally(c).result() for c in controls_of(config_of(project.label_config))],
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
        s = mean_pairwise(controls, [a for _, a, _ in answers])
        if s is None or s >= threshold:
            continue
        item = (-s, -task_id)
        if len(worst) < keep:
            heapq.heappush(worst, item)
        elif item > worst[0]:
            heapq.heapreplace(worst, item)
    ordered = sorted((-s, -t) for s, t in worst)  # lowest score first, then by task id
    return [(t, s) for s, t in ordered][offset:offset + limit]
