"""Parse a Label Studio label config (XML, safely: no entities, no DTDs) into a typed
description, with errors that name the line, the tag and what is wrong."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from labelkit.config import validate
from labelkit.config.tags import (
    CANONICAL,
    LABEL_REGION_CONTROLS,
    REGION_CONTROLS,
    REGION_TOOLS,
    TAGS,
    Kind,
    not_supported,
)
from labelkit.errors import InvalidInput

_VARIABLE = re.compile(r"^\$([A-Za-z_][\w.-]*)$")
MAX_CONFIG_BYTES = 1_000_000
# Tags within tags: Label Studio's configs nest a few levels, rarely past 20. The walkers of a
# config (validation, layout, drawing) recurse, so a deeper one is refused while it is parsed.
MAX_DEPTH = 100
DEPTH_REFUSED = f"The label config nests tags more than {MAX_DEPTH} levels deep"


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    line: int
    children: list[Node] = field(default_factory=list)
    text: str = ""
    parent: Node | None = field(default=None, repr=False, compare=False)

    def where(self) -> str:
        """`line 3: <Choices name='mood'>`, for messages (a Label says its value instead)."""
        label = next((f" {key}={self.attrs[key]!r}" for key in ("name", "value") if self.attrs.get(key)), "")
        return f"line {self.line}: <{self.tag}{label}>"


@dataclass
class Option:
    """One option of a control: a Choice, Label, Relation, Bucket (value = its name) or Shortcut."""

    value: str
    alias: str | None = None
    hotkey: str | None = None
    selected: bool = False
    hint: str | None = None
    background: str | None = None
    tag: str = "Choice"
    max_usages: int | None = None
    show_alias: bool = False
    html: str | None = None
    children: list[Option] = field(default_factory=list)  # nested Choices of a Taxonomy
    attrs: dict[str, str] = field(default_factory=dict)
    line: int = 0

    @property
    def stored(self) -> str:
        """What goes into the result: the alias when there is one (as Label Studio does)."""
        return self.alias or self.value

    @property
    def caption(self) -> str:
        """What a person reads on it: a Bucket's title, otherwise its value."""
        return self.attrs.get("title") or self.value


@dataclass
class ObjectTag:
    name: str
    tag: str
    value: str  # value="$text", or an Image's valueList="$images", or ReactCode's data
    node: Node

    @property
    def many(self) -> bool:
        """Several items per task (an Image with valueList)."""
        return not self.node.attrs.get("value") and bool(self.node.attrs.get("valueList"))

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

    @property
    def per_region(self) -> bool:
        """Answered once per region (perRegion="true") rather than once per task."""
        return truthy(self.attrs.get("perRegion"))

    @property
    def region_type(self) -> str | None:
        """The Label Studio result type of an image region control ("rectanglelabels"...)."""
        return REGION_CONTROLS.get(self.tag)

    def options_for(self, data: dict | None) -> list[Option]:
        """The options for one task: the config's own, then those its value="$key" takes
        from the task data (a list of {"value", "alias"?, "hotkey"?, "background"?, "hint"?}
        or of plain strings), as Label Studio's dynamic choices and labels do."""
        m = _VARIABLE.match(self.attrs.get("value", "").strip())
        if not m or not isinstance(data, dict):
            return self.options
        found = data.get(m.group(1))
        extra: list[Option] = []
        seen = {o.stored for o in self.options}
        for item in found if isinstance(found, list) else []:
            item = {"value": item} if isinstance(item, (str, int, float)) else item
            if not isinstance(item, dict) or str(item.get("value", "")).strip() == "":
                continue
            option = Option(
                value=str(item["value"]), alias=_text(item.get("alias")), hotkey=_text(item.get("hotkey")),
                hint=_text(item.get("hint")), background=_text(item.get("background")),
                tag="Label" if self.tag != "Choices" else "Choice",
            )
            if option.stored not in seen:
                seen.add(option.stored)
                extra.append(option)
        return [*self.options, *extra]


def _text(value: object) -> str | None:
    return str(value) if isinstance(value, (str, int, float)) and str(value) else None


