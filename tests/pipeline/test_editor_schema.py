"""The manifest schema outside provisioner: yaml-language-server modelines, check-jsonschema, pre-commit."""

from __future__ import annotations

import importlib.util
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import referencing
import referencing.jsonschema
import yaml

REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO / "schemas" / "manifest.schema.json"
EXAMPLES = sorted((REPO / "examples").glob("*.y*ml"))
MODELINE = re.compile(r"^# yaml-language-server: \$schema=(\S+)$")

BAD = """\
# yaml-language-server: $schema=../schemas/manifest.schema.json
version: 1
connections:
  Bad_Address:
    type: amazon-s3
    name: Bad
    auth:
      specName: Access Key
      params:
        s3AccessKey: AKIAEXAMPLE
        s3SecretKey: a-literal-secret
"""


def test_there_are_examples() -> None:
    assert EXAMPLES, "examples/ holds no manifest"


def test_schema_is_2020_12_with_id_titles_and_descriptions() -> None:
    schema = json.loads(SCHEMA.read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    # Honest: a URN (no domain that this project does not own), ending in the file's name.
    assert schema["$id"] == "urn:aep-provisioner:schemas:manifest.schema.json"
    assert schema["title"] and schema["description"]
    jsonschema.Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_examples_point_yaml_language_server_at_the_schema(example: Path) -> None:
    first = example.read_text().splitlines()[0]
    m = MODELINE.match(first)
    assert m, f"{example.name} should start with '# yaml-language-server: $schema=...'"
    assert (example.parent / m.group(1)).resolve() == SCHEMA


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_plain_jsonschema_accepts_examples(example: Path) -> None:
    """What any editor does with the modeline: validate the YAML document against the schema."""
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))
    assert list(validator.iter_errors(yaml.safe_load(example.read_text()))) == []


def test_every_schema_id_is_a_urn_and_refs_resolve_under_it() -> None:
    """A URN base must not break `#/$defs/...` references: validate through one."""
    for path in sorted((REPO / "schemas").glob("*.schema.json")):
        schema = json.loads(path.read_text())
        assert schema["$id"] == f"urn:aep-provisioner:schemas:{path.name}"
    plan = json.loads((REPO / "schemas" / "plan.schema.json").read_text())
    registry = referencing.Registry().with_resource(
        plan["$id"], referencing.jsonschema.DRAFT202012.create_resource(plan)
    )
    count = jsonschema.Draft202012Validator({"$ref": plan["$id"] + "#/$defs/count"}, registry=registry)
    assert count.is_valid(3) and not count.is_valid(-1)
    # and inside the document: its own `#/$defs/count` resolves against the URN
    inner = jsonschema.Draft202012Validator(
        {"$ref": plan["$id"] + "#/properties/summary"}, registry=registry
    )
    assert inner.is_valid({"create": 1, "update": 0, "delete": 0, "adopt": 0})
    assert not inner.is_valid({"create": -1, "update": 0, "delete": 0, "adopt": 0})


def test_plain_jsonschema_rejects_a_bad_manifest() -> None:
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))
    errors = list(validator.iter_errors(yaml.safe_load(BAD)))
    assert errors


needs_check_jsonschema = pytest.mark.skipif(
    importlib.util.find_spec("check_jsonschema") is None,
    reason="check-jsonschema is not installed (pip install check-jsonschema to run this test)",
)


def check_jsonschema(*files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--schemafile", str(SCHEMA), *map(str, files)],
        capture_output=True, text=True, timeout=120, check=False,
    )


@pytest.mark.slow
@needs_check_jsonschema
def test_check_jsonschema_accepts_the_examples() -> None:
    r = check_jsonschema(*EXAMPLES)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.slow
@needs_check_jsonschema
def test_check_jsonschema_rejects_a_bad_manifest(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD)
    r = check_jsonschema(bad)
    assert r.returncode == 1
    assert "bad.yaml" in r.stdout + r.stderr


def hooks() -> list[dict[str, Any]]:
    data = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert isinstance(data, list)
    return data


def test_pre_commit_hook_declares_provisioner_validate() -> None:
    (hook,) = hooks()
    assert hook["id"] == "provisioner-validate"
    assert hook["language"] == "python"  # pre-commit pip-installs this repository
    assert hook["entry"] == "provisioner validate"
    assert hook["pass_filenames"] is False  # manifests are found from args, not every YAML file
    assert re.search(hook["files"], "connections/prod.yaml")
    assert not re.search(hook["files"], "README.md")


def test_pre_commit_hook_entry_runs(run_cli: Any, tmp_path: Path) -> None:
    """What pre-commit runs: `entry` plus the user's args (the README suggests a directory)."""
    (hook,) = hooks()
    argv = shlex.split(hook["entry"])[1:]
    (tmp_path / "connections").mkdir()
    for example in EXAMPLES:
        (tmp_path / "connections" / example.name).write_text(example.read_text())
    r = run_cli(*argv, "connections/", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    (tmp_path / "connections" / "bad.yaml").write_text(BAD)
    r = run_cli(*argv, "connections/", cwd=tmp_path)
    assert r.returncode == 1
    assert "connections/bad.yaml:" in r.stderr
