"""c. The queue on a big project, half of it labeled: claim_next and submit latency through
the service layer, against a bare indexed SELECT + UPDATE in the same run.
d. Many annotators at once (processes through the service layer): annotations/s, and
tasks that got more annotations than the overlap or none at all."""

from __future__ import annotations

import multiprocessing
import time

from sqlalchemy import text

from bench.harness import Instance, Measure, Postgres, label_share, percentile

RESULT = [{"id": "q1", "from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["Neutral"]}}]


def _annotator(instance: Instance, project_id: int, email: str):
    from labelkit.auth.accounts import create_user
    from labelkit.db import session_scope
    from labelkit.models import Membership

    with session_scope() as s:
        user = create_user(s, email, password="annotator password")
        s.add(Membership(project_id=project_id, user_id=user.id, role="annotator"))
    return user


def _loop(user, project_id: int, calls: int) -> tuple[list[float], list[float]]:
    from labelkit.db import session_scope
    from labelkit.labeling import queue, submissions

    claims, submits = [], []
    for _ in range(calls):
        start = time.perf_counter()
        with session_scope() as s:
            task = queue.claim_next(s, user, project_id).task
        middle = time.perf_counter()
        with session_scope() as s:
            submissions.submit(s, user, task.id, RESULT)
        claims.append((middle - start) * 1000)
        submits.append((time.perf_counter() - middle) * 1000)
    return claims, submits


def _floor(project_id: int, calls: int) -> list[float]:
    """The bare database: the first open task by the same index, then mark it."""
    from labelkit.db import get_engine, is_sqlite

    engine = get_engine()
    done = "1" if is_sqlite(engine) else "true"
    open_ = "done = 0" if is_sqlite(engine) else "NOT done"
    times = []
    with engine.connect() as conn:
        for _ in range(calls):
            start = time.perf_counter()
            with conn.begin():
                task_id = conn.execute(text(
                    f"SELECT id FROM tasks WHERE project_id = :p AND {open_} AND deleted_at IS NULL ORDER BY id LIMIT 1"
                ), {"p": project_id}).scalar()
                conn.execute(text(f"UPDATE tasks SET total_annotations = total_annotations + 1, done = {done} WHERE id = :t"),
                             {"t": task_id})
            times.append((time.perf_counter() - start) * 1000)
    return times


def _uncertain(instance: Instance, project_id: int) -> None:
    """Every task predicted, with an uncertainty spread over 0..1, and the project serving
    the least certain first (active learning), as a model run would leave it."""
    from labelkit.db import session_scope

    instance.use()
    spread = "(abs(random()) % 1000000) / 1000000.0" if instance.backend == "sqlite" else "random()"
    with session_scope() as s:
        s.execute(text(f"UPDATE tasks SET uncertainty = {spread} WHERE project_id = :p"), {"p": project_id})
        s.execute(text("UPDATE projects SET sampling = 'uncertainty' WHERE id = :p"), {"p": project_id})
        if instance.backend == "postgresql":
            s.execute(text("ANALYZE tasks"))


def run_latency(backend: str, postgres: Postgres | None, tasks_file, count: int, calls: int, repeat: int,
                sampling: str = "sequential") -> list[Measure]:
    size = f"{count:,} tasks, half labeled" + (", least certain first" if sampling == "uncertainty" else "")
    claim_target = "≤ 5 ms" if backend == "sqlite" else "≤ 10 ms"
    claim = Measure("c. claim_next p95", backend, size, "ms", target=claim_target)
    claim50 = Measure("c. claim_next p50", backend, size, "ms")
    submit = Measure("c. submit p95", backend, size, "ms", target="≤ 10 ms")
    submit50 = Measure("c. submit p50", backend, size, "ms")
    ratio = Measure("c. claim + submit p50 / bare SELECT + UPDATE p50", backend, size, "×")
    instance = Instance.create(backend, postgres)
    try:
        project_id = instance.project()
        instance.cli("import", str(project_id), str(tasks_file))
        label_share(instance, project_id, every=2)
        if sampling == "uncertainty":
            _uncertain(instance, project_id)
        for round_ in range(repeat):
            user = _annotator(instance, project_id, f"annotator{round_}@example.com")
            claims, submits = _loop(user, project_id, calls)
            floor = _floor(project_id, calls)
            claim.values.append(percentile(claims, 0.95))
            claim50.values.append(percentile(claims, 0.5))
            submit.values.append(percentile(submits, 0.95))
            submit50.values.append(percentile(submits, 0.5))
            ratio.values.append((percentile(claims, 0.5) + percentile(submits, 0.5)) / percentile(floor, 0.5))
    finally:
        instance.remove()
    claim.met = claim.median <= (5 if backend == "sqlite" else 10)
    submit.met = submit.median <= 10
    claim.note = f"{calls:,} calls per run"
    return [claim50, claim, submit50, submit, ratio]


def _worker(env: dict, user_id: int, project_id: int, results) -> None:
    import os

    from labelkit import db
    from labelkit.db import session_scope
    from labelkit.labeling import queue, submissions
    from labelkit.models import User
    from labelkit.settings import get_settings

    os.environ.update({k: v for k, v in env.items() if k.startswith("LABELKIT_")})
    get_settings.cache_clear()
    db._engine_for.cache_clear()
    with session_scope() as s:
        user = s.get(User, user_id)
    done = 0
    while True:  # as the labeling page does: claim, label, submit
        with session_scope() as s:
            found = queue.claim_next(s, user, project_id)
        if found is None:
            break
        with session_scope() as s:
            done += submissions.submit(s, user, found.task.id, RESULT).counted
    results.put(done)


def run_concurrency(backend: str, postgres: Postgres | None, workers: int, overlap: int, tasks: int, repeat: int) -> list[Measure]:
    size = f"{workers} annotators, overlap {overlap}, {tasks:,} tasks"
    rate = Measure("d. annotations/s", backend, size, "annotations/s",
                   target="≥ 500 (16 on PostgreSQL)" if backend == "postgresql" and workers >= 16 else "")
    wrong = Measure("d. tasks over the overlap or short of it", backend, size, "tasks", target="0")
    context = multiprocessing.get_context("fork")
    for round_ in range(repeat):
        instance = Instance.create(backend, postgres)
        try:
            project_id = int(instance.cli("project", "create", "--title", "Crowd", "--config",
                                          str(instance.dir / "config.xml"), "--overlap", str(overlap)))
            path = instance.dir / "crowd.jsonl"
            path.write_text("".join(f'{{"text": "crowd task {i}"}}\n' for i in range(tasks)))
            instance.cli("import", str(project_id), str(path))
            instance.use()
            people = [_annotator(instance, project_id, f"crowd{round_}-{i}@example.com").id for i in range(workers)]
            from labelkit.db import get_engine

            get_engine().dispose()
            results = context.Queue()
            processes = [context.Process(target=_worker, args=(instance.env, uid, project_id, results)) for uid in people]
            start = time.perf_counter()
            for p in processes:
                p.start()
            made = sum(results.get(timeout=1800) for _ in processes)
            elapsed = time.perf_counter() - start
            for p in processes:
                p.join()
            rate.values.append(made / elapsed)
            wrong.values.append(_wrong_tasks(overlap))
        finally:
            instance.remove()
    rate.met = rate.median >= 500 if rate.target else None
    wrong.met = max(wrong.values) == 0
    return [rate, wrong]


def _wrong_tasks(overlap: int) -> int:
    from labelkit.db import get_engine

    with get_engine().connect() as conn:
        return conn.execute(text(
            "SELECT count(*) FROM tasks t WHERE (SELECT count(*) FROM annotations a "
            "WHERE a.task_id = t.id AND a.state = 'submitted') <> :o"), {"o": overlap}).scalar()
