"""The data of a <TimeSeries>: its time axis and the columns its <Channel>s plot, read from
a CSV (valueType="url": an uploaded file, a web URL or the CSV text itself) or from JSON in
the task (valueType="json": {column: [values]}), as Label Studio reads them
(https://labelstud.io/tags/timeseries).

Time is a number: the time column's value, the row number when there is no timeColumn, or,
with a timeFormat, milliseconds since 1970 (UTC), which is what Label Studio stores as a
region's start and end. Drawing a long series uses `downsample`; a region's ends are
snapped to real times of the data with `snap`."""

from __future__ import annotations

import bisect
import csv
import io
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from labelkit.config import ObjectTag
from labelkit.config.parser import Node
from labelkit.errors import LabelkitError

MAX_BYTES = 64 * 1024 * 1024  # a CSV larger than this is refused rather than read into memory
MAX_ROWS = 2_000_000
DRAW_POINTS = 4000  # per channel; more rows are drawn as each bucket's first, lowest, highest and last


class TimeSeriesError(LabelkitError):
    """The task's series cannot be read; the message says where and why."""


@dataclass
class Channel:
    column: str
    legend: str
    units: str
    color: str | None
    width: float
    height: int
    group: int  # channels of one <MultiChannel> share a plot


@dataclass
class Series:
    time: list[float]
    values: dict[str, list[float | None]]  # by column
    dates: bool = False  # time is milliseconds since 1970
    time_name: str = ""
    channels: list[Channel] = field(default_factory=list)

    @property
    def span(self) -> tuple[float, float]:
        return (self.time[0], self.time[-1]) if self.time else (0, 0)


def channels_of(obj: ObjectTag) -> list[Channel]:
    """The <Channel>s of a <TimeSeries>, in order; those of a <MultiChannel> in one group."""
    found: list[Channel] = []

    def add(node: Node, group: int, height: str | None) -> None:
        attrs = node.attrs
        found.append(Channel(
            column=attrs.get("column", ""), legend=attrs.get("legend") or attrs.get("column", ""),
            units=attrs.get("units", ""), color=attrs.get("strokeColor"), width=_number(attrs.get("strokeWidth"), 1.0),
            height=int(_number(attrs.get("height") or height, 120)), group=group,
        ))

    for group, node in enumerate(obj.node.children):
        if node.tag == "Channel":
            add(node, group, None)
        elif node.tag == "MultiChannel":
            for child in node.children:
                if child.tag == "Channel":
                    add(child, group, node.attrs.get("height"))
    return found


def load(obj: ObjectTag, data: dict, read=None, project_id: int | None = None) -> Series:
    """The series a task of this project shows in this <TimeSeries>. read(value) -> CSV text
    lets the caller fetch files (default: the project's uploads, web URLs and CSV text)."""
    attrs = obj.node.attrs
    channels = channels_of(obj)
    columns = [c.column for c in channels]
    ref = obj.value
    value = data.get(ref[1:]) if ref.startswith("$") else ref
    if ref in ("$", "$undefined$"):  # Label Studio's way of saying "the task itself"
        value = data
    if value is None or value == "":
        raise TimeSeriesError(f"the task has no value for {ref}")
    time_column, time_format = attrs.get("timeColumn") or None, attrs.get("timeFormat") or None
    if (attrs.get("valueType") or "url").lower() == "json":
        series = from_json(value, columns, time_column, time_format)
    else:
        text = read(value) if read else read_csv_text(value, project_id)
        series = from_csv(text, columns, time_column, time_format, sep=_separator(attrs.get("sep"), text))
    series.channels = channels
    return series


