"""Task text shown as text: every character Markdown (or Streamlit's Markdown extensions:
emoji shortcodes, colored text, LaTeX) would act on is escaped, and HTML is never rendered."""

from __future__ import annotations

import re

_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=^&\"'])")


def plain(text: str) -> str:
    """Markdown source that displays `text` literally, line breaks included."""
    escaped = _SPECIAL.sub(r"\\\1", str(text))
    return escaped.replace("\r\n", "\n").replace("\n", "  \n")
