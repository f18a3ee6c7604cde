"""Fixtures for the pipeline tests: a subprocess CLI that finds this checkout, an emulator-backed env."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
SECRET = "pipeline-secret-Value-123"


def subprocess_env(**extra: str) -> dict[str, str]:
    """The test's environment (already stripped of real credentials), able to import this checkout."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    env.update(extra)
    return env


@pytest.fixture
def env(aep_env: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """AEP_* pointing at a fresh emulator, and the S3 credentials the test manifests reference."""
    monkeypatch.setenv("TEST_S3_KEY", "AKIAPIPELINEKEY")
    monkeypatch.setenv("TEST_S3_SECRET", SECRET)
    return aep_env
