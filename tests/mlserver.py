"""Model servers on loopback for the tests: labelkit's example server, run by uvicorn in a
thread of the test process (so a test can look at what it learned), with switches that make
its /predict misbehave the ways real servers do; and a backend built with Label Studio's
own label-studio-ml package from PyPI, in a side virtualenv."""

from __future__ import annotations

import asyncio
import fcntl
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Self

import httpx
import uvicorn
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse

from labelkit.ml.example_server import ExampleServer

LS_ML_VERSION = "1.0.9"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TestModelServer(ExampleServer):
    """The example server; `mode` makes /predict answer 500, garbage, too few results, or
    slowly (`delay` seconds); `requests` counts the tasks of each /predict call."""

    __test__ = False

    def __init__(self) -> None:
        super().__init__()
        self.mode = "ok"
        self.delay = 0.0
        self.batches: list[int] = []
        self.setups = 0
        self.predict_calls = 0  # counted when they arrive (batches: when answered)
        self.fail_after = None  # answer 500 once this many /predict calls succeeded

    async def setup(self, request: Request):
        self.setups += 1
        return await super().setup(request)

    async def predict(self, request: Request):
        body = await request.json()
        self.predict_calls += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.mode == "500" or (self.fail_after is not None and len(self.batches) >= self.fail_after):
            return PlainTextResponse("model exploded", status_code=500)
        if self.mode == "garbage":
            return PlainTextResponse("<html>not json</html>")
        self.batches.append(len(body.get("tasks") or []))
        model = self.model(body.get("project"), body.get("label_config"))
        results = [model.predict(t) for t in body.get("tasks") or []]
        if self.mode == "short":
            results = results[:-1]
        return JSONResponse({"results": results})


class Running:
    """A Starlette app served on a free loopback port in a thread."""

    def __init__(self, app) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test model server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.server.force_exit = True  # do not wait for a request a test made slow on purpose
        self.thread.join(10)


# --- label-studio-ml from PyPI ---------------------------------------------------------

_BACKEND = '''
from label_studio_ml.api import init_app
from label_studio_ml.model import LabelStudioMLBase

class KeywordModel(LabelStudioMLBase):
    """Calls a review Positive when it says 'good', else Negative; sure of it 0.8."""

    def predict(self, tasks, **kwargs):
        out = []
        for task in tasks:
            label = "Positive" if "good" in task["data"]["text"].lower() else "Negative"
            out.append({"result": [{"from_name": "sentiment", "to_name": "text", "type": "choices",
                                    "value": {"choices": [label]}}], "score": 0.8})
        return out

if __name__ == "__main__":
    import sys
    init_app(KeywordModel, model_dir=sys.argv[3]).run(host="127.0.0.1", port=int(sys.argv[2]))
'''


def label_studio_ml_venv() -> Path:
    """A virtualenv with label-studio-ml 1.0.9 (and rq, which it imports but does not
    require), installed on first use under ~/.cache/labelkit-tests. Raises RuntimeError
    with pip's words when it cannot be installed."""
    folder = Path(os.environ.get("LABELKIT_TEST_LS_ML_VENV") or Path.home() / ".cache" / "labelkit-tests" / "ls-ml-venv")
    done = folder / "labelkit-installed"
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f".{folder.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done.exists() and done.read_text() == LS_ML_VERSION:
            return folder
        shutil.rmtree(folder, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True, timeout=300)
        installed = subprocess.run(
            [sys.executable, "-m", "pip", "--quiet", "--python", str(folder / "bin" / "python"), "install",
             f"label-studio-ml=={LS_ML_VERSION}", "rq"],
            check=False, capture_output=True, text=True, timeout=900, env={**os.environ, "PIP_CONSTRAINT": ""},
        )
        if installed.returncode != 0:
            shutil.rmtree(folder, ignore_errors=True)
            raise RuntimeError(f"pip could not install label-studio-ml {LS_ML_VERSION}: {installed.stderr[-2000:]}")
        done.write_text(LS_ML_VERSION)
        return folder


class LabelStudioMLBackend:
    """The keyword model above, served by label-studio-ml's own Flask app."""

    def __init__(self, venv: Path, workdir: Path) -> None:
        self.venv, self.workdir = venv, workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Self:
        script = self.workdir / "keyword_backend.py"
        script.write_text(textwrap.dedent(_BACKEND))
        (self.workdir / "models").mkdir(exist_ok=True)
        self.log = open(self.workdir / "backend.log", "w")
        self.process = subprocess.Popen(
            [str(self.venv / "bin" / "python"), str(script), "127.0.0.1", str(self.port), str(self.workdir / "models")],
            cwd=self.workdir, stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"label-studio-ml did not start: {(self.workdir / 'backend.log').read_text()[-2000:]}")
            time.sleep(0.2)

    def __exit__(self, *exc) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()
