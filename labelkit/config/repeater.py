"""<Repeater>: a block of the config repeated once per item of a task data list, as in
Label Studio's multi-page document template:

    <Repeater on="$document" indexFlag="{{idx}}" mode="pagination">
      <Image name="page_{{idx}}" value="$document[{{idx}}].page"/>
      <RectangleLabels name="labels_{{idx}}" toName="page_{{idx}}">...</RectangleLabels>
    </Repeater>

A config with a Repeater is expanded for each task: the block becomes one <View> per
item with the index in every attribute ("page_0", "page_1"...), and references into the
list ("$document[0].page") become the values they point at. The expanded config parses
like any other, so results carry Label Studio's names (from_name "labels_0")."""

from __future__ import annotations

import copy
import re
from xml.etree.ElementTree import Element, tostring

from defusedxml.ElementTree import fromstring

from labelkit.config.parser import DEPTH_REFUSED, MAX_DEPTH
from labelkit.errors import InvalidInput

MAX_ITEMS = 500  # pages of one task
_ITEM = re.compile(r"^\$([A-Za-z_][\w-]*)\[(\d+)\]((?:\.[\w-]+)*)$")


def has_repeater(xml: str) -> bool:
    return "<repeater" in xml.lower()


def expand(xml: str, data: dict) -> str:
    """The config with each Repeater unrolled over this task's data."""
    root = fromstring(xml, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    if _depth(root) > MAX_DEPTH:  # copying and writing the tree recurse
        raise InvalidInput(f"{DEPTH_REFUSED}; flatten its <View>s.")
    for parent in list(root.iter()):
        for index, child in enumerate(list(parent)):
            if child.tag.lower() == "repeater":
                parent[index] = _unroll(child, data)
    return tostring(root, encoding="unicode")


def _depth(root: Element) -> int:
    """How many levels of tags (counted without recursion)."""
    deepest, level = 0, [root]
    while level:
        deepest += 1
        level = [child for node in level for child in node]
    return deepest


def _unroll(node: Element, data: dict) -> Element:
    source = (node.get("on") or "").strip()
    key = source.removeprefix("$")
    items = data.get(key) if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise InvalidInput(f"The task has no list {key!r} for <Repeater on={source!r}>.")
    if len(items) > MAX_ITEMS:
        raise InvalidInput(f"<Repeater> takes at most {MAX_ITEMS} items; the task's {key!r} has {len(items)}.")
    flag = node.get("indexFlag") or "{{idx}}"
    out = Element("Repeater", dict(node.attrib.items()))
    for index in range(len(items)):
        page = Element("View")
        for child in node:
            copied = copy.deepcopy(child)
            for element in copied.iter():
                for name, value in list(element.attrib.items()):
                    element.set(name, _resolve(value.replace(flag, str(index)), data))
            page.append(copied)
        out.append(page)
    return out


def _resolve(value: str, data: dict) -> str:
    """"$document[2].page" -> the value at that place in the task data ("" if absent)."""
    m = _ITEM.match(value.strip())
    if not m:
        return value
    found = data.get(m.group(1))
    try:
        found = found[int(m.group(2))]
        for part in filter(None, m.group(3).split(".")):
            found = found[part]
    except (IndexError, KeyError, TypeError):
        return ""
    return found if isinstance(found, str) else str(found)
