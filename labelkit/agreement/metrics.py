"""Agreement metrics as pure functions: no database, no config, plain Python values.

- cohen_kappa: two raters, nominal categories (as scikit-learn's cohen_kappa_score).
- fleiss_kappa: a subjects x categories table of counts, the same number of raters per subject.
- krippendorff_alpha: raters x units with missing values (None), nominal or interval.
- span_prf: spans (start, end, label) matched exactly or by overlap -> precision, recall, F1.
- region_prf: boxes/polygons/ellipses matched one-to-one at IoU >= 0.5 -> precision, recall, F1.
- edit_similarity: 1 - normalized Levenshtein distance of two texts.

A metric that is undefined for its input (one category only, nothing to compare) is None,
never a made-up 0 or 1.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from rapidfuzz.distance import Levenshtein
from shapely import make_valid
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from labelkit.results.geometry import Box, Ellipse, box_corners, ellipse_outline

IOU_THRESHOLD = 0.5
ELLIPSE_SIDES = 128  # an ellipse's polygon for IoU: as many sides as shapely's circle buffer (quad_segs=32)


# ---------------------------------------------------------------- categories


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float | None:
    """Cohen's kappa of two raters' labels of the same items (a[i] and b[i] rate item i).
    None when it is undefined: no items, or chance agreement 1 (both used one same label)."""
    if len(a) != len(b):
        raise ValueError("Both raters must rate the same items.")
    return cohen_from_pairs(Counter(zip(a, b, strict=True)))


def fleiss_kappa(table: Sequence[Sequence[int]]) -> float | None:
    """Fleiss' kappa from a subjects x categories table: table[i][j] raters put subject i in
    category j; every subject has the same number of raters (at least 2)."""
    rows = [list(r) for r in table if sum(r) > 0]
    if not rows:
        return None
    raters = sum(rows[0])
    if raters < 2 or any(sum(r) != raters for r in rows):
        raise ValueError("Fleiss' kappa needs the same number of raters (2 or more) for every subject.")
    n_subjects = len(rows)
    total = n_subjects * raters
    p_j = [sum(r[j] for r in rows) / total for j in range(len(rows[0]))]
    p_i = [(sum(c * c for c in r) - raters) / (raters * (raters - 1)) for r in rows]
    p_bar = sum(p_i) / n_subjects
    p_e = sum(p * p for p in p_j)
    if p_e == 1:
        return None
    return (p_bar - p_e) / (1 - p_e)


def fleiss_table(units: Sequence[Sequence[Hashable]]) -> list[list[int]]:
    """The subjects x categories table of counts from each subject's list of labels."""
    categories = sorted({v for unit in units for v in unit}, key=repr)
    index = {c: i for i, c in enumerate(categories)}
    table = []
    for unit in units:
        row = [0] * len(categories)
        for v in unit:
            row[index[v]] += 1
        table.append(row)
    return table


def krippendorff_alpha(data: Sequence[Sequence[Any]], level: str = "nominal") -> float | None:
    """Krippendorff's alpha of raters x units (data[r][u], None where rater r did not rate
    unit u); level "nominal" (labels) or "interval" (numbers). Units with fewer than two
    values are not pairable and do not count. None when undefined (no pairable values, or
    every value the same)."""
    if level not in ("nominal", "interval"):
        raise ValueError(f"Unknown level of measurement {level!r}: nominal or interval.")
    n_units = max((len(r) for r in data), default=0)
    units = []
    for u in range(n_units):
        values = [r[u] for r in data if u < len(r) and r[u] is not None and not _is_nan(r[u])]
        if len(values) >= 2:
            units.append(values)
    return alpha_of_units(units, level)


def alpha_of_units(units: Sequence[Sequence[Any]], level: str = "nominal") -> float | None:
    """Krippendorff's alpha from each unit's list of values (the form a project has)."""
    coincidence: Counter = Counter()
    for values in units:
        add_coincidences(coincidence, values)
    return alpha_from_coincidences(coincidence, level)


def add_coincidences(coincidence: Counter, values: Sequence[Any]) -> None:
    """Add one unit's pairable values to a coincidence matrix o_ck (a Counter of (c, k)), so
    a project's alpha is summed task by task without keeping the tasks."""
    m = len(values)
    if m < 2:
        return
    counts = Counter(values)
    for c, nc in counts.items():
        for k, nk in counts.items():
            pairs = nc * (nc - 1) if c == k else nc * nk
            if pairs:
                coincidence[(c, k)] += pairs / (m - 1)


def alpha_from_coincidences(coincidence: Counter, level: str = "nominal") -> float | None:
    """alpha = 1 - (n - 1) * sum o_ck d_ck / sum n_c n_k d_ck (Krippendorff 2011)."""
    if level not in ("nominal", "interval"):
        raise ValueError(f"Unknown level of measurement {level!r}: nominal or interval.")

    def delta(c, k):
        return (0.0 if c == k else 1.0) if level == "nominal" else (float(c) - float(k)) ** 2

    marginals: Counter = Counter()
    for (c, _k), o in coincidence.items():
        marginals[c] += o
    n = sum(marginals.values())
    if n <= 1:
        return None
    observed = sum(o * delta(c, k) for (c, k), o in coincidence.items())
    expected = sum(nc * nk * delta(c, k) for c, nc in marginals.items() for k, nk in marginals.items())
    if expected == 0:
        return None
    return 1.0 - (n - 1) * observed / expected