@dataclass
class LabelConfig:
    root: Node
    objects: dict[str, ObjectTag]
    controls: dict[str, ControlTag]
    unsupported: list[str]  # what cannot be labeled here yet: "<Audio>", "<Labels> on <Text>"
    relations: ControlTag | None = None  # the <Relations> control, kept apart: it has no name or object

    @property
    def data_keys(self) -> list[str]:
        """Task data keys the interface needs, in order of appearance."""
        keys = [o.key for o in self.objects.values() if o.key]
        for node in walk(self.root):
            spec = TAGS.get(node.tag)
            if node.tag in ("Header", "Markdown") or (spec and spec.kind == Kind.CONTROL and spec.options):
                m = _VARIABLE.match(node.attrs.get("value", ""))
                if m:
                    keys.append(m.group(1))
            elif node.tag == "Repeater":
                m = _VARIABLE.match(node.attrs.get("on", "").strip())
                if m:
                    keys.append(m.group(1))
        return list(dict.fromkeys(keys))

    def objects_of(self, *tags: str) -> list[ObjectTag]:
        return [o for o in self.objects.values() if o.tag in tags]

    def region_controls(self, image_name: str) -> list[ControlTag]:
        """The region controls (RectangleLabels, Polygon, Brush...) on this image, in config order."""
        return [c for c in self.controls.values() if c.tag in REGION_CONTROLS and image_name in c.to_name]

    def label_controls_for(self, image_name: str) -> list[ControlTag]:
        """The region controls on this image whose <Label> options give a region its class."""
        return [c for c in self.region_controls(image_name) if c.tag in LABEL_REGION_CONTROLS]

    def per_region_controls(self, image_name: str) -> list[ControlTag]:
        """Controls answered once per region of this image (perRegion="true")."""
        return [c for c in self.controls.values() if c.per_region and image_name in c.to_name]


def truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"true", "1", "yes"}


def walk(node: Node) -> Iterator[Node]:
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
        if len(self.stack) >= MAX_DEPTH:
            raise InvalidInput(f"{DEPTH_REFUSED} (line {line}, <{tag}>); flatten its <View>s.")
        node = Node(tag=tag, attrs=dict(attrs), line=line, parent=self.stack[-1] if self.stack else None)
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
    try:
        size = len(xml.encode())
    except UnicodeEncodeError:  # a lone surrogate (\ud800), which no XML document can hold
        raise InvalidInput("The label config holds a character that is not valid text.") from None
    if size > MAX_CONFIG_BYTES:
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
    if CANONICAL.get(root.tag.lower()) != "View":
        issues.append(f"line {root.line}: the config must start with <View>, not <{root.tag}>")

    nodes = validate.known_tags(root, issues)  # canonical spellings; unknown tags reported
    _default_targets(nodes)
    for node in nodes:
        validate.check_node(node, issues)
    names = _names(nodes, issues)
    objects = {name: _object(node) for name, node in names.items() if TAGS[node.tag].kind == Kind.OBJECT}
    controls = {
        name: _control(node, issues)
        for name, node in names.items()
        if TAGS[node.tag].kind == Kind.CONTROL and node.tag != "Relations"
    }
    relations = _relations(nodes, issues)
    validate.check_references(nodes, names, objects, issues)

    unsupported = _unsupported(nodes, objects, controls)
    labelable = controls or relations or any(o.node.attrs.get("toName") for o in objects.values())
    if not issues and not labelable:
        issues.append("the config has no control tag (such as <Choices> or <TextArea>), so there is nothing to label")
    if issues:
        raise InvalidInput("The label config has problems", sorted(issues, key=_line_of))
    return LabelConfig(root=root, objects=objects, controls=controls, unsupported=unsupported, relations=relations)


def _default_targets(nodes: list[Node]) -> None:
    """A control without toName labels the config's only object (a template of Label
    Studio's own library leaves it out on a Rating); with several objects it stays an error."""
    objects = [n for n in nodes if TAGS[n.tag].kind == Kind.OBJECT and n.attrs.get("name", "").strip()]
    if len(objects) != 1:
        return
    for node in nodes:
        spec = TAGS[node.tag]
        if spec.kind == Kind.CONTROL and "toName" in spec.needs and not node.attrs.get("toName", "").strip():
            node.attrs["toName"] = objects[0].attrs["name"].strip()


def _line_of(issue: str) -> int:
    m = re.match(r"line (\d+):", issue)
    return int(m.group(1)) if m else 1 << 30


def _names(nodes: list[Node], issues: list[str]) -> dict[str, Node]:
    """Every named tag by its name (Label Studio wants names unique across the config)."""
    names: dict[str, Node] = {}
    for node in nodes:
        name = node.attrs.get("name", "").strip()
        if not name:
            continue
        if name in names:
            issues.append(f"{node.where()}: the name {name!r} is already used on line {names[name].line}")
            continue
        if TAGS[node.tag].kind == Kind.OBJECT and not validate.has_needs(node):
            continue  # reported by check_node; an object without its data is no target
        names[name] = node
    return names


