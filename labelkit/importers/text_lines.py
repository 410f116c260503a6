"""Plain text: each non-empty line is a task."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from labelkit.errors import InvalidInput
from labelkit.importers.base import Format, ReadContext, Row, text_of


def read_txt(stream: BinaryIO, ctx: ReadContext) -> Iterator[Row]:
    if not ctx.text_key:
        raise InvalidInput(f"{ctx.filename}: this project's config shows no text, so a text file cannot be imported")
    try:
        for number, line in enumerate(text_of(stream), start=1):
            line = line.rstrip("\r\n")
            if line.strip():
                yield Row(number, {ctx.text_key: line})
    except UnicodeDecodeError:
        raise InvalidInput(f"{ctx.filename}: is not UTF-8 text") from None


FORMATS = [Format("txt", (".txt",), read_txt, "Plain text, one task per line")]
