"""A label config told in plain data: its objects with the task data they show, its
controls with what they label and offer, its layout tags, and what cannot be labeled
here yet. `labelkit config check` prints it; it is JSON-ready."""

from __future__ import annotations

from typing import Any

from labelkit.config.parser import ControlTag, LabelConfig, Option, parse_config, walk
from labelkit.config.tags import TAGS, Kind
from labelkit.errors import InvalidInput


def check_report(xml: str) -> dict[str, Any]:
    """Whether the config is valid and can be labeled here, with its description or its
    problems (each naming a line and a tag)."""
    try:
        config = parse_config(xml)
    except InvalidInput as e:
        return {"valid": False, "supported": False, "problems": e.issues or [str(e)], "unsupported": []}
    return {
        "valid": True,
        "supported": not config.unsupported,
        "problems": [],
        "unsupported": [f"not supported yet: {what}" for what in config.unsupported],
        **describe(config),
    }


def describe(config: LabelConfig) -> dict[str, Any]:
    return {
        "objects": [
            {"name": o.name, "tag": o.tag, "data_key": o.key, "value": o.value, "many": o.many, "line": o.node.line}
            for o in config.objects.values()
        ],
        "controls": [_control(c) for c in config.controls.values()],
        "relations": _control(config.relations) if config.relations else None,
        "layout": list(dict.fromkeys(n.tag for n in walk(config.root) if _kind(n.tag) == Kind.LAYOUT)),
    }


def _kind(tag: str) -> Kind | None:
    spec = TAGS.get(tag)
    return spec.kind if spec else None


def _control(control: ControlTag) -> dict[str, Any]:
    return {
        "name": control.name,
        "tag": control.tag,
        "type": "relation" if control.tag == "Relations" else control.tag.lower(),  # Label Studio's result type
        "to_name": control.to_name,
        "per_region": control.per_region,
        "required": control.required,
        "options": [_option(o) for o in control.options],
        "line": control.node.line,
    }


def _option(option: Option) -> dict[str, Any]:
    described: dict[str, Any] = {"value": option.value}
    if option.alias:
        described["alias"] = option.alias
    if option.hotkey:
        described["hotkey"] = option.hotkey
    if option.children:
        described["children"] = [_option(o) for o in option.children]
    return described
