"""Image files: each file is stored in the media dir and becomes one task."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from PIL import Image, UnidentifiedImageError

from labelkit.errors import InvalidInput
from labelkit.importers.base import Format, ReadContext, Row
from labelkit.storage import local

MAX_PIXELS = 100_000_000


def read_image(stream: BinaryIO, ctx: ReadContext) -> Iterator[Row]:
    if not ctx.media_key:
        raise InvalidInput(f"{ctx.filename}: this project's config has no <Image>, so images cannot be imported")
    content = stream.read()
    _check_image(content, ctx.filename)
    path = local.save_upload(ctx.project_id, ctx.filename, content)
    ctx.saved_media.append(path)
    yield Row("file", {ctx.media_key: path})


def _check_image(content: bytes, filename: str) -> None:
    import io

    try:
        with Image.open(io.BytesIO(content)) as image:
            width, height = image.size
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise InvalidInput(f"{filename}: not a readable image") from None
    if width * height > MAX_PIXELS:
        raise InvalidInput(f"{filename}: {width}x{height} pixels is more than this portal accepts")


FORMATS = [
    Format("image", (".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp"), read_image, "Images: one task per file"),
]
