"""Checks on a parsed label config, tag by tag against the table in tags.py (known tags
and attributes, what each needs, where it may sit, the types of its values) and across
tags (what toName and whenTagName point at). Each problem is one message naming the
line and the tag."""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Iterator
from datetime import date, datetime, time
from typing import TYPE_CHECKING

from labelkit.config.tags import (
    BOOLEAN,
    CANONICAL,
    INTEGER,
    LABELS_FAMILY,
    NUMBER,
    TAGS,
    AttrType,
    Kind,
    TagSpec,
)

if TYPE_CHECKING:
    from labelkit.config.parser import Node, ObjectTag

DATETIME_PARTS = ("date", "time", "month", "year")


def _walk(node: Node) -> Iterator[Node]:
    yield node
    for child in node.children:
        yield from _walk(child)


def known_tags(root: Node, issues: list[str]) -> list[Node]:
    """The nodes of known tags in document order, their tags spelled as Label Studio's
    reference spells them (tags match case-insensitively); unknown tags are reported."""
    nodes = []
    for node in _walk(root):
        tag = CANONICAL.get(node.tag.lower())
        if tag is None:
            close = difflib.get_close_matches(node.tag, list(TAGS), n=1)
            hint = f" (did you mean <{close[0]}>?)" if close else ""
            issues.append(f"line {node.line}: unknown tag <{node.tag}>{hint}")
            continue
        node.tag = tag
        nodes.append(node)
    return nodes


def check_node(node: Node, issues: list[str]) -> None:
    spec = TAGS[node.tag]
    _attributes(node, spec, issues)
    _needs(node, spec, issues)
    _parent(node, spec, issues)
    for name, value in node.attrs.items():
        kind = spec.attributes.get(name)
        if kind is not None and (node.tag, name) not in _OWN_RULES:
            problem = type_problem(name, value, kind)
            if problem:
                issues.append(f"{node.where()}: {problem}")
    rule = _RULES.get(node.tag)
    if rule:
        issues.extend(f"{node.where()}: {problem}" for problem in rule(node))


def has_needs(node: Node) -> bool:
    return all(any(node.attrs.get(a, "").strip() for a in need.split("|")) for need in TAGS[node.tag].needs)


def _attributes(node: Node, spec: TagSpec, issues: list[str]) -> None:
    """Unknown attributes are reported; template spellings become the documented ones."""
    attrs: dict[str, str] = {}
    for name, value in node.attrs.items():
        if name in spec.attributes:
            attrs[name] = value
        elif name in spec.spellings:
            attrs.setdefault(spec.spellings[name], value)
        else:
            issues.append(f"{node.where()}: unknown attribute {name}{_attribute_hint(name, spec)}")
            attrs[name] = value
    node.attrs = attrs


def _attribute_hint(name: str, spec: TagSpec) -> str:
    same = [a for a in spec.attributes if a.lower() == name.lower()]
    if same:
        return f" (attributes are case-sensitive: {same[0]})"
    close = difflib.get_close_matches(name, list(spec.attributes), n=1)
    return f" (did you mean {close[0]}?)" if close else ""


def _needs(node: Node, spec: TagSpec, issues: list[str]) -> None:
    for need in spec.needs:
        alternatives = need.split("|")
        if any(node.attrs.get(a, "").strip() for a in alternatives):
            continue
        if need == "name":
            issues.append(f"line {node.line}: <{node.tag}> needs a name attribute")
        elif need == "toName":
            issues.append(f"{node.where()}: needs a toName attribute naming the object it labels")
        elif alternatives[0] == "value" and spec.kind == Kind.OBJECT:
            example = "$image" if node.tag == "Image" else f"${node.tag.lower()}"
            also = " (or valueList)" if len(alternatives) > 1 else ""
            issues.append(f'{node.where()}: needs a value attribute{also}, e.g. value="{example}"')
        else:
            issues.append(f"{node.where()}: needs a{'n' if need[0] in 'aeiou' else ''} {need} attribute")


def _parent(node: Node, spec: TagSpec, issues: list[str]) -> None:
    if not spec.parents:
        return
    container = node.parent
    while container is not None and container.tag == "View":
        container = container.parent
    if container is not None and container.tag in spec.parents:
        return
    at = f"not in <{container.tag if container is not None else 'View'}>"
    issues.append(f"{node.where()}: <{node.tag}> belongs inside {_one_of(spec.parents, node.tag)}, {at}")


def _one_of(parents: tuple[str, ...], tag: str) -> str:
    if parents == LABELS_FAMILY:
        return "a labels control (<Labels>, <RectangleLabels>, <PolygonLabels>...)"
    names = [f"<{p}>" for p in parents if p != tag]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def is_number(value: str) -> bool:
    try:
        return math.isfinite(float(value))
    except ValueError:
        return False


def _is_whole(value: str) -> bool:
    return value.strip().lstrip("-").isdigit()


