"""Fixtures for the reliability suite: counted faults, real CLI subprocesses, figures to report."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.aep import child_env
from tests.conftest import point_env_at
from tests.reliability.helpers import SECRET, FaultCounter


@pytest.fixture
def counted() -> Callable[[Any], FaultCounter]:
    return FaultCounter


@pytest.fixture
def env_for(monkeypatch: pytest.MonkeyPatch) -> Callable[[Any], Any]:
    """Point the AEP_* variables (of this process and of children) at an emulator."""

    def point(emu: Any) -> Any:
        point_env_at(monkeypatch, emu.url)
        monkeypatch.setenv("TEST_S3_KEY", "AKIAEXAMPLEKEY")
        monkeypatch.setenv("TEST_S3_SECRET", SECRET)
        return emu

    return point


@pytest.fixture
def spawn_cli() -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """Start `python -m provisioner ARGV` (this checkout); every process is killed afterwards."""
    procs: list[subprocess.Popen[str]] = []

    def start(
        *argv: str, cwd: Path | None = None, env: dict[str, str] | None = None
    ) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "provisioner", *argv],
            cwd=cwd,
            env=child_env(env),
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


