"""bench/RESULTS.md: the table, with the machine, the date and the command."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from bench.harness import Measure, fmt


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        memory = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, IndexError, ValueError):
        pass
    return f"{os.cpu_count()} cores ({cpu}){memory}, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).parent, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def table(measures: list[Measure]) -> str:
    lines = [
        "| scenario | database | size | median | spread (min–max) | target | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for m in measures:
        met = "" if m.met is None else ("yes" if m.met else "**no**")
        value = f"{fmt(m.median)} {m.unit}" if m.values else m.note
        note = f" ({m.note})" if m.note and m.values else ""
        lines.append(f"| {m.scenario}{note} | {m.backend} | {m.size} | {value} | {m.spread if m.values else ''} | {m.target} | {met} |")
    return "\n".join(lines)


def write(path: Path, measures: list[Measure], command: str, seconds: float) -> None:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = f"""# labelkit benchmarks

Written by `python -m bench`; do not edit by hand.

- Machine: {machine()}
- Date: {when}, commit {_commit()}
- Command: `{command}` ({seconds / 60:.0f} minutes)
- Each figure is the median of the runs; the spread is their minimum and maximum.

{table(measures)}
"""
    path.write_text(body)
