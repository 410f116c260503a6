"""Label Studio's result JSON: the one place that knows its shapes. Used by the labeling
UI, review, import and export alike. See https://labelstud.io/guide/export#Label-Studio-JSON-format-of-annotated-tasks"""

from __future__ import annotations

import json
from typing import Any

from labelkit.config import ControlTag, LabelConfig
from labelkit.config.tags import CLASSIFICATION_CONTROLS
from labelkit.results import regions
from labelkit.results.regions import region_id

# The result type each per-task control writes is its tag in lower case ("TextArea" ->
# "textarea"); the key its value sits under is labelkit.results.regions.ANSWER_KEYS.
RESULT_TYPES = {tag: tag.lower() for tag in CLASSIFICATION_CONTROLS}
VALUE_KEYS = regions.ANSWER_KEYS
# In a values dict (the UI's view of a result), the image regions and the relations
# between them sit under these keys beside the per-task controls.
REGIONS = "__regions__"
RELATIONS = "__relations__"


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
    elif kind == "rating":
        if not value:
            return None
        payload = {"rating": int(value)}
    elif kind == "taxonomy":  # paths from the root: [["Animal", "Dog"], ["Plant"]]
        paths = [[str(step) for step in path] for path in value or [] if path]
        if not paths:
            return None
        payload = {"taxonomy": paths}
    elif kind == "ranker":  # {bucket name: [item ids]}; with no buckets, {its own name: [ids in order]}
        groups = {str(k): [str(i) for i in v] for k, v in (value or {}).items() if isinstance(v, list)}
        if not any(groups.values()):
            return None
        payload = {"ranker": groups}
    elif kind == "pairwise":  # which of the two objects was picked: "left" or "right"
        if value not in ("left", "right"):
            return None
        payload = {"selected": value}
    elif kind == "number":
        if value is None or value == "":
            return None
        payload = {"number": value}
    else:
        if not value:
            return None
        payload = {"datetime": str(value)}
    return {
        "id": item_id or region_id(),
        "from_name": control.name,
        "to_name": control.name if kind == "pairwise" else control.to_name[0],  # as Label Studio writes a pairwise
        "type": kind,
        "value": payload,
        "origin": "manual",
    }


def build_result(config: LabelConfig, values: dict[str, Any], previous: list | None = None) -> list[dict]:
    """A whole result from the UI's values per control name (and its regions and
    relations); keeps the ids of items that existed before, so an update reads as the
    same answers changed."""
    old_ids = {
        item.get("from_name"): item.get("id")
        for item in previous or []
        if isinstance(item, dict) and not _is_region_item(item, config)
    }
    items = []
    for name, control in config.controls.items():
        if control.tag not in RESULT_TYPES or name not in values or control.per_region:
            continue
        if isinstance(values[name], dict) and control.tag != "Ranker":  # perItem: {page index: value}
            items += per_item(control, values[name])
            continue
        item = build_item(control, values[name], old_ids.get(name))
        if item:
            items.append(item)
    items += regions.items_of(config, values.get(REGIONS) or [])
    items += regions.relation_items(values.get(RELATIONS) or [], values.get(REGIONS) or [])
    return items


def per_item(control: ControlTag, by_item: dict) -> list[dict]:
    """A perItem="true" control's answers, one item per page with its "item_index"."""
    items = []
    for index, value in sorted(by_item.items(), key=lambda kv: int(kv[0])):
        item = build_item(control, value)
        if item:
            items.append({**item, "item_index": int(index)})
    return items


def values_of(result: list | None, config: LabelConfig | None = None) -> dict[str, Any]:
    """The UI's values per control name, read back from a result (the config tells which
    object a region is on, where its keys alone would not)."""
    values: dict[str, Any] = {}
    found_regions = regions.regions_of(result or [], config)
    if found_regions:
        values[REGIONS] = found_regions
    found_relations = regions.relations_of(result or [])
    if found_relations:
        values[RELATIONS] = found_relations
    for item in result or []:
        if not isinstance(item, dict) or _is_region_item(item, config):
            continue
        kind = item.get("type")
        key = VALUE_KEYS.get(kind)
        if key is None:
            continue
        value = (item.get("value") or {}).get(key)
        if kind == "textarea" and isinstance(value, list):
            value = "\n".join(str(v) for v in value)
        if item.get("item_index") is not None:  # a perItem answer: one per page
            values.setdefault(item.get("from_name", ""), {})[int(item["item_index"])] = value
            continue
        values[item.get("from_name", "")] = value
    return values


def missing_required(config: LabelConfig, result: list) -> list[str]:
    """Names of required controls that have no value in the result (per region for
    per-region controls, "name (region 2)")."""
    present = {item.get("from_name") for item in result if isinstance(item, dict)}
    missing = [name for name, c in config.controls.items() if c.required and not c.per_region and name not in present]
    return missing + regions.missing_per_region(config, regions.regions_of(result, config))


def _is_region_item(item: dict, config: LabelConfig | None = None) -> bool:
    return item.get("type") == "relation" or regions.geometry_of(item, config) is not None


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
    if kind in regions.LABEL_TYPES:
        return ", ".join(value.get(kind) or [])
    if kind in ("rating", "number", "datetime"):
        return str(value.get(kind, ""))
    return json.dumps(value, ensure_ascii=False)


def summary(result: list | None) -> str:
    """A short human-readable line for tables: 'sentiment: Positive · comment: nice'."""
    parts = [f"{item.get('from_name')}: {flat_value(item)}" for item in result or [] if isinstance(item, dict)]
    return " · ".join(parts)
