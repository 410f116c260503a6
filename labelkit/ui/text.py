"""Task text shown as text: every character Markdown (or Streamlit's Markdown extensions:
emoji shortcodes, colored text, LaTeX) would act on is escaped, and HTML is never rendered."""

from __future__ import annotations

import re

_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=^&\"'])")
# Streamlit turns :smile: and :material/home: into an emoji or an icon even when the colons
# are escaped (it reads the text after Markdown has resolved the escapes); an invisible
# zero-width space after the first colon keeps them as the text they are.
_SHORTCODE = re.compile(r":(?=[A-Za-z_+-][\w+-]*(?:/[\w-]+)?:)")


def plain(text: str) -> str:
    """Markdown source that displays `text` literally, line breaks included."""
    escaped = _SPECIAL.sub(r"\\\1", _SHORTCODE.sub(":\u200b", str(text)))
    return escaped.replace("\r\n", "\n").replace("\n", "  \n")
