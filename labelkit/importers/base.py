"""What every importer shares: the row it yields and the context it reads with."""

from __future__ import annotations

import codecs
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO, NamedTuple, Protocol


class Row(NamedTuple):
    """One task as read from a source. `where` names it for error messages: a line
    number, or words such as "task 5" (a tuple, because a million of them are made)."""

    where: int | str
    value: Any
    raw: str | None = None  # the row's JSON text as written, when it is one

    def place(self, filename: str) -> str:
        if self.where == "file":
            return filename
        return f"{filename}, line {self.where}" if isinstance(self.where, int) else f"{filename}, {self.where}"


@dataclass
class ReadContext:
    filename: str
    project_id: int
    text_key: str | None  # the key a plain-text line goes to
    media_keys: dict[str, str]  # the key an image, audio, video or pdf file goes to
    saved_media: list[str] = field(default_factory=list)  # removed again if the import fails
    in_place: bool = False  # a server-folder file: media is referenced where it is, not copied


class Reader(Protocol):
    def __call__(self, stream: BinaryIO, ctx: ReadContext) -> Iterator[Row]: ...


@dataclass(frozen=True)
class Format:
    name: str
    extensions: tuple[str, ...]
    read: Callable[[BinaryIO, ReadContext], Iterator[Row]]
    description: str


class _Prefixed(io.RawIOBase):
    """Bytes already read from a stream, then the rest of the stream."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self.head, self.rest = head, rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.head:
            n = min(len(buffer), len(self.head))
            buffer[:n], self.head = self.head[:n], self.head[n:]
            return n
        data = self.rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def peek(stream: BinaryIO, size: int) -> tuple[bytes, BinaryIO]:
    """The first bytes of a stream, and a stream that reads it whole from the start."""
    head = stream.read(size)
    return head, io.BufferedReader(_Prefixed(head, stream))


SNIFF = 64 * 1024


def text_of(stream: BinaryIO, newline: str | None = None) -> io.TextIOWrapper:
    """A file as text: UTF-8 (with or without a BOM), UTF-16 with its BOM, or, when its
    start is not UTF-8, Windows-1252 (what spreadsheets on Windows save; Latin-1 where
    that has no character)."""
    head, whole = peek(stream, SNIFF)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        encoding = "utf-8-sig"
        try:
            head.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            if e.start < len(head) - 3:  # not just a character cut at the end of the sample
                encoding = "cp1252" if _decodes(head, "cp1252") else "latin-1"
    return io.TextIOWrapper(whole, encoding=encoding, newline=newline)


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True
