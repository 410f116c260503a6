"""Helpers the test suites share (imported as tests.support)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import NoReturn

import pytest
from sqlalchemy import create_engine, text

BACKENDS = ["sqlite"] if os.environ.get("LABELKIT_TEST_SKIP_POSTGRES") == "1" else ["sqlite", "postgresql"]
# .ci/run sets LABELKIT_TEST_STRICT=1: there, a test whose tool or side environment is missing
# fails with the reason instead of skipping, so CI never passes with a part quietly untested.
STRICT = os.environ.get("LABELKIT_TEST_STRICT") == "1"


def unavailable(reason: str) -> NoReturn:
    """Skip a test whose tool or side environment cannot be had here; fail it on CI (STRICT)."""
    if STRICT:
        pytest.fail(f"{reason} (LABELKIT_TEST_STRICT=1: CI must have it)", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_bin() -> Path | None:
    for version in ("17", "16", "15", "14", "13"):
        candidate = Path(f"/usr/lib/postgresql/{version}/bin")
        if (candidate / "initdb").exists():
            return candidate
    return None


class PostgresServer:
    """A throwaway PostgreSQL on 127.0.0.1 (as the postgres user when run as root)."""

    def __init__(self) -> None:
        self.bin = _pg_bin()
        if self.bin is None:
            raise RuntimeError("PostgreSQL is not installed: apt-get install postgresql, or set LABELKIT_TEST_SKIP_POSTGRES=1")
        self.dir = Path(tempfile.mkdtemp(prefix="labelkit-pg-"))
        self.port = free_port()
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_postgres:
            shutil.chown(self.dir, "postgres")

    def start(self) -> str:
        subprocess.run([*self.as_postgres, str(self.bin / "initdb"), "-D", str(self.dir / "data"), "-A", "trust", "-U", "postgres"],
                       check=True, capture_output=True)
        self.resume()
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/postgres"

    def pause(self) -> None:
        """Stop the server (fast: connections are cut), keeping its data; resume() starts it again."""
        subprocess.run([*self.as_postgres, str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop"],
                       check=True, capture_output=True)

    def resume(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        subprocess.run([*self.as_postgres, str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-l", str(self.dir / "log"),
                        "-w", "start", "-o", options], check=True, capture_output=True)

    def stop(self) -> None:
        subprocess.run([*self.as_postgres, str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate", "stop"],
                       capture_output=True, check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


def create_database(server_url: str, name: str) -> str:
    """A new, empty database on the test server; returns its URL."""
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server_url.rsplit("/", 1)[0] + f"/{name}"


def wait_for_port(port: int, timeout: float = 30.0, host: str = "127.0.0.1") -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex((host, port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {host}:{port}")


_PEAK = """
import atexit, os, sys
def _peak():
    with open("/proc/self/status") as f:
        kb = next(line for line in f if line.startswith("VmHWM")).split()[1]
    with open(os.environ["LABELKIT_PEAK_FILE"], "w") as f:
        f.write(kb)
atexit.register(_peak)
from labelkit.cli import main
sys.argv = ["labelkit", *sys.argv[1:]]
main()
"""


def run_cli_measured(args: list[str], env: dict, cwd: str | None = None) -> tuple[float, float]:
    """Run `labelkit ARGS` in a new process: (seconds, its own peak RSS in MB).

    The peak is VmHWM, read by the process itself: ru_maxrss of a child would count
    the memory of the parent it was forked from."""
    with tempfile.NamedTemporaryFile("r", suffix=".peak") as peak:
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", _PEAK, *args], env=dict(env, LABELKIT_PEAK_FILE=peak.name),
                              cwd=cwd, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"labelkit {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
        return elapsed, int(Path(peak.name).read_text()) / 1024


def self_signed_certificate(folder: Path, name: str = "localhost", loopback_ip: bool = True) -> tuple[Path, Path]:
    """A certificate for the DNS name `name` (and 127.0.0.1 with `loopback_ip`), signed by
    its own key: folder/fullchain.pem and folder/privkey.pem, as certbot names them."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    alternatives = [x509.DNSName(name)] + ([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))] if loopback_ip else [])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(alternatives), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "fullchain.pem", folder / "privkey.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def reply(handler: BaseHTTPRequestHandler, body: bytes, status: int = 200) -> None:
    """A loopback test server's answer: the status, the length and the body."""
    handler.send_response(status)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)
