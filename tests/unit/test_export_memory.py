"""Structural speed: an export streams, so its memory does not grow with the project."""

from __future__ import annotations

import json
import os

from labelkit.models import Role
from tests.support import run_cli_measured


def _peak_rss_mb(args: list[str]) -> float:
    return run_cli_measured(args, dict(os.environ))[1]


def test_export_memory_stays_flat_from_10k_to_100k_tasks(factory, tmp_path) -> None:
    admin = factory.user(Role.ADMIN)
    peaks = {}
    for count in (10_000, 100_000):
        project = factory.project(admin, title=f"Size {count}")
        factory.tasks(project, admin, [{"text": f"task {i} " + "x" * 200} for i in range(count)])
        for fmt in ("JSON", "CSV"):
            out = tmp_path / f"{count}.{fmt.lower()}"
            peaks[count, fmt] = _peak_rss_mb(["export", str(project.id), "--format", fmt, "--out", str(out)])
            if fmt == "JSON":
                assert len(json.loads(out.read_text())) == count
    for fmt in ("JSON", "CSV"):
        # 90,000 more tasks are ~20 MB more output; holding them would show as growth.
        assert peaks[100_000, fmt] - peaks[10_000, fmt] < 10, peaks
