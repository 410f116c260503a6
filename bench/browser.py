"""e. The labeling loop as a person sees it: in headless Chromium, from the click on Submit
to the next task's text on screen, on a big project; and the server-side time of the
script run that shows it.
g. Cold start of `labelkit serve` to a healthy /_stcore/health; RSS idle and with 20 open
browser sessions."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
from playwright.sync_api import expect, sync_playwright

from bench.harness import Instance, Measure, Postgres, label_share, percentile
from tests.support import free_port

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
ANNOTATOR = ("looper@example.com", "looper password")
NEXT_TASK = """old => {
  const el = [...document.querySelectorAll('[data-testid="stCaptionContainer"]')]
    .find(e => e.innerText.startsWith('Task '));
  if (!el || el.innerText === old) return false;
  const id = Number(el.innerText.split(' ')[1]);
  return document.body.innerText.includes('Short review number ' + (id - 1) + ':');
}"""


def _serve(instance: Instance, port: int, timings: Path | None = None) -> tuple[subprocess.Popen, float]:
    env = dict(instance.env)
    if timings:
        env["LABELKIT_TIMINGS_FILE"] = str(timings)
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "labelkit.cli", "serve", "--port", str(port)], env=env,
                               cwd=instance.dir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/_stcore/health", timeout=1).status_code == 200:
                return process, time.perf_counter() - start
        except httpx.HTTPError:
            time.sleep(0.02)
        if process.poll() is not None:
            raise RuntimeError("labelkit serve stopped")


def _rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) / 1024


def _big_project(backend: str, postgres: Postgres | None, tasks_file: Path) -> tuple[Instance, int]:
    instance = Instance.create(backend, postgres)
    project_id = instance.project()
    instance.cli("import", str(project_id), str(tasks_file))
    label_share(instance, project_id, every=2)
    instance.cli("user", "create", ANNOTATOR[0], password=ANNOTATOR[1])
    from labelkit.auth.accounts import find_user
    from labelkit.db import session_scope
    from labelkit.models import Membership

    instance.use()
    with session_scope() as s:
        s.add(Membership(project_id=project_id, user_id=find_user(s, ANNOTATOR[0]).id, role="annotator"))
    return instance, project_id


def _sign_in(page, base: str) -> None:
    page.goto(base)
    page.get_by_label("Email", exact=True).fill(ANNOTATOR[0])
    page.get_by_label("Password", exact=True).fill(ANNOTATOR[1])
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Sign out").wait_for(timeout=30_000)


def _loop(page, base: str, project_id: int, rounds: int) -> list[float]:
    page.goto(f"{base}/label?project={project_id}")
    page.get_by_role("button", name="Submit").wait_for(timeout=30_000)
    times = []
    for i in range(rounds + 5):
        caption = page.locator('[data-testid="stCaptionContainer"]').filter(has_text="Task ").first
        old = caption.inner_text()
        page.locator('button[kind="secondary"]').filter(has_text="Positive").first.click()
        page.locator('button[kind="primary"]').filter(has_text="Positive").first.wait_for()
        submit = page.locator(".st-key-lk_submit button")
        expect(submit).to_have_count(1)  # the choice's rerun is over
        start = time.perf_counter()
        submit.first.click()
        page.wait_for_function(NEXT_TASK, arg=old, polling="raf", timeout=30_000)
        if i >= 5:  # the first rounds warm caches up
            times.append((time.perf_counter() - start) * 1000)
    return times


def run(backend: str, postgres: Postgres | None, tasks_file: Path, count: int, rounds: int, repeat: int) -> list[Measure]:
    size = f"{count:,} tasks, half labeled"
    p50 = Measure("e. Submit → next task on screen, p50", backend, size, "ms", target="≤ 150 ms")
    p95 = Measure("e. Submit → next task on screen, p95", backend, size, "ms")
    script = Measure("e. server-side run of the task area, p50", backend, size, "ms")
    cold = Measure("g. cold start to a healthy /_stcore/health", backend, size, "s", target="≤ 5 s")
    idle = Measure("g. server RSS, idle", backend, size, "MB")
    busy = Measure("g. server RSS, 20 open browser sessions", backend, size, "MB")
    instance, project_id = _big_project(backend, postgres, tasks_file)
    try:
        for _ in range(repeat):
            port = free_port()
            timings = instance.dir / "timings.txt"
            timings.unlink(missing_ok=True)
            server, started = _serve(instance, port, timings)
            try:
                cold.values.append(started)
                time.sleep(2)
                idle.values.append(_rss_mb(server.pid))
                base = f"http://localhost:{port}"
                with sync_playwright() as p:
                    browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
                    context = browser.new_context(viewport={"width": 1400, "height": 1000})
                    page = context.new_page()
                    _sign_in(page, base)
                    lines_before = len(timings.read_text().splitlines()) if timings.exists() else 0
                    times = _loop(page, base, project_id, rounds)
                    p50.values.append(percentile(times, 0.5))
                    p95.values.append(percentile(times, 0.95))
                    runs = [float(line.split()[1]) for line in timings.read_text().splitlines()[lines_before:]
                            if line.startswith("label-task ")]
                    script.values.append(statistics.median(runs) if runs else float("nan"))
                    pages = [context.new_page() for _ in range(19)]
                    for extra in pages:
                        extra.goto(f"{base}/label?project={project_id}")
                    for extra in pages:
                        extra.get_by_role("button", name="Submit").wait_for(timeout=60_000)
                    time.sleep(1)
                    busy.values.append(_rss_mb(server.pid))
                    browser.close()
            finally:
                server.terminate()
                server.wait(timeout=30)
    finally:
        instance.remove()
    p50.met = p50.median <= 150
    cold.met = cold.median <= 5
    p50.note = f"{rounds} tasks per run"
    return [p50, p95, script, cold, idle, busy]
