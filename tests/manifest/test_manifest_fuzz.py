"""Whatever a manifest file holds, loading it ends in Manifests or a ManifestError, and validate
exits 0 or 1 with sentences, never a traceback or an internal error."""

from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provisioner import manifest
from provisioner.cli import main
from provisioner.errors import ManifestError

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

YAMLISH = st.lists(
    st.sampled_from(
        list(" \n\t:-[]{},&*!|>'\"#%@`?$")
        + ["\x07", "\ufeff", "é", "<<", "---", "..."]
        + ["version", "connections", "type", "name", "auth", "specName", "params", "1"]
        + ["amazon-s3", "Access Key", "${env:X}", "${env:", "s3SecretKey", "a", "  ", "\n  "]
        + ["&a ", "*a", "<<: *a", "!!str ", "!x "]
    ),
    max_size=60,
).map("".join)

KEYS = st.sampled_from(
    [
        "version",
        "sandbox",
        "connections",
        "a",
        "b-1",
        "Bad",
        "type",
        "name",
        "description",
        "protect",
        "auth",
        "specName",
        "params",
        "s3AccessKey",
        "s3SecretKey",
        "bucketName",
    ]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from(
        ["amazon-s3", "Access Key", "IAMRole Based", "${env:X}", "${env:}", "", "prod"]
    ),
    st.text(max_size=6),
)
STRUCTURES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(KEYS, inner, max_size=4)),
    max_leaves=25,
)


def load_file(content: bytes) -> manifest.Manifests | ManifestError:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.yaml"
        path.write_bytes(content)
        try:
            return manifest.load(
                [str(path)], sandbox_override=None, default_sandbox="prod", environ={"X": "x"}
            )
        except ManifestError as exc:  # anything else fails the test
            assert exc.problems
            for problem in exc.problems:
                assert problem.line >= 1 and problem.column >= 1
                assert problem.message.endswith(".")
            return exc


def validate_file(content: bytes) -> tuple[int, str]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.yaml"
        path.write_bytes(content)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["validate", str(path)])
        return code, err.getvalue()


@pytest.mark.slow
@FUZZ
@given(YAMLISH)
def test_yamlish_text(text: str) -> None:
    load_file(text.encode("utf-8"))
    code, err = validate_file(text.encode("utf-8"))
    assert code in (0, 1)
    assert "internal error (" not in err and "Traceback" not in err


@pytest.mark.slow
@FUZZ
@given(st.binary(max_size=40))
def test_arbitrary_bytes(data: bytes) -> None:
    load_file(data)


@pytest.mark.slow
@FUZZ
@given(st.dictionaries(KEYS, STRUCTURES, max_size=4))
def test_random_structures(doc: dict[str, Any]) -> None:
    text = yaml.safe_dump(doc, sort_keys=False)
    load_file(text.encode("utf-8"))
    code, err = validate_file(text.encode("utf-8"))
    assert code in (0, 1)
    assert "internal error (" not in err and "Traceback" not in err


@pytest.mark.slow
@FUZZ
@given(
    STRUCTURES,
    st.sampled_from(
        [
            "version",
            "sandbox",
            "connections",
            "type",
            "name",
            "protect",
            "auth",
            "specName",
            "params",
        ]
    ),
)
def test_random_values_inside_a_valid_manifest(value: Any, where: str) -> None:
    doc: dict[str, Any] = {
        "version": 1,
        "connections": {
            "a": {
                "type": "amazon-s3",
                "name": "A",
                "auth": {
                    "specName": "Access Key",
                    "params": {"s3AccessKey": "k", "s3SecretKey": "${env:X}"},
                },
            }
        },
    }
    connection = doc["connections"]["a"]
    targets = {
        "version": (doc, "version"),
        "sandbox": (doc, "sandbox"),
        "connections": (doc, "connections"),
        "type": (connection, "type"),
        "name": (connection, "name"),
        "protect": (connection, "protect"),
        "specName": (connection["auth"], "specName"),
        "auth": (connection, "auth"),
        "params": (connection["auth"], "params"),
    }
    parent, key = targets[where]
    parent[key] = value
    result = load_file(yaml.safe_dump(doc, sort_keys=False).encode("utf-8"))
    if isinstance(result, manifest.Manifests):
        assert [r.address for r in result.resources] == ["a"]
