"""One annotation per task, for formats and trainings that want one answer: the reviewed
one first (accepted or fixed by a reviewer), else the answer most annotators gave, else
the latest."""

from __future__ import annotations

import json
from collections import Counter

from labelkit.exporters.base import ExportedAnnotation
from labelkit.models import ReviewStatus

_IGNORED = ("id", "origin", "score")  # what differs between two people giving the same answer


def answer_key(result_json: str) -> str:
    """A result with what makes two equal answers differ (region ids, origin) left out."""
    items = []
    for item in json.loads(result_json) or []:
        if isinstance(item, dict):
            items.append(json.dumps({k: v for k, v in item.items() if k not in _IGNORED}, sort_keys=True))
    return "\n".join(sorted(items))


def one(annotations: list[ExportedAnnotation]) -> ExportedAnnotation | None:
    if not annotations:
        return None
    reviewed = [a for a in annotations if a.review_status == ReviewStatus.ACCEPTED]
    if reviewed:
        return max(reviewed, key=_latest)
    if len(annotations) > 2:
        votes = Counter(answer_key(a.result_json) for a in annotations)
        (top, count), *rest = votes.most_common()
        if count > 1 and (not rest or rest[0][1] < count):
            return max((a for a in annotations if answer_key(a.result_json) == top), key=_latest)
    elif len(annotations) == 2 and answer_key(annotations[0].result_json) == answer_key(annotations[1].result_json):
        return max(annotations, key=_latest)
    return max(annotations, key=_latest)


def _latest(a: ExportedAnnotation) -> tuple[str, int]:
    return (a.updated_at or "", a.id)
