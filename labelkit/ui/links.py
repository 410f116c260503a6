"""Absolute links to this portal (invite links people copy and send)."""

from __future__ import annotations

from urllib.parse import urlparse

import streamlit as st

from labelkit.auth.invites import invite_path
from labelkit.settings import get_settings


def base_url() -> str:
    configured = get_settings().base_url
    if configured:
        return configured.rstrip("/")
    try:
        url = st.context.url
    except Exception:  # noqa: BLE001
        url = None
    if url:
        parts = urlparse(url)
        return f"{parts.scheme}://{parts.netloc}"
    return "http://localhost:8501"


def invite_url(token: str) -> str:
    return base_url() + invite_path(token)