def _object(node: Node) -> ObjectTag:
    value = node.attrs.get("value") or node.attrs.get("valueList") or node.attrs.get("data") or ""
    return ObjectTag(name=node.attrs["name"].strip(), tag=node.tag, value=value.strip(), node=node)


def _control(node: Node, issues: list[str]) -> ControlTag:
    to_name = [t.strip() for t in node.attrs.get("toName", "").split(",") if t.strip()]
    control = ControlTag(name=node.attrs.get("name", "").strip(), tag=node.tag, to_name=to_name, node=node)
    control.options = _options(node, TAGS[node.tag].options, issues)
    spec = TAGS[node.tag]
    dynamic = bool(node.attrs.get("value")) or bool(node.attrs.get("apiUrl"))
    if spec.options in (("Choice",), ("Label",)) and not control.options and not dynamic:
        issues.append(f"{node.where()}: has no <{spec.options[0]}> to pick from")
    return control


def _relations(nodes: list[Node], issues: list[str]) -> ControlTag | None:
    found = [n for n in nodes if n.tag == "Relations"]
    for extra in found[1:]:
        issues.append(f"{extra.where()}: a config takes one <Relations>; the first is on line {found[0].line}")
    if not found:
        return None
    node = found[0]
    return ControlTag(
        name=node.attrs.get("name", "").strip(), tag="Relations", to_name=[], node=node,
        options=_options(node, ("Relation",), issues),
    )


def _options(node: Node, tags: tuple[str, ...], issues: list[str]) -> list[Option]:
    """The option children of a control, looking through <View> wrappers; each list of
    siblings must not offer the same value twice (an option repeated word for word, as in a
    template of Label Studio's library, is kept once)."""
    options: list[Option] = []
    seen: list[dict] = []
    for child in node.children:
        if child.tag in tags and child.attrs.get(TAGS[child.tag].needs[0], "").strip():
            if child.attrs in seen and not child.children:
                continue
            seen.append(child.attrs)
            options.append(_option(child, issues))
        elif child.tag == "View":
            options.extend(_options(child, tags, issues))
    stored = [o.stored for o in options]
    for value in dict.fromkeys(v for v in stored if stored.count(v) > 1):
        issues.append(f"{node.where()}: the {options[0].tag.lower()} {value!r} appears twice")
    return options


def _option(node: Node, issues: list[str]) -> Option:
    attrs = node.attrs
    value = attrs.get("name" if node.tag == "Bucket" else "value", "").strip()
    max_usages = attrs.get("maxUsages") or attrs.get("maxUsage")
    return Option(
        value=value,
        alias=attrs.get("alias") or None,
        hotkey=attrs.get("hotkey") or None,
        selected=truthy(attrs.get("selected")),
        hint=attrs.get("hint") or None,
        background=attrs.get("background") or None,
        tag=node.tag,
        max_usages=int(float(max_usages)) if max_usages and validate.is_number(max_usages) else None,
        show_alias=truthy(attrs.get("showAlias")),
        html=attrs.get("html") or None,
        children=_options(node, ("Choice",), issues) if node.tag == "Choice" else [],
        attrs=dict(attrs),
        line=node.line,
    )


def _unsupported(nodes: list[Node], objects: dict[str, ObjectTag], controls: dict[str, ControlTag]) -> list[str]:
    """What cannot be labeled here yet, in config order (option tags go with their control)."""

    def targets(control: ControlTag) -> list[str]:
        return [objects[t].tag for t in control.to_name if t in objects]

    def marks_regions(c: ControlTag) -> bool:  # boxes on images, spans of a text, segments of audio...
        on = set(targets(c))
        return c.tag in REGION_CONTROLS and len(on) == 1 and c.tag in REGION_TOOLS.get(next(iter(on)), ())

    image_regions = any(marks_regions(c) for c in controls.values())
    found: list[str] = []
    for node in nodes:
        spec = TAGS[node.tag]
        if spec.kind == Kind.OPTION:
            continue
        control = controls.get(node.attrs.get("name", "").strip())
        control = control if control and control.node is node else None
        why = not_supported(
            node.tag,
            targets(control) if control else (),
            image_regions=image_regions,
            dynamic=bool(control and spec.options in (("Choice",), ("Label",))
                         and (node.attrs.get("value") or node.attrs.get("apiUrl"))),
        )
        if why and why not in found:
            found.append(why)
    return found


def check_config(xml: str) -> LabelConfig:
    """A config a project can be saved with: valid, and every tag has an interface here."""
    config = parse_config(xml)
    if config.unsupported:
        raise InvalidInput(
            "The label config cannot be labeled here yet",
            [f"not supported yet: {what}" for what in config.unsupported],
        )
    return config
