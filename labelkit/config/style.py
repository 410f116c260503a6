"""The inline styles of a config's <View> that matter for layout: which children sit side
by side, and how wide each column is. Everything else in a style is looks, left out."""

from __future__ import annotations

import re

_FR = re.compile(r"^(\d+(?:\.\d+)?)(fr|px|%)?$")
_REPEAT = re.compile(r"repeat\((\d+),([^)]*)\)")


def grid_columns(style: str, children: int) -> list[float] | None:
    """Column widths for a View's inline style: display:flex lays its children side by
    side (equal widths), display:grid by its grid-template-columns ("1fr 10fr 1fr 3fr",
    "repeat(3, 1fr)", "200px 1fr"); None when the children stack."""
    css = {
        k.strip().lower(): v.strip().lower()
        for k, _, v in (part.partition(":") for part in style.split(";")) if k.strip()
    }
    display = css.get("display", "")
    if display == "flex" and css.get("flex-direction", "row").startswith("row") and children > 1:
        return [1.0] * children
    if display != "grid":
        return None
    template = _REPEAT.sub(lambda m: " ".join([m.group(2).strip()] * int(m.group(1))), css.get("grid-template-columns", ""))
    weights = []
    for token in template.split():
        m = _FR.match(token)
        if not m:
            return None
        number, unit = float(m.group(1)), m.group(2) or "px"
        weights.append(number if unit == "fr" else number / 100 if unit == "px" else number / 10)
    return weights if len(weights) > 1 and all(w > 0 for w in weights) else None
