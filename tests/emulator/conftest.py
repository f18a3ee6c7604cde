"""Fixtures of the emulator tests: a fresh emulator and a validating caller of it."""

from __future__ import annotations

from typing import Any

import pytest
from emulator_helpers import Api


@pytest.fixture
def api(emulator: Any) -> Api:
    return Api(emulator.url)
