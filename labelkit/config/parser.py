"""Parse a Label Studio label config (XML, safely: no entities, no DTDs) into a typed
description, with errors that name the line, the tag and what is wrong."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from labelkit.config.tags import KINDS, SUPPORTED, Kind
from labelkit.errors import InvalidInput

_CANONICAL = {name.lower(): name for name in KINDS}
_VARIABLE = re.compile(r"^\$([A-Za-z_][\w.-]*)$")
MAX_CONFIG_BYTES = 1_000_000


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    line: int
    children: list[Node] = field(default_factory=list)
    text: str = ""

    def where(self) -> str:
        name = self.attrs.get("name")
        return f'line {self.line}: <{self.tag}{f" name={name!r}" if name else ""}>'


@dataclass
class Option:
    value: str
    alias: str | None = None
    hotkey: str | None = None
    selected: bool = False
    hint: str | None = None
    background: str | None = None

    @property
    def stored(self) -> str:
        """What goes into the result: the alias when there is one (as Label Studio does)."""
        return self.alias or self.value


@dataclass
class ObjectTag:
    name: str
    tag: str
    value: str
    node: Node

    @property
    def key(self) -> str | None:
        """The task data key this object shows ($text -> "text"), or None for a literal value."""
        m = _VARIABLE.match(self.value)
        return m.group(1) if m else None


@dataclass
class ControlTag:
    name: str
    tag: str
    to_name: list[str]
    node: Node
    options: list[Option] = field(default_factory=list)

    @property
    def attrs(self) -> dict[str, str]:
        return self.node.attrs

    @property
    def required(self) -> bool:
        return truthy(self.attrs.get("required"))

    @property
    def multiple(self) -> bool:
        return self.attrs.get("choice", "single").startswith("multiple")


@dataclass
class LabelConfig:
    root: Node
    objects: dict[str, ObjectTag]
    controls: dict[str, ControlTag]
    unsupported: list[str]

    @property
    def data_keys(self) -> list[str]:
        """Task data keys the interface needs, in order of appearance."""
        keys: list[str] = []
        for obj in self.objects.values():
            if obj.key and obj.key not in keys:
                keys.append(obj.key)
        for node in walk(self.root):
            if node.tag == "Header":
                m = _VARIABLE.match(node.attrs.get("value", ""))
                if m and m.group(1) not in keys:
                    keys.append(m.group(1))
        return keys

    def objects_of(self, *tags: str) -> list[ObjectTag]:
        return [o for o in self.objects.values() if o.tag in tags]


def truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"true", "1", "yes"}


def walk(node: Node):  # noqa: ANN201
    yield node
    for child in node.children:
        yield from walk(child)


class _Builder:
    """An expat target that builds Nodes and records where each tag starts."""

    def __init__(self) -> None:
        self.parser: DefusedXMLParser | None = None
        self.stack: list[Node] = []
        self.root: Node | None = None

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        line = self.parser.parser.CurrentLineNumber if self.parser else 0
        node = Node(tag=tag, attrs=dict(attrs), line=line)
        if self.stack:
            self.stack[-1].children.append(node)
        else:
            self.root = node
        self.stack.append(node)

    def end(self, tag: str) -> None:
        self.stack.pop()

    def data(self, data: str) -> None:
        if self.stack:
            self.stack[-1].text += data

    def close(self) -> Node | None:
        return self.root


def _parse_xml(xml: str) -> Node:
    if len(xml.encode()) > MAX_CONFIG_BYTES:
        raise InvalidInput("The label config is larger than 1 MB.")
    if not xml.strip():
        raise InvalidInput("The label config is empty.")
    builder = _Builder()
    parser = DefusedXMLParser(target=builder, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    builder.parser = parser
    try:
        parser.feed(xml)
        root = parser.close()
    except DefusedXmlException as e:
        raise InvalidInput(f"The label config uses a DTD or entities, which are not allowed ({type(e).__name__}).") from None
    except ParseError as e:
        line, column = e.position
        raise InvalidInput(
            f"The label config is not well-formed XML: line {line}, column {column + 1}: {_xml_reason(e)}"
        ) from None
    if root is None:
        raise InvalidInput("The label config is empty.")
    return root


def _xml_reason(e: ParseError) -> str:
    return str(e).split(":")[0]


@lru_cache(maxsize=256)
def parse_config(xml: str) -> LabelConfig:
    """The config's objects, controls and layout; InvalidInput listing every problem.
    Cached: a project's config is parsed once per process, not on every task (treat the
    result as read-only)."""
    root = _parse_xml(xml)
    issues: list[str] = []
    objects: dict[str, ObjectTag] = {}
    controls: dict[str, ControlTag] = {}
    unsupported: list[str] = []
    names: dict[str, Node] = {}
    other_objects: set[str] = set()  # objects of tags without an interface yet

    canonical = _CANONICAL.get(root.tag.lower())
    if canonical != "View":
        issues.append(f"line {root.line}: the config must start with <View>, not <{root.tag}>")

    for node in walk(root):
        tag = _CANONICAL.get(node.tag.lower())
        if tag is None:
            issues.append(f"line {node.line}: unknown tag <{node.tag}>")
            continue
        node.tag = tag
        if tag not in SUPPORTED:
            if tag not in unsupported and KINDS[tag] != Kind.OPTION:
                unsupported.append(tag)
            if KINDS[tag] == Kind.OBJECT and node.attrs.get("name"):
                other_objects.add(node.attrs["name"])
            continue
        unknown_attrs = sorted(set(node.attrs) - SUPPORTED[tag])
        if unknown_attrs:
            issues.append(f"{node.where()}: unknown attribute {', '.join(unknown_attrs)}")
        kind = KINDS[tag]
        name = node.attrs.get("name", "").strip()
        if kind in (Kind.OBJECT, Kind.CONTROL):
            if not name:
                issues.append(f"line {node.line}: <{tag}> needs a name attribute")
                continue
            if name in names:
                issues.append(f"{node.where()}: the name {name!r} is already used on line {names[name].line}")
                continue
            names[name] = node
        if kind == Kind.OBJECT:
            value = node.attrs.get("value", "")
            if not value:
                issues.append(f"{node.where()}: needs a value attribute, e.g. value=\"$text\"")
                continue
            objects[name] = ObjectTag(name=name, tag=tag, value=value, node=node)
        elif kind == Kind.CONTROL:
            controls[name] = _control(node, tag, name, issues)

    for control in controls.values():
        if not control.to_name:
            issues.append(f"{control.node.where()}: needs a toName attribute naming the object it labels")
        for target in control.to_name:
            if target not in objects and target not in other_objects:
                known = ", ".join([*objects, *sorted(other_objects)]) or "none"
                issues.append(f"{control.node.where()}: toName {target!r} points nowhere (objects: {known})")

    if not issues and not unsupported and not controls:
        issues.append("the config has no control tag (such as <Choices> or <TextArea>), so there is nothing to label")
    if issues:
        raise InvalidInput("The label config has problems", issues)
    return LabelConfig(root=root, objects=objects, controls=controls, unsupported=unsupported)


def _control(node: Node, tag: str, name: str, issues: list[str]) -> ControlTag:
    to_name = [t.strip() for t in node.attrs.get("toName", "").split(",") if t.strip()]
    control = ControlTag(name=name, tag=tag, to_name=to_name, node=node)
    if tag == "Choices":
        for child in node.children:
            if _CANONICAL.get(child.tag.lower()) != "Choice":
                issues.append(f"line {child.line}: <{child.tag}> cannot be inside <Choices>; use <Choice>")
                continue
            value = child.attrs.get("value", "").strip()
            if not value:
                issues.append(f"line {child.line}: <Choice> needs a value attribute")
                continue
            control.options.append(
                Option(
                    value=value,
                    alias=child.attrs.get("alias") or None,
                    hotkey=child.attrs.get("hotkey") or None,
                    selected=truthy(child.attrs.get("selected")),
                    hint=child.attrs.get("hint") or None,
                    background=child.attrs.get("background") or None,
                )
            )
        if not control.options:
            issues.append(f"{node.where()}: has no <Choice> to pick from")
        values = [o.stored for o in control.options]
        dupes = sorted({v for v in values if values.count(v) > 1})
        if dupes:
            issues.append(f"{node.where()}: the choice {dupes[0]!r} appears twice")
        if node.attrs.get("choice", "single") not in {"single", "single-radio", "multiple"}:
            issues.append(f"{node.where()}: choice must be single, single-radio or multiple")
    if tag == "Rating":
        raw = node.attrs.get("maxRating", "5")
        if not raw.isdigit() or not 1 <= int(raw) <= 100:
            issues.append(f"{node.where()}: maxRating must be a whole number from 1 to 100, not {raw!r}")
    if tag == "TextArea":
        raw = node.attrs.get("rows", "3")
        if not raw.isdigit():
            issues.append(f"{node.where()}: rows must be a whole number, not {raw!r}")
    return control


def check_config(xml: str) -> LabelConfig:
    """A config a project can be saved with: valid, and every tag has an interface here."""
    config = parse_config(xml)
    if config.unsupported:
        raise InvalidInput(
            "The label config cannot be labeled here yet",
            [f"not supported yet: <{tag}>" for tag in config.unsupported],
        )
    return config
