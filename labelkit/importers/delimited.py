"""CSV and TSV with a header row: each row is a task, each column a data key."""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from typing import BinaryIO

from labelkit.errors import InvalidInput
from labelkit.importers.base import Format, ReadContext, Row, text_of

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


def _reader(delimiter: str):
    def read(stream: BinaryIO, ctx: ReadContext) -> Iterator[Row]:
        text = text_of(stream, newline="")
        try:
            rows = csv.reader(text, delimiter=delimiter)
            header = next(rows, None)
            if not header or not any(h.strip() for h in header):
                raise InvalidInput(f"{ctx.filename}: the first line must name the columns")
            header = [h.strip() for h in header]
            if len(set(header)) != len(header):
                raise InvalidInput(f"{ctx.filename}: a column name appears twice in the header")
            for row in rows:
                number = rows.line_num
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) != len(header):
                    raise InvalidInput(
                        f"{ctx.filename}, line {number}: {len(row)} columns where the header has {len(header)}"
                    )
                yield Row(number, dict(zip(header, row, strict=True)))
        except UnicodeDecodeError:
            raise InvalidInput(f"{ctx.filename}: is not UTF-8 text") from None
        except csv.Error as e:
            raise InvalidInput(f"{ctx.filename}: {e}") from None

    return read


FORMATS = [
    Format("csv", (".csv",), _reader(","), "CSV with a header row; each column becomes a data key"),
    Format("tsv", (".tsv",), _reader("\t"), "TSV with a header row; each column becomes a data key"),
]
