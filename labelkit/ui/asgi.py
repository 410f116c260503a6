"""Streamlit's ASGI app around our routes (the only Streamlit import labelkit.server needs)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import streamlit as st
from starlette.routing import BaseRoute
from streamlit.runtime.pages_manager import PagesManager


def streamlit_app(script: Path, routes: Sequence[BaseRoute], lifespan: Callable[[Any], Any]) -> st.App:
    # app.py routes every page through st.navigation. Streamlit only learns that when a
    # first session runs st.navigation; until then a deep link (say /label) to a fresh
    # server would run pages/label.py on its own, the old way, outside the sign-in gate.
    PagesManager.uses_pages_directory = False
    return st.App(str(script), routes=routes, lifespan=lifespan)
