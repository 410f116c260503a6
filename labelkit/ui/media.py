"""What st.image can show for a task's media value."""

from __future__ import annotations

from pathlib import Path

from labelkit.errors import LabelkitError
from labelkit.storage import local


def image_source(value: str) -> str | Path | None:
    """A local file for uploaded media (or a server-folder file), the URL itself for web images, else None."""
    value = (value or "").strip()
    if local.is_local(value):
        return local_file(value)
    if value.startswith(("http://", "https://")):
        return value
    return s3_url(value)


def s3_url(value: str, project_id: int | None = None) -> str | None:
    """A link the browser loads an s3:// value from (presigned, or through this server),
    when a storage of the project (by default the one this page works on) has its bucket."""
    if not value.startswith("s3://"):
        return None
    import streamlit as st

    from labelkit.cloud import links as cloud
    from labelkit.db import session_scope
    from labelkit.models import User
    from labelkit.ui.context import USER_KEY

    project_id = project_id if project_id is not None else st.session_state.get("lk_project")
    user_id = st.session_state.get(USER_KEY)
    if user_id is None:
        return None
    try:
        with session_scope(write=False) as session:
            url = cloud.presigned_media_url(session, session.get(User, user_id), project_id, value)
    except LabelkitError:
        return None
    return _on_this_server(url, st.context.url) if url and url.startswith("/") else url


def natural_width(source: str | Path) -> int | None:
    """The width of a local image (read from its header), so it is never blown up."""
    if not isinstance(source, Path):
        return None
    from PIL import Image

    try:
        with Image.open(source) as image:
            return image.width
    except OSError:
        return None


def natural_size(source: str | Path) -> tuple[int, int] | None:
    """(width, height) of a local image, read from its header."""
    if not isinstance(source, Path):
        return None
    from PIL import Image

    try:
        with Image.open(source) as image:
            return image.width, image.height
    except OSError:
        return None


def browser_url(value: str, page_url: str | None) -> str | None:
    """An absolute URL the browser can load a task's image from: web images as they are,
    uploads through a signed link on this server (stable for an hour, so a canvas keeps
    its background across reruns)."""
    value = (value or "").strip()
    if value.startswith(("http://", "https://")):
        return value
    if value.startswith("s3://"):
        return s3_url(value)
    if local.is_local(value) and local_file(value) is not None:
        import streamlit as st

        from labelkit.ui.context import USER_KEY

        link = local.signed_url(value, seconds=3600, align=3600, account=st.session_state.get(USER_KEY))
        return _on_this_server(link, page_url)
    return None


def upload_link(value: str, project_id: int) -> str | None:
    """A signed link, bound to the person on this page, to a file of this project (its
    uploads, the samples, server-folder files), else None."""
    try:
        local.resolve_for(value.strip(), project_id)
    except LabelkitError:
        return None
    import streamlit as st

    from labelkit.ui.context import USER_KEY

    return local.signed_url(value.strip(), seconds=3600, align=3600, account=st.session_state.get(USER_KEY))


def page_project() -> int | None:
    """The project this page works on (the sidebar's choice), whose tasks it shows."""
    import streamlit as st

    return st.session_state.get("lk_project")


def local_file(value: str) -> Path | None:
    """The file on this server a task value of the page's project names (its uploads, the
    samples, server-folder files), else None: a task that names another project's upload
    shows nothing."""
    try:
        return local.resolve_for(value.strip(), page_project())
    except LabelkitError:
        return None


def _on_this_server(path: str, page_url: str | None) -> str | None:
    """An absolute URL on the server the page came from."""
    from urllib.parse import urlsplit

    parts = urlsplit(page_url or "")
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}{path}"
    return None
