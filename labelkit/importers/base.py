"""What every importer shares: the row it yields and the context it reads with."""

from __future__ import annotations

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
    media_key: str | None  # the key an image file goes to
    saved_media: list[str] = field(default_factory=list)  # removed again if the import fails


class Reader(Protocol):
    def __call__(self, stream: BinaryIO, ctx: ReadContext) -> Iterator[Row]: ...


@dataclass(frozen=True)
class Format:
    name: str
    extensions: tuple[str, ...]
    read: Callable[[BinaryIO, ReadContext], Iterator[Row]]
    description: str
