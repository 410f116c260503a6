"""Task HTML made safe to show: the one place where HTML from task data is cleaned.

Built on nh3 (the Ammonia sanitizer): an allow-list of harmless tags and attributes, so
scripts, event handlers, javascript: and data: URLs, iframes, objects, embeds, forms,
<style> sheets and SVG are gone. On top of that nothing may load from elsewhere: an
image keeps its src only when it is one of this server's uploads (/data/upload/...,
which `local_url` may turn into a signed link), and inline styles keep only a few
typographic properties and never a url(). Links stay as text with an href (opened only
by a click, with rel="noopener noreferrer")."""

from __future__ import annotations

import re
from collections.abc import Callable

import nh3

UPLOAD_PREFIX = "/data/upload/"
_TAGS = set(nh3.ALLOWED_TAGS) - {"area", "map"}  # image maps carry links over images; not needed to label text
_ATTRIBUTES = {tag: set(names) for tag, names in nh3.ALLOWED_ATTRIBUTES.items() if tag in _TAGS}
_ATTRIBUTES["*"] = {"title", "lang", "dir", "style"}
_URL_SCHEMES = {"http", "https", "mailto"}
# Inline CSS that changes how text looks and cannot fetch anything.
_STYLE_PROPERTIES = {
    "color", "background-color", "font-weight", "font-style", "font-size", "text-decoration", "text-align",
    "white-space", "margin", "margin-left", "padding", "border", "border-collapse", "vertical-align",
}
_LOADS = re.compile(r"url\s*\(|expression\s*\(|@import|image-set|\\", re.IGNORECASE)


def sanitize(html: str | None, local_url: Callable[[str], str | None] | None = None) -> str:
    """`html` with everything that runs, loads or submits removed; harmless markup kept.
    local_url maps an upload path (/data/upload/...) to the URL the browser should load
    it from (None drops the image's src)."""

    def keep(tag: str, attribute: str, value: str) -> str | None:
        if attribute == "style":
            return None if _LOADS.search(value) else value
        if tag == "img" and attribute == "src":
            path = value.strip()
            if not path.startswith(UPLOAD_PREFIX) or ".." in path:
                return None  # remote, data: and relative images would load from elsewhere
            return local_url(path) if local_url is not None else path
        return value

    return nh3.clean(
        html or "",
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        attribute_filter=keep,
        url_schemes=_URL_SCHEMES,
        filter_style_properties=_STYLE_PROPERTIES,
        strip_comments=True,
        link_rel="noopener noreferrer",
    )
