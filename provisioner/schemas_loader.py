"""Loads the project's JSON Schemas, from the installed wheel or from the repository checkout."""

from __future__ import annotations

import functools
import json
from importlib import resources
from pathlib import Path
from typing import Any

# In a wheel the top-level schemas/ directory is shipped as provisioner/schemas (see
# pyproject.toml); an editable install or a plain checkout only has the top-level one.
_REPO_SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"


def path(name: str) -> Path:
    """The file of the schema called `name` (e.g. "manifest.schema.json")."""
    packaged = resources.files("provisioner").joinpath("schemas", name)
    if packaged.is_file():
        return Path(str(packaged))
    return _REPO_SCHEMAS / name


@functools.cache
def _load(name: str) -> str:
    return path(name).read_text(encoding="utf-8")


def load(name: str) -> dict[str, Any]:
    """The parsed schema `name`; a fresh copy each call, so callers may not corrupt the cache."""
    data: dict[str, Any] = json.loads(_load(name))
    return data
