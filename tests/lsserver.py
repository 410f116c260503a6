"""A real Label Studio on loopback for the tests.

Label Studio is installed once, with pip, into its own virtualenv
(~/.cache/labelkit-tests/ls-venv, or LABELKIT_TEST_LS_VENV) so its pinned
dependencies never touch ours, and started on a free port with SQLite in a throwaway
directory, a user and an API token. It is kept off the network: the version check,
analytics and Sentry are switched off, and every proxy variable points at a closed
loopback port, so anything that still tried to reach out would fail on 127.0.0.1."""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

VERSION = "1.23.2"
TOKEN = "labelkit-test-token-0123456789"
EMAIL = "labelkit@example.com"
# pip's words when it could not reach the package index (then the test is skipped, not failed).
_OFFLINE = ("NewConnectionError", "Max retries exceeded", "Temporary failure in name resolution",
            "Network is unreachable", "No matching distribution found", "Could not find a version")


class Offline(RuntimeError):
    """pip could not reach PyPI to install Label Studio."""


def venv() -> Path:
    """The virtualenv with Label Studio in it, installed on first use (a lock keeps two
    sessions from installing at once; a marker says which version finished installing)."""
    folder = Path(os.environ.get("LABELKIT_TEST_LS_VENV") or Path.home() / ".cache" / "labelkit-tests" / "ls-venv")
    done = folder / "labelkit-installed"
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f".{folder.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done.exists() and done.read_text() == VERSION:
            return folder
        shutil.rmtree(folder, ignore_errors=True)
        # The wheel lands where the template-library test looks for it: one download for both.
        if not _wheels(folder):
            _pip("download", "--no-deps", "-d", str(folder.parent), f"label-studio=={VERSION}")
        # No pip inside (Debian's python may lack ensurepip): ours installs into it with --python.
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True, timeout=300)
        try:
            _pip("--python", str(folder / "bin" / "python"), "install", str(_wheels(folder)[0]))
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        done.write_text(VERSION)
        return folder


def _wheels(folder: Path) -> list[Path]:
    given = os.environ.get("LABELKIT_TEST_LS_WHEEL")  # as the template-library test takes it
    return [Path(given)] if given else sorted(folder.parent.glob(f"label_studio-{VERSION}-*.whl"))


def _pip(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "pip", "--quiet", *args], check=False, capture_output=True, text=True,
                          timeout=900, env={**os.environ, "PIP_CONSTRAINT": ""})
    if done.returncode != 0:
        message = f"pip {' '.join(args)} failed:\n{done.stderr[-3000:]}"
        raise (Offline if any(w in done.stderr for w in _OFFLINE) else RuntimeError)(message)
    return done.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _closed_port() -> int:
    """A loopback port nothing listens on (the proxy every outgoing request is sent to)."""
    return _free_port()


class LabelStudio:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="labelkit-ls-"))
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self, folder: Path) -> LabelStudio:
        nowhere = f"http://127.0.0.1:{_closed_port()}"
        env = {
            "PATH": f"{folder / 'bin'}:/usr/bin:/bin", "HOME": str(self.dir), "LANG": "C.UTF-8",
            "LABEL_STUDIO_BASE_DATA_DIR": str(self.dir / "data"),
            "SENTRY_DSN": "", "FRONTEND_SENTRY_DSN": "",  # its default DSNs are sentry.io
            "LATEST_VERSION_CHECK": "false", "COLLECT_ANALYTICS": "false", "FEATURE_FLAGS_OFFLINE": "true",
            "SECRET_KEY": "labelkit-tests-only",
            **dict.fromkeys(("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"), nowhere),
            "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
        }
        self.log = open(self.dir / "label-studio.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [str(folder / "bin" / "label-studio"), "start", "--no-browser", "--internal-host", "127.0.0.1",
             "--port", str(self.port), "--host", self.url, "--username", EMAIL, "--password", "labelkit-tests-pass",
             "--user-token", TOKEN, "--enable-legacy-api-token"],
            stdout=self.log, stderr=subprocess.STDOUT, env=env, cwd=self.dir,
        )
        try:
            self._wait()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait(self) -> None:
        deadline = time.monotonic() + 240  # migrations on a busy 2-core machine take a while
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"Label Studio exited:\n{self.log_tail()}")
            try:
                if self.client().get("/api/projects/").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"Label Studio did not answer:\n{self.log_tail()}")
            time.sleep(1)

    def log_tail(self) -> str:
        path = self.dir / "label-studio.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Token {TOKEN}"}, timeout=120, trust_env=False)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
            self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
