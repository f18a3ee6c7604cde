"""Fixtures for the state tests: real Python subprocesses (killed afterwards) and the CLI."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from state_helpers import python_env


@pytest.fixture
def spawn() -> Any:
    """Start `python -c CODE` (the project importable); every process is killed afterwards."""
    procs: list[subprocess.Popen[str]] = []

    def start(code: str, *args: str, **kwargs: Any) -> subprocess.Popen[str]:
        kwargs.setdefault("stdin", subprocess.PIPE)
        kwargs.setdefault("stdout", subprocess.PIPE)
        kwargs.setdefault("stderr", subprocess.PIPE)
        proc = subprocess.Popen(
            [sys.executable, "-c", code, *args], text=True, env=python_env(), **kwargs
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


