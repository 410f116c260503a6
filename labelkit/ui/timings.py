"""Server-side time of script runs, for bench/ (LABELKIT_TIMINGS_FILE; off by default)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def timed(name: str) -> Iterator[None]:
    path = os.environ.get("LABELKIT_TIMINGS_FILE")
    started = time.perf_counter()
    try:
        yield
    finally:
        if path:
            with open(path, "a") as f:
                f.write(f"{name} {(time.perf_counter() - started) * 1000:.2f}\n")