def read_csv_text(value, project_id: int | None = None) -> str:
    """The CSV a task value of this project names: an upload of the project (or a sample, or
    a server-folder file), a web URL, or the CSV text itself."""
    from labelkit.storage import local

    if not isinstance(value, str):
        raise TimeSeriesError("valueType=\"url\" needs a URL or a file path, not a list or an object")
    if "\n" in value.strip(" \r\n") or value.endswith("\n"):  # the CSV text itself
        return value
    value = value.strip()
    if local.is_local(value):
        try:
            path = local.resolve_for(value, project_id)
        except LabelkitError as e:
            raise TimeSeriesError(str(e)) from e
        return _read_file(path)
    if value.startswith(("http://", "https://")):
        return _fetch(value)
    raise TimeSeriesError(f"cannot read a CSV from {value!r}: give an uploaded file (/data/upload/...) or a web URL")


def _read_file(path: Path) -> str:
    if not path.is_file():
        raise TimeSeriesError(f"the file {path.name} is not there")
    if path.stat().st_size > MAX_BYTES:
        raise TimeSeriesError(f"{path.name} is larger than {MAX_BYTES // 2**20} MB")
    return path.read_text(encoding="utf-8-sig", errors="replace")


def _fetch(url: str) -> str:
    from labelkit.media.fetch import fetch_bytes

    try:
        body = fetch_bytes(url, MAX_BYTES)
    except LabelkitError as e:
        raise TimeSeriesError(str(e)) from e
    return body.decode("utf-8-sig", errors="replace")


def _separator(sep: str | None, text: str) -> str:
    if sep:
        return {"\\t": "\t", "tab": "\t"}.get(sep, sep)
    first = text.split("\n", 1)[0]
    return "\t" if "\t" in first and "," not in first else ","


def from_csv(text: str, columns: list[str], time_column: str | None = None, time_format: str | None = None,
             sep: str = ",") -> Series:
    """A CSV with a header row, or a headless one whose columns the config names by number
    (timeColumn="0", <Channel column="1"/>)."""
    rows = csv.reader(io.StringIO(text), delimiter=sep)
    first = next(rows, None)
    if first is None:
        raise TimeSeriesError("the CSV is empty")
    first = [h.strip() for h in first]
    wanted = [c for c in [time_column, *columns] if c is not None]
    headless = all(c.isdigit() for c in wanted) and not all(c in first for c in wanted)
    header = [str(n) for n in range(len(first))] if headless else first
    index = {name: n for n, name in enumerate(header)}
    for name in wanted:
        if name not in index:
            raise TimeSeriesError(f"column {name!r} is not in the CSV (its columns: {', '.join(header)})")
    body = [first] if headless else []
    raw: dict[str, list[str]] = {name: [] for name in dict.fromkeys(wanted)}
    line = 1 if headless else 2  # the row number a person sees in a spreadsheet
    numbers = []
    for row in _chain(body, rows):
        if not row or all(not cell.strip() for cell in row):
            line += 1
            continue
        for name, cells in raw.items():
            n = index[name]
            cells.append(row[n].strip() if n < len(row) else "")
        numbers.append(line)
        line += 1
        if len(numbers) > MAX_ROWS:
            raise TimeSeriesError(f"the CSV has more than {MAX_ROWS:,} rows")
    return _series(raw, columns, time_column, time_format, numbers)


def from_json(value, columns: list[str], time_column: str | None = None, time_format: str | None = None) -> Series:
    """valueType="json": {column: [values]} in the task (or the JSON text of it)."""
    if isinstance(value, str):
        import json

        try:
            value = json.loads(value)
        except ValueError as e:
            raise TimeSeriesError(f"valueType=\"json\" needs an object of columns, not {value[:40]!r}") from e
    if not isinstance(value, dict):
        raise TimeSeriesError("valueType=\"json\" needs an object {column: [values]}")
    wanted = [c for c in [time_column, *columns] if c is not None]
    for name in wanted:
        if name not in value:
            raise TimeSeriesError(f"column {name!r} is not in the task's data (its columns: {', '.join(map(str, value))})")
        if not isinstance(value[name], list):
            raise TimeSeriesError(f"column {name!r} must be a list of values")
    raw = {name: ["" if v is None else str(v) for v in value[name]] for name in dict.fromkeys(wanted)}
    lengths = {len(v) for v in raw.values()}
    if len(lengths) > 1:
        raise TimeSeriesError("the columns are not all the same length: " + ", ".join(f"{k}: {len(v)}" for k, v in raw.items()))
    count = lengths.pop() if lengths else 0
    return _series(raw, columns, time_column, time_format, list(range(count)), row_word="item")


