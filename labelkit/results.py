"""Label Studio's result JSON: the one place that knows its shapes. Used by the labeling
UI, review, import and export alike. See https://labelstud.io/guide/export#Label-Studio-JSON-format-of-annotated-tasks"""

from __future__ import annotations

import json
import secrets
import string
from typing import Any

from labelkit.config import ControlTag, LabelConfig

_ID_ALPHABET = string.ascii_letters + string.digits
RESULT_TYPES = {"Choices": "choices", "TextArea": "textarea", "Rating": "rating"}
VALUE_KEYS = {"choices": "choices", "textarea": "text", "rating": "rating"}


def region_id() -> str:
    """Label Studio's 10-character region ids."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(10))


def build_item(control: ControlTag, value: Any, item_id: str | None = None) -> dict | None:
    """One result item for a classification control, or None when there is no value."""
    kind = RESULT_TYPES[control.tag]
    if kind == "choices":
        values = [v for v in (value or []) if v]
        if not values:
            return None
        payload: dict[str, Any] = {"choices": values}
    elif kind == "textarea":
        texts = [t for t in ([value] if isinstance(value, str) else value or []) if t and t.strip()]
        if not texts:
            return None
        payload = {"text": texts}
    else:
        if not value:
            return None
        payload = {"rating": int(value)}
    return {
        "id": item_id or region_id(),
        "from_name": control.name,
        "to_name": control.to_name[0],
        "type": kind,
        "value": payload,
        "origin": "manual",
    }


def build_result(config: LabelConfig, values: dict[str, Any], previous: list | None = None) -> list[dict]:
    """A whole result from the UI's values per control name; keeps the ids of items that
    existed before, so an update reads as the same regions changed."""
    old_ids = {item.get("from_name"): item.get("id") for item in previous or [] if isinstance(item, dict)}
    items = []
    for name, control in config.controls.items():
        if control.tag not in RESULT_TYPES or name not in values:
            continue
        item = build_item(control, values[name], old_ids.get(name))
        if item:
            items.append(item)
    return items


def values_of(result: list | None) -> dict[str, Any]:
    """The UI's values per control name, read back from a result."""
    values: dict[str, Any] = {}
    for item in result or []:
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        key = VALUE_KEYS.get(kind)
        if key is None:
            continue
        value = (item.get("value") or {}).get(key)
        if kind == "textarea" and isinstance(value, list):
            value = "\n".join(str(v) for v in value)
        values[item.get("from_name", "")] = value
    return values


def missing_required(config: LabelConfig, result: list) -> list[str]:
    """Names of required controls that have no value in the result."""
    present = {item.get("from_name") for item in result}
    return [name for name, c in config.controls.items() if c.required and name not in present]


def flat_value(item: dict) -> str:
    """A result item as one table cell (CSV/TSV exports), as Label Studio writes it."""
    kind = item.get("type")
    value = item.get("value") or {}
    if kind == "choices":
        choices = value.get("choices") or []
        return choices[0] if len(choices) == 1 else json.dumps({"choices": choices}, ensure_ascii=False)
    if kind == "textarea":
        texts = value.get("text") or []
        return texts[0] if len(texts) == 1 else json.dumps({"text": texts}, ensure_ascii=False)
    if kind == "rating":
        return str(value.get("rating", ""))
    return json.dumps(value, ensure_ascii=False)


def summary(result: list | None) -> str:
    """A short human-readable line for tables: 'sentiment: Positive · comment: nice'."""
    parts = [f"{item.get('from_name')}: {flat_value(item)}" for item in result or [] if isinstance(item, dict)]
    return " · ".join(parts)
