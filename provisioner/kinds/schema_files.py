"""The kinds' JSON Schema fragments, shipped beside their modules as NAME.schema.json."""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any


@functools.cache
def _text(name: str) -> str:
    return resources.files("provisioner.kinds").joinpath(f"{name}.schema.json").read_text("utf-8")


def fragment(name: str) -> dict[str, Any]:
    """A fresh copy of the fragment `name` (callers may change it)."""
    data: dict[str, Any] = json.loads(_text(name))
    return data
