"""What st.image can show for a task's media value."""

from __future__ import annotations

from pathlib import Path

from labelkit.errors import LabelkitError
from labelkit.storage import local


def image_source(value: str) -> str | Path | None:
    """A local file for uploaded media, the URL itself for web images, else None."""
    value = (value or "").strip()
    if value.startswith(local.UPLOAD_PREFIX):
        try:
            return local.resolve(value)
        except LabelkitError:
            return None
    if value.startswith(("http://", "https://")):
        return value
    return None


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
