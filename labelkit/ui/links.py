"""Absolute links to this portal (invite, password-reset and confirmation links people copy or get by mail)."""

from __future__ import annotations

from urllib.parse import urlparse

import streamlit as st

from labelkit.auth.invites import confirmation_path, invite_path
from labelkit.auth.reset import reset_path
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


def reset_url(token: str) -> str:
    return base_url() + reset_path(token)


def confirmation_url(token: str, confirmation: str) -> str:
    return base_url() + confirmation_path(token, confirmation)
