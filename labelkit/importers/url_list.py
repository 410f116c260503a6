"""A list of media URLs, one per line: each becomes a task whose media key (the config's
<Image>, <Audio>, <Video> or <Pdf>) holds the URL, chosen by the URL's file extension, or
the config's only media object when the URL has none. The browser loads them; the server
never fetches them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import BinaryIO
from urllib.parse import urlsplit

from labelkit.errors import InvalidInput
from labelkit.importers import media
from labelkit.importers.base import Format, ReadContext, Row, text_of

_KIND = {ext: f.name for f in media.FORMATS for ext in f.extensions}


def read_urls(stream: BinaryIO, ctx: ReadContext) -> Iterator[Row]:
    try:
        yield from _rows(stream, ctx)
    except UnicodeDecodeError:
        raise InvalidInput(f"{ctx.filename}: is not UTF-8 text") from None


def _rows(stream: BinaryIO, ctx: ReadContext) -> Iterator[Row]:
    for number, line in enumerate(text_of(stream), start=1):
        url = line.strip()
        if not url or url.startswith("#"):
            continue
        try:
            parts = urlsplit(url)
        except ValueError:  # such as an unclosed [IPv6 address
            parts = urlsplit("")
        if parts.scheme not in ("http", "https", "s3") or not parts.netloc:
            raise InvalidInput(f"{ctx.filename}, line {number}: {url[:80]!r} is not an http(s) or s3:// URL")
        kind = _KIND.get(PurePosixPath(parts.path).suffix.lower())
        if kind is None and len(ctx.media_keys) == 1:
            kind = next(iter(ctx.media_keys))
        key = ctx.media_keys.get(kind) if kind else None
        if key is None:
            what = f"a {kind} file" if kind else "a URL without a media extension"
            raise InvalidInput(f"{ctx.filename}, line {number}: {what}, and this project's config has no object to show it")
        yield Row(number, {key: url})


FORMATS = [Format("urls", (".urls",), read_urls, "Media URLs, one per line (paste them on the page, or --format urls)")]
