"""Media files: each image, audio, video or PDF file is stored in the media dir and
becomes one task, under the key of the config's object for that kind of media (an
<Image>, <Audio>, <Video> or <Pdf>). A file must be what its extension says: images are
opened (and refused past MAX_PIXELS, against decompression bombs), the others are
recognised by their first bytes. Files are copied in chunks, never read whole."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from PIL import Image, UnidentifiedImageError

from labelkit.errors import InvalidInput
from labelkit.importers.base import Format, ReadContext, Row, peek
from labelkit.storage import local

MAX_PIXELS = 100_000_000
# The object tags a kind of media goes to, in order of preference.
OBJECTS = {"image": ("Image",), "audio": ("Audio", "AudioPlus"), "video": ("Video",), "pdf": ("Pdf",)}


def _signature(kind: str, head: bytes) -> bool:
    """Whether a file's first bytes are those of its kind of media."""
    if kind == "audio":
        return (head[:4] == b"RIFF" and head[8:12] == b"WAVE") or head[:3] == b"ID3" or head[:4] in (b"OggS", b"fLaC") \
            or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0) or head[4:8] == b"ftyp"
    if kind == "video":
        return head[:4] == b"\x1aE\xdf\xa3" or head[4:8] == b"ftyp" or head[:4] == b"OggS"
    return head[:5] == b"%PDF-"


def _reader(kind: str):
    def read(stream: BinaryIO, ctx: ReadContext) -> Iterator[Row]:
        key = ctx.media_keys.get(kind)
        if not key:
            wanted = " or ".join(f"<{t}>" for t in OBJECTS[kind])
            raise InvalidInput(f"{ctx.filename}: this project's config has no {wanted}, so {kind} files cannot be imported")
        if ctx.in_place:
            _check_in_place(kind, stream, ctx.filename)
            yield Row("file", {key: local.local_file_path(ctx.filename)})
            return
        if kind == "image":
            content = stream.read()
            _check_image(content, ctx.filename)
        else:
            head, content = peek(stream, 16)
            if not _signature(kind, head):
                raise InvalidInput(f"{ctx.filename}: not a readable {kind} file")
        path = local.save_upload(ctx.project_id, ctx.filename, content)
        ctx.saved_media.append(path)
        yield Row("file", {key: path})

    return read


def _check_in_place(kind: str, stream: BinaryIO, filename: str) -> None:
    """A server-folder file is what its extension says: its header is read, not the file."""
    if kind != "image":
        if not _signature(kind, stream.read(16)):
            raise InvalidInput(f"{filename}: not a readable {kind} file")
        return
    try:
        with Image.open(stream) as image:
            width, height = image.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise InvalidInput(f"{filename}: not a readable image") from None
    _check_pixels(width, height, filename)


def _check_pixels(width: int, height: int, filename: str) -> None:
    if width * height > MAX_PIXELS:
        raise InvalidInput(f"{filename}: {width}x{height} pixels is more than this portal accepts")


def _check_image(content: bytes, filename: str) -> None:
    import io

    try:
        with Image.open(io.BytesIO(content)) as image:
            width, height = image.size
            image.verify()
    except Image.DecompressionBombError:
        raise InvalidInput(f"{filename}: has more pixels than this portal accepts (a decompression bomb?)") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise InvalidInput(f"{filename}: not a readable image") from None
    _check_pixels(width, height, filename)


FORMATS = [
    Format("image", (".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp"), _reader("image"), "Images: one task per file"),
    Format("audio", (".wav", ".mp3", ".ogg", ".oga", ".flac", ".m4a"), _reader("audio"), "Audio: one task per file"),
    Format("video", (".mp4", ".webm", ".m4v", ".ogv", ".mov"), _reader("video"), "Video: one task per file"),
    Format("pdf", (".pdf",), _reader("pdf"), "PDF documents: one task per file"),
]
