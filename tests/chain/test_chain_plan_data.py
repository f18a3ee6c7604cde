"""The whole chain's plan: `plan --json` and the saved plan are one document (issue 10, item 4)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

from provisioner import schemas_loader
from tests.chain.conftest import SECRETS


def one_document(cli: Any, tmp_path: Path, examples: Path) -> dict[str, Any]:
    r = cli("plan", "--json", "--out", "plan.bin", str(examples))
    assert r.code == 0, r.err
    printed: dict[str, Any] = json.loads(r.out)
    saved = json.loads((tmp_path / "plan.bin").read_text())
    jsonschema.Draft202012Validator(schemas_loader.load("plan.schema.json")).validate(printed)
    assert saved["plan"] == printed
    shown = cli("show", "--json", "plan.bin")
    assert shown.code == 0, shown.err
    assert json.loads(shown.out) == printed
    text = r.out + (tmp_path / "plan.bin").read_text()
    assert not any(value in text for name, value in SECRETS.items() if "SECRET" in name)
    return printed


def test_the_chain_plan_is_one_document_before_and_after_apply(
    chain_env: Any, cli: Any, examples: Path, tmp_path: Path
) -> None:
    created = one_document(cli, tmp_path, examples)
    mapping = next(c for c in created["changes"] if c["address"].endswith(".mapping"))
    assert mapping["action"] == "create"
    assert any(f.get("unknown") for c in created["changes"] for f in c["fields"])  # ids after apply
    assert cli("apply", "plan.bin").code == 0
    chain = examples / "chain.yaml"
    chain.write_text(chain.read_text().replace("name: Example campaign exports to the lake", "name: Renamed"))
    updated = one_document(cli, tmp_path, examples)
    assert {c["action"] for c in updated["changes"]} == {"no-op", "update"}
    applied = cli("apply", "plan.bin")
    assert applied.code == 0, applied.err
