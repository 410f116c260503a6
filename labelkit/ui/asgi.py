"""Streamlit's ASGI app around our routes (the only Streamlit import labelkit.server needs)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import streamlit as st
from starlette.routing import BaseRoute


def streamlit_app(script: Path, routes: Sequence[BaseRoute], lifespan: Callable[[Any], Any]) -> st.App:
    return st.App(str(script), routes=routes, lifespan=lifespan)