def cohen_from_pairs(pairs: Counter) -> float | None:
    """Cohen's kappa from a Counter of (rater 1's label, rater 2's label) -> items."""
    n = sum(pairs.values())
    if n == 0:
        return None
    observed = sum(count for (x, y), count in pairs.items() if x == y) / n
    first: Counter = Counter()
    second: Counter = Counter()
    for (x, y), count in pairs.items():
        first[x] += count
        second[y] += count
    expected = sum(first[c] * second[c] for c in first) / (n * n)
    if expected == 1:
        return None
    return (observed - expected) / (1 - expected)


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def jaccard(a: set, b: set) -> float | None:
    if not a and not b:
        return None
    return len(a & b) / len(a | b)


# ---------------------------------------------------------------- matching


@dataclass(frozen=True)
class Match:
    """How two sets of things matched one-to-one: `a` is the reference (recall), `b` the
    prediction (precision)."""

    matched: int
    n_a: int
    n_b: int

    @property
    def precision(self) -> float | None:
        return self.matched / self.n_b if self.n_b else None

    @property
    def recall(self) -> float | None:
        return self.matched / self.n_a if self.n_a else None

    @property
    def f1(self) -> float | None:
        """2·matched / (|a| + |b|); 1 when both are empty is not claimed: None."""
        total = self.n_a + self.n_b
        return 2 * self.matched / total if total else None

    def __add__(self, other: Match) -> Match:
        return Match(self.matched + other.matched, self.n_a + other.n_a, self.n_b + other.n_b)


NO_MATCH = Match(0, 0, 0)


def greedy_match(a: Sequence, b: Sequence, similarity, threshold: float) -> tuple[int, list[float]]:
    """One-to-one matching of a with b, best pairs first (as COCO evaluation does); a pair
    counts when its similarity is at least the threshold. Returns (matches, their scores)."""
    pairs = []
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            s = similarity(x, y)
            if s >= threshold and s > 0:
                pairs.append((s, i, j))
    pairs.sort(key=lambda p: (-p[0], p[1], p[2]))
    used_a, used_b, scores = set(), set(), []
    for s, i, j in pairs:
        if i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        scores.append(s)
    return len(scores), scores


def span_overlap(x: tuple, y: tuple) -> float:
    """Characters two spans (start, end[, label]) share over their union; 0 for other labels."""
    if x[2:] != y[2:]:
        return 0.0
    if tuple(x) == tuple(y):
        return 1.0  # also an instant (start == end) marked at the same time
    shared = min(x[1], y[1]) - max(x[0], y[0])
    if shared <= 0:
        return 0.0
    return shared / (max(x[1], y[1]) - min(x[0], y[0]))


def span_prf(a: Sequence[tuple], b: Sequence[tuple], mode: str = "exact") -> Match:
    """Spans (start, end, label) of a reference `a` and a prediction `b`: "exact" counts a
    span found when start, end and label are the same; "overlap" when the label is the same
    and they share at least one character (one-to-one, most overlap first)."""
    if mode == "exact":
        left, right = Counter(map(tuple, a)), Counter(map(tuple, b))
        return Match(sum((left & right).values()), len(a), len(b))
    if mode != "overlap":
        raise ValueError(f"Unknown span matching {mode!r}: exact or overlap.")
    matched, _ = greedy_match(a, b, span_overlap, threshold=1e-12)
    return Match(matched, len(a), len(b))


# ---------------------------------------------------------------- shapes


def rectangle(x: float, y: float, width: float, height: float, rotation: float = 0.0) -> Polygon:
    """A box in pixels as Label Studio draws it: top-left corner (x, y), turned `rotation`
    degrees clockwise on screen about that corner (labelkit.results.geometry)."""
    return Polygon(box_corners(Box(x, y, width, height, rotation)))


def ellipse(x: float, y: float, rx: float, ry: float, rotation: float = 0.0) -> Polygon:
    """An ellipse in pixels (center, radii), turned `rotation` degrees clockwise on screen about
    its center, as a polygon of ELLIPSE_SIDES sides."""
    return Polygon(ellipse_outline(Ellipse(x, y, rx, ry, rotation), ELLIPSE_SIDES))


def polygon(points: Sequence[Sequence[float]]) -> BaseGeometry:
    shape = Polygon(points) if len(points) >= 3 else Polygon()
    return shape if shape.is_valid else make_valid(shape)  # a self-crossing outline: all it encloses


def iou(x: BaseGeometry, y: BaseGeometry) -> float:
    if x.is_empty or y.is_empty:
        return 0.0
    union = x.union(y).area
    return x.intersection(y).area / union if union else 0.0


def region_prf(a: Sequence[tuple[Hashable, BaseGeometry]], b: Sequence[tuple[Hashable, BaseGeometry]],
               threshold: float = IOU_THRESHOLD) -> tuple[Match, list[float]]:
    """Labeled shapes (label, geometry) of a reference and a prediction, matched one-to-one
    at IoU >= threshold with the same label. Returns the Match and the IoUs of the matches."""

    def similarity(p, q):
        return iou(p[1], q[1]) if p[0] == q[0] else 0.0

    matched, scores = greedy_match(a, b, similarity, threshold)
    return Match(matched, len(a), len(b)), scores


# ---------------------------------------------------------------- text and numbers


def edit_similarity(a: str, b: str) -> float:
    """1 - Levenshtein distance / length of the longer text (1: the same, 0: nothing shared)."""
    return 1.0 - Levenshtein.normalized_distance(a or "", b or "")


def numeric_similarity(a: float, b: float, low: float | None, high: float | None) -> float:
    """1 - |a - b| / range, clipped to [0, 1]; without a range, 1 when equal else 0."""
    if low is None or high is None or high <= low:
        return 1.0 if float(a) == float(b) else 0.0
    return max(0.0, 1.0 - abs(float(a) - float(b)) / (high - low))