def _chain(first: list, rest):
    yield from first
    yield from rest


def _series(raw: dict[str, list[str]], columns: list[str], time_column: str | None, time_format: str | None,
            numbers: list[int], row_word: str = "row") -> Series:
    count = len(numbers)
    if count == 0:
        raise TimeSeriesError("the series has no rows")
    values = {}
    for name in dict.fromkeys(columns):
        out: list[float | None] = []
        for n, cell in enumerate(raw[name]):
            out.append(_value(cell, name, f"{row_word} {numbers[n]}"))
        values[name] = out
    dates = False
    if time_column is None:
        time = list(range(count))
    elif time_format:
        parse = _time_parser(time_format)
        time = [parse(cell, f"{row_word} {numbers[n]}") for n, cell in enumerate(raw[time_column])]
        dates = True
    else:
        time = []
        for n, cell in enumerate(raw[time_column]):
            t = _value(cell, time_column, f"{row_word} {numbers[n]}")
            if t is None:
                raise TimeSeriesError(f"{row_word} {numbers[n]}: the time column {time_column!r} is empty")
            time.append(int(t) if float(t).is_integer() and "." not in cell and "e" not in cell.lower() else t)
    for n in range(1, count):
        if time[n] < time[n - 1]:
            raise TimeSeriesError(
                f"{row_word} {numbers[n]}: time {raw[time_column][n] if time_column else n} comes before the "
                f"{row_word} above it; the time column must be sorted")
    return Series(time=time, values=values, dates=dates, time_name=time_column or "")


def _value(cell: str, column: str, where: str) -> float | None:
    if cell == "" or cell.lower() in ("nan", "null", "none"):
        return None  # a gap in the line
    try:
        number = float(cell)
    except ValueError:
        raise TimeSeriesError(f"{where}: {cell[:40]!r} in column {column!r} is not a number") from None
    if math.isinf(number):
        raise TimeSeriesError(f"{where}: {cell!r} in column {column!r} is not a finite number")
    return number


# d3's time directives that Python's strptime does not know, and their nearest equivalent.
_D3_ONLY = {"%L": "%f", "%e": "%d", "%-d": "%d", "%-m": "%m", "%-H": "%H", "%-I": "%I", "%-M": "%M", "%-S": "%S"}


def _time_parser(time_format: str):
    """Parse a timeFormat'ed time (d3's strftime-like directives) into ms since 1970 UTC;
    %Q is already milliseconds and %s seconds since 1970."""
    if time_format.strip() == "%Q":
        return lambda cell, where: _epoch(cell, where, 1, time_format)
    if time_format.strip() == "%s":
        return lambda cell, where: _epoch(cell, where, 1000, time_format)
    pattern = time_format
    for d3, python in _D3_ONLY.items():
        pattern = pattern.replace(d3, python)
    has_zone = "%z" in pattern or "%Z" in pattern
    iso = _iso_shape(pattern)

    def parse(cell: str, where: str) -> float:
        try:
            if iso is not None and iso.fullmatch(cell):  # ISO-shaped: the fast C parser
                moment = datetime.fromisoformat(cell)
            else:
                moment = datetime.strptime(cell, pattern)
        except ValueError:
            raise TimeSeriesError(f"{where}: {cell[:40]!r} does not match timeFormat {time_format!r}") from None
        if not has_zone:
            moment = moment.replace(tzinfo=UTC)
        return _ms(moment.timestamp())

    return parse


_ISO_PARTS = {"%Y": r"\d{4}", "%m": r"\d{2}", "%d": r"\d{2}", "%H": r"\d{2}", "%M": r"\d{2}", "%S": r"\d{2}",
              "%f": r"\d{6}"}


