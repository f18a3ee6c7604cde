"""Fixtures for the truth tests: AEP_* at a fresh emulator and the S3 keys the manifests use."""

from __future__ import annotations

from typing import Any

import pytest

SECRET = "truth-secret-Value-123"


@pytest.fixture
def env(aep_env: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("TEST_S3_KEY", "AKIATRUTHKEY")
    monkeypatch.setenv("TEST_S3_SECRET", SECRET)
    return aep_env
