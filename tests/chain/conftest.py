"""Fixtures of the chain tests: the real emulator over HTTP, the CLI in-process, a chain manifest."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import point_env_at

REPO = Path(__file__).resolve().parents[2]
SECRETS = {
    "EXAMPLE_MARKETING_S3_ACCESS_KEY": "AKIAEXAMPLEMARKETING",
    "EXAMPLE_MARKETING_S3_SECRET_KEY": "chain-test-secret-1f9c",
    "EXAMPLE_FINANCE_S3_ACCESS_KEY": "AKIAEXAMPLEFINANCE",
    "EXAMPLE_FINANCE_S3_SECRET_KEY": "chain-test-secret-2a7d",
}


@pytest.fixture
def chain_env(emulator_factory: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    emu = emulator_factory()
    point_env_at(monkeypatch, emu.url)
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    return emu


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    """A copy of examples/ (the three connections and the chain) in the test's directory."""
    target = tmp_path / "m"
    target.mkdir()
    for name in ("connections.yaml", "chain.yaml"):
        (target / name).write_text((REPO / "examples" / name).read_text())
    return target


WRITE = re.compile(r"DEBUG provisioner\.http: (POST|PATCH|PUT|DELETE) (\S+) ")


def writes(err: str) -> list[tuple[str, str]]:
    """The writes an --debug run sent, as (method, path without the service base)."""
    out = []
    for method, path in WRITE.findall(err):
        if "/ims/" in path:
            continue
        out.append((method, re.sub(r"^/data/foundation/[a-z]+", "", path.split("?")[0])))
    return out
