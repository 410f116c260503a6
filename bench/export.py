"""f. Export of a big project (every 10th task annotated) through `labelkit export`:
seconds and peak RSS of the process, per format."""

from __future__ import annotations

from pathlib import Path

from bench.harness import Instance, Measure, Postgres, label_share

FORMATS = ("JSON", "CSV", "HF_PARQUET", "HF_JSONL")


def run(backend: str, postgres: Postgres | None, tasks_file: Path, count: int, repeat: int) -> list[Measure]:
    size = f"{count:,} tasks, {count // 10:,} annotations"
    measures: list[Measure] = []
    instance = Instance.create(backend, postgres)
    try:
        project_id = instance.project()
        instance.cli("import", str(project_id), str(tasks_file))
        label_share(instance, project_id, every=10)
        for fmt in FORMATS:
            seconds = Measure(f"f. export to {fmt}", backend, size, "s", target="≤ 15 s" if fmt == "JSON" else "")
            memory = Measure(f"f. export to {fmt}: peak RSS", backend, size, "MB", target="≤ 300 MB" if fmt == "JSON" else "")
            for _ in range(repeat):
                elapsed, rss_mb = instance.timed_cli(
                    "export", str(project_id), "--format", fmt, "--out", str(instance.dir / f"out.{fmt.lower()}")
                )
                seconds.values.append(elapsed)
                memory.values.append(rss_mb)
            if fmt == "JSON":
                seconds.met = seconds.median <= 15
                memory.met = memory.median <= 300
            measures += [seconds, memory]
        coco = Measure("f. export to COCO (an image project)", backend, size, "s")
        coco.note = "not measured: the COCO exporter comes with the data-formats issue"
        measures.append(coco)
    finally:
        instance.remove()
    return measures