def type_problem(name: str, value: str, kind: AttrType) -> str | None:
    """What is wrong with an attribute's value for the type the docs give it, or None."""
    if value.strip().startswith("$"):
        return None  # filled in from task data
    if kind == BOOLEAN and value.strip().lower() not in ("true", "false"):
        return f"{name} must be true or false, not {value!r}"
    if kind == NUMBER and not is_number(value):
        return f"{name} must be a number, not {value!r}"
    if kind == INTEGER and not _is_whole(value):
        return f"{name} must be a whole number, not {value!r}"
    if isinstance(kind, tuple) and value not in kind:
        return f"{name} must be {_or(kind)}, not {value!r}"
    return None


def _or(values: tuple[str, ...]) -> str:
    return values[0] if len(values) == 1 else f"{', '.join(values[:-1])} or {values[-1]}"


# Rules beyond the attribute types, per tag. Attributes listed in _OWN_RULES are checked
# only by their tag's rule.


def _rating(node: Node) -> list[str]:
    raw = node.attrs.get("maxRating", "5")
    if not raw.isdigit() or not 1 <= int(raw) <= 100:
        return [f"maxRating must be a whole number from 1 to 100, not {raw!r}"]
    default = node.attrs.get("defaultValue", "")
    if is_number(default) and float(default) > int(raw):
        return [f"defaultValue {default} is above maxRating {raw}"]
    return []


def _text_area(node: Node) -> list[str]:
    raw = node.attrs.get("rows", "1")
    return [] if raw.isdigit() and int(raw) >= 1 else [f"rows must be a whole number, not {raw!r}"]


def _number(node: Node) -> list[str]:
    values = {k: float(v) for k, v in node.attrs.items() if k in ("min", "max", "step", "defaultValue") and is_number(v)}
    problems = []
    if "min" in values and "max" in values and values["min"] > values["max"]:
        problems.append(f"min {node.attrs['min']} is above max {node.attrs['max']}")
    if values.get("step", 1) <= 0:
        problems.append(f"step must be above 0, not {node.attrs['step']!r}")
    default = values.get("defaultValue")
    if default is not None and not values.get("min", default) <= default <= values.get("max", default):
        problems.append(f"defaultValue {node.attrs['defaultValue']} is outside min..max")
    return problems


def _date_time(node: Node) -> list[str]:
    """`only` is a comma-separated list of date, time, month, year (date excludes month and
    year); min and max are ISO dates (or times), or years when only="year"."""
    raw = node.attrs.get("only", "date,time")
    parts = [p.strip() for p in raw.split(",")]
    wrong = [p for p in parts if p not in DATETIME_PARTS]
    if wrong or len(set(parts)) != len(parts):
        return [f"only must be a comma-separated list of {_or(DATETIME_PARTS)}, not {raw!r}"]
    if "date" in parts and {"month", "year"} & set(parts):
        return [f"only={raw!r}: date cannot be combined with month or year"]
    problems = []
    for bound in ("min", "max"):
        value = node.attrs.get(bound, "").strip()
        if value and not value.startswith("$") and not _fits(value, parts):
            example = "2024" if parts == ["year"] else "2024-01-31"
            problems.append(f"{bound} must be in ISO form like {example}, not {value!r}")
    return problems


def _fits(value: str, parts: list[str]) -> bool:
    readers: list[Callable[[str], object]] = [date.fromisoformat, datetime.fromisoformat, time.fromisoformat]
    if "date" not in parts and "time" not in parts:  # month and/or year
        readers = [int, lambda v: datetime.strptime(v, "%Y-%m")]
    for read in readers:
        try:
            read(value)
        except ValueError:
            continue
        return True
    return False


def _header(node: Node) -> list[str]:
    has_text = node.attrs.get("value", "").strip() or node.text.strip()
    return [] if has_text else ['needs a value attribute (its text, or "$key" for task data)']


_RULES: dict[str, Callable[[Node], list[str]]] = {
    "Rating": _rating, "TextArea": _text_area, "Number": _number, "DateTime": _date_time, "Header": _header,
}
_OWN_RULES = {("Rating", "maxRating"), ("TextArea", "rows"), ("DateTime", "only")}


def check_references(nodes: list[Node], names: dict[str, Node], objects: dict[str, ObjectTag], issues: list[str]) -> None:
    """toName names the objects a control labels (a Filter's, the control it filters);
    whenTagName names a tag of this config."""
    controls = {name for name, node in names.items() if TAGS[node.tag].kind == Kind.CONTROL}
    for node in nodes:
        spec = TAGS[node.tag]
        targets = [t.strip() for t in node.attrs.get("toName", "").split(",") if t.strip()]
        if node.tag == "Filter":
            issues.extend(f"{node.where()}: toName {t!r} names no control" for t in targets if t not in controls)
        elif spec.kind == Kind.CONTROL:
            for target in targets:
                if target not in objects:
                    known = ", ".join(objects) or "none"
                    issues.append(f"{node.where()}: toName {target!r} points nowhere (objects: {known})")
        when = node.attrs.get("whenTagName", "").strip()
        if when and node.attrs.get("visibleWhen", "").startswith("choice-") and when not in controls:
            issues.append(f"{node.where()}: whenTagName {when!r} names no control")
        elif when and when not in names:
            issues.append(f"{node.where()}: whenTagName {when!r} names no tag of this config")
