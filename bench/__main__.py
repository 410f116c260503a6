"""python -m bench: measure labelkit and write bench/RESULTS.md.

Defaults finish in a few minutes on 2 cores (100,000 tasks); --full runs the sizes the
targets are set at (1,000,000 tasks). Every figure is the median of --repeat runs, with
their spread."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from bench import browser, export, queue, report, store
from bench.harness import Measure, Postgres, write_tasks

SCENARIOS = ("import", "queue", "concurrency", "ui", "export")
EXTRA = ("active",)  # run when named: --scenarios active


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--backends", default="sqlite,postgresql", help="sqlite, postgresql or both (default)")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help=f"any of: {', '.join(SCENARIOS + EXTRA)}")
    parser.add_argument("--tasks", type=int, default=100_000, help="project size for import, queue, ui, export")
    parser.add_argument("--full", action="store_true", help="the target sizes: 1,000,000 tasks (and 100,000 for import too)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median and spread)")
    parser.add_argument("--calls", type=int, default=1000, help="claim/submit calls per queue run")
    parser.add_argument("--rounds", type=int, default=100, help="tasks per labeling-loop run in the browser")
    parser.add_argument("--crowd-tasks", type=int, default=2000, help="tasks in the concurrency scenario")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("RESULTS.md"))
    args = parser.parse_args(argv)

    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    size = 1_000_000 if args.full else args.tasks
    work = Path(tempfile.gettempdir()) / "labelkit-bench"
    work.mkdir(exist_ok=True)
    postgres = Postgres() if "postgresql" in backends else None
    measures: list[Measure] = []
    started = time.time()
    try:
        big = write_tasks(work / f"tasks-{size}.jsonl", size)
        for backend in backends:
            pg = postgres if backend == "postgresql" else None
            if "import" in scenarios:
                sizes = sorted({100_000, size}) if args.full else [size]
                for n in sizes:
                    path = write_tasks(work / f"tasks-{n}.jsonl", n)
                    measures += _safely("a. import", backend, lambda backend=backend, pg=pg, path=path, n=n: store.run(backend, pg, path, n, args.repeat))
            if "queue" in scenarios:
                measures += _safely("c. queue", backend, lambda backend=backend, pg=pg: queue.run_latency(backend, pg, big, size, args.calls, args.repeat))
            if "active" in scenarios:
                measures += _safely("c. queue, least certain first", backend, lambda backend=backend, pg=pg: queue.run_latency(
                    backend, pg, big, size, args.calls, args.repeat, sampling="uncertainty"))
            if "concurrency" in scenarios:
                workers = 16 if backend == "postgresql" else 4
                for overlap in (1, 3):
                    measures += _safely("d. concurrency", backend, lambda backend=backend, pg=pg, workers=workers, overlap=overlap: queue.run_concurrency(
                        backend, pg, workers, overlap, args.crowd_tasks, args.repeat))
            if "ui" in scenarios:
                measures += _safely("e/g. browser", backend, lambda backend=backend, pg=pg: browser.run(backend, pg, big, size, args.rounds, args.repeat))
            if "export" in scenarios:
                measures += _safely("f. export", backend, lambda backend=backend, pg=pg: export.run(backend, pg, big, size, args.repeat))
    finally:
        if postgres:
            postgres.stop()
    command = "python -m bench " + " ".join(argv if argv is not None else sys.argv[1:])
    report.write(args.out, measures, command.strip(), time.time() - started)
    print(f"wrote {args.out}")
    return 0


def _safely(name: str, backend: str, run) -> list[Measure]:
    """A scenario that fails is reported as such; the others still run."""
    try:
        return _say(run())
    except Exception as e:  # noqa: BLE001
        failed = Measure(name, backend, "", "")
        failed.note = f"failed: {type(e).__name__}: {str(e).splitlines()[0][:200]}"
        failed.met = False
        print(f"{backend:10} {name}: {failed.note}", flush=True)
        return [failed]


def _say(measures: list[Measure]) -> list[Measure]:
    for m in measures:
        flag = "" if m.met is None else (" ✓" if m.met else " ✗ MISSED")
        print(f"{m.backend:10} {m.scenario:55} {m.size:32} {m.median:12.2f} {m.unit}{flag}", flush=True)
    return measures


if __name__ == "__main__":
    sys.exit(main())
