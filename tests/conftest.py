"""Shared fixtures: no real credentials ever, a real emulator on a free port, the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from provisioner.cli import main
from tests.aep import child_env

REPO = Path(__file__).resolve().parent.parent

EMULATOR_CLIENT_ID = "test-client"
EMULATOR_CLIENT_SECRET = "test-client-secret-value"
EMULATOR_ORG_ID = "TESTORG0000000000000000@AdobeOrg"


@pytest.fixture(autouse=True)
def _no_real_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test may reach Adobe: drop every AEP_* variable and work in a temp directory."""
    for name in list(os.environ):
        if name.startswith("AEP_") or name == "GITHUB_STEP_SUMMARY":
            monkeypatch.delenv(name, raising=False)
    # Point the defaults somewhere that cannot answer, in case a test forgets the emulator.
    monkeypatch.setenv("AEP_PLATFORM_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AEP_IMS_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def emulator_factory() -> Iterator[Callable[..., Any]]:
    """Start real emulators (real HTTP on a free port); every one is stopped afterwards."""
    from provisioner.emulator import Emulator, EmulatorConfig

    started: list[Emulator] = []

    def start(**config: Any) -> Emulator:
        config.setdefault("port", 0)
        emu = Emulator(EmulatorConfig(**config))
        emu.start()
        started.append(emu)
        return emu

    yield start
    for emu in started:
        emu.stop()


@pytest.fixture
def emulator(emulator_factory: Callable[..., Any]) -> Any:
    return emulator_factory()


def point_env_at(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("AEP_CLIENT_ID", EMULATOR_CLIENT_ID)
    monkeypatch.setenv("AEP_CLIENT_SECRET", EMULATOR_CLIENT_SECRET)
    monkeypatch.setenv("AEP_ORG_ID", EMULATOR_ORG_ID)
    monkeypatch.setenv("AEP_PLATFORM_URL", url)
    monkeypatch.setenv("AEP_IMS_URL", url)


@pytest.fixture
def aep_env(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The environment of a user whose AEP_* variables point at the test emulator."""
    point_env_at(monkeypatch, emulator.url)
    return emulator


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """Run the real CLI in-process: cli("plan", "examples/") -> Result(code, out, err)."""

    def run(*argv: str) -> Result:
        capsys.readouterr()
        code = main(list(argv))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture
def run_cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    """`python -m provisioner ARGV` of this checkout as a real subprocess, run to completion.

    run_cli("plan", "m.yaml", cwd=tmp_path, env=...) -> CompletedProcess (stdout, stderr as text).
    `env` defaults to this process's environment; either way the checkout is put on PYTHONPATH.
    stdin is /dev/null unless `input=` or `stdin=` is given; output is captured unless
    `stdout=`/`stderr=` is given.
    """

    def run(
        *argv: str,
        cwd: Path | str | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 120,
        **kwargs: Any,
    ) -> subprocess.CompletedProcess[str]:
        if "input" not in kwargs:
            kwargs.setdefault("stdin", subprocess.DEVNULL)
        if "stdout" not in kwargs and "stderr" not in kwargs:
            kwargs["capture_output"] = True
        return subprocess.run(
            [sys.executable, "-m", "provisioner", *argv],
            cwd=cwd,
            env=child_env(env),
            text=True,
            timeout=timeout,
            check=False,
            **kwargs,
        )

    return run
