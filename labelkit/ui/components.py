"""Our own Streamlit components, where Streamlit has no widget (span selection, a waveform,
a video timeline, a plot to select ranges on, a ranker): components v2 in plain JavaScript,
no build step. Each one's script and style sheet live in labelkit/ui/assets/<name>.js and
<name>.css (package data), read once at import. Task data reaches them as data and is set
as text there, never as HTML (HTML only after labelkit.media.html_safe)."""

from __future__ import annotations

from importlib import resources

import streamlit as st


def asset(name: str) -> str:
    return resources.files("labelkit.ui").joinpath("assets", name).read_text(encoding="utf-8")


def component(name: str, html: str, uses: tuple[str, ...] = ()):
    """The component labelkit.<name>, from assets/<name>.js and assets/<name>.css. `uses` names
    shared scripts (assets/<use>.js, plain function declarations) put before its own, so that
    its module, which components v2 takes as one string, has their functions in scope."""
    js = "\n".join(asset(f"{script}.js") for script in (*uses, name))
    return st.components.v2.component(f"labelkit.{name}", html=html, css=asset(f"{name}.css"), js=js)