def _iso_shape(pattern: str) -> re.Pattern | None:
    """A regex of the cells that datetime.fromisoformat reads exactly as `pattern` would
    (strptime is ten times slower, which shows on a long series); None for other patterns."""
    if not re.fullmatch(r"%Y-%m-%d(?:[ T]%H:%M(?::%S(?:\.%f)?)?)?", pattern):
        return None
    return re.compile("".join(_ISO_PARTS.get(part, re.escape(part)) for part in re.split(r"(%[A-Za-z])", pattern) if part))


def _epoch(cell: str, where: str, scale: int, time_format: str) -> float:
    try:
        return _ms(float(cell) * scale / 1000)
    except ValueError:
        raise TimeSeriesError(f"{where}: {cell[:40]!r} does not match timeFormat {time_format!r}") from None


def _ms(seconds: float) -> float:
    ms = round(seconds * 1000, 3)
    return int(ms) if ms.is_integer() else ms


def _number(text: str | None, default: float) -> float:
    match = re.match(r"^\s*(\d+(?:\.\d+)?)", text or "")
    return float(match.group(1)) if match else default


# Drawing and regions


def downsample(time: list[float], values: list[float | None], points: int = DRAW_POINTS) -> tuple[list, list]:
    """At most about `points` points that look like the whole line: each bucket of rows
    keeps its first, lowest, highest and last value (so spikes stay visible)."""
    count = len(time)
    if count <= points:
        return list(time), list(values)
    buckets = max(1, points // 4)
    size = count / buckets
    keep: list[int] = []
    for b in range(buckets):
        lo, hi = int(b * size), min(count, int((b + 1) * size))
        if lo >= hi:
            continue
        chosen = {lo, hi - 1}
        present = [i for i in range(lo, hi) if values[i] is not None]
        if present:
            chosen.add(min(present, key=values.__getitem__))
            chosen.add(max(present, key=values.__getitem__))
        keep.extend(sorted(chosen))
    return [time[i] for i in keep], [values[i] for i in keep]


def snap(time: list[float], moment: float) -> float:
    """The time of the data nearest to `moment` (a region's ends are real times)."""
    if not time:
        return moment
    i = bisect.bisect_left(time, moment)
    if i <= 0:
        return time[0]
    if i >= len(time):
        return time[-1]
    return time[i] if time[i] - moment < moment - time[i - 1] else time[i - 1]


def region_range(series: Series, start: float, end: float, instant: bool) -> dict:
    """A region's geometry ("range"): start and end snapped to the data, instant when one point."""
    start, end = sorted((float(start), float(end)))
    a = snap(series.time, start)
    b = a if instant else snap(series.time, end)
    return {"start": a, "end": b, "instant": a == b}


def as_time(value) -> float | None:
    """A region end as a number of the time axis: numbers as they are, an ISO date (as some
    tools write Label Studio results) as ms since 1970; None when it is neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
        return _ms((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())
    return None


def describe(series: Series, region: dict) -> str:
    """'Run · 2020-01-01 10:00:00 – 10:05:00' for the region list; an instant: '@ time'."""
    labels = ", ".join(label for found in region.get("labels", {}).values() for label in found) or "no label"
    g = region["geometry"]
    start, end = format_time(series, as_time(g.get("start"))), format_time(series, as_time(g.get("end")))
    if g.get("instant") or start == end:
        return f"{labels} · @ {start}"
    day = start.split(" ")[0]
    if series.dates and " " in end and end.startswith(day + " "):  # the same day: say it once
        end = end[len(day) + 1:]
    return f"{labels} · {start} – {end}"


def format_time(series: Series, moment: float | None) -> str:
    """A time as people read it: a date for a timeFormat'ed column, else the number."""
    if moment is None:
        return ""
    if series.dates:
        stamp = datetime.fromtimestamp(float(moment) / 1000, tz=UTC)
        text = stamp.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        return text.removesuffix(".000").removesuffix(" 00:00:00")
    number = float(moment)
    return str(int(number)) if number.is_integer() else f"{number:.6g}"
