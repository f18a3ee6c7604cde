"""Helpers for the manifest tests: write manifests into the test's temp directory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

VALID = """\
version: 1
connections:
  marketing-landing:
    type: amazon-s3
    name: Marketing landing bucket
    description: Raw campaign exports
    auth:
      specName: Access Key
      params:
        s3AccessKey: ${env:MARKETING_S3_ACCESS_KEY}
        s3SecretKey: ${env:MARKETING_S3_SECRET_KEY}
        bucketName: acme-marketing
"""

ENV = {
    "MARKETING_S3_ACCESS_KEY": "AKIAFAKEACCESSKEY",
    "MARKETING_S3_SECRET_KEY": "fake-secret-value-123",
}


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str | bytes], str]:
    """write("a.yaml", text) -> "a.yaml" (relative to the current directory, tmp_path)."""

    def _write(name: str, content: str | bytes) -> str:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return name

    return _write
