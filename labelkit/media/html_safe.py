"""Task HTML made safe to show: the one place where HTML from task data (and the HTML of a
project's Markdown instructions) is cleaned.

Built on nh3 (the Ammonia sanitizer): an allow-list of harmless tags and attributes, so
scripts, event handlers, javascript: and data: URLs, iframes, objects, embeds, forms,
<style> sheets and SVG are gone. On top of that nothing may load from elsewhere: an
image keeps its src only when it is one of this server's uploads (/data/upload/...,
which `local_url` may turn into a signed link), and inline styles keep only a few
typographic properties and never a url(). Links stay as text with an href (opened only
by a click, with rel="noopener noreferrer")."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

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


def markdown_html(markdown: str | None, local_url: Callable[[str], str | None] | None = None) -> str:
    """A project's instructions (Markdown) as safe HTML to show every annotator. Raw HTML in
    it stays text, as before. An image, in any spelling (inline, reference-style), shows only
    when it is one of this server's uploads: a remote one would be fetched by every
    annotator's browser (a tracking pixel), so it becomes a link opened only by a click."""
    renderer = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
    renderer.add_render_rule("image", _image_or_link)
    return sanitize(renderer.render(markdown or ""), local_url)


def _image_or_link(self: RendererHTML, tokens: Sequence[Token], index: int, options: OptionsDict, env: EnvType) -> str:
    """markdown-it's render rule for an image: uploads as images, anything else as a link."""
    token = tokens[index]
    source = (token.attrGet("src") or "").strip()
    if source.startswith(UPLOAD_PREFIX):
        return self.image(tokens, index, options, env)
    alt = escapeHtml(self.renderInlineAsText(token.children or [], options, env)) or "image"
    return f'<a href="{escapeHtml(source)}">{alt} (image not shown: open it)</a>'
