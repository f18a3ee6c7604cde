"""`apply --json`: one JSON event per line, each valid against schemas/apply-events.schema.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from provisioner import schemas_loader
from tests.aep import s3, write_manifest


@pytest.fixture(autouse=True)
def _keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_S3_KEY", "AKIAEVENTS")
    monkeypatch.setenv("TEST_S3_SECRET", "events-secret-9f2e")


def _events(out: str) -> list[dict[str, Any]]:
    validator = jsonschema.Draft202012Validator(schemas_loader.load("apply-events.schema.json"))
    events = [json.loads(line) for line in out.splitlines()]
    for event in events:
        validator.validate(event)
    return events


def test_apply_json_prints_a_plan_event_a_change_event_each_and_a_summary(
    aep_env: Any, cli: Any, tmp_path: Path
) -> None:
    write_manifest(tmp_path / "m.yaml", {"alpha": s3("Alpha"), "beta": s3("Beta")})
    r = cli("apply", "--auto-approve", "--json", "m.yaml")
    assert r.code == 0, r.err
    events = _events(r.out)
    assert events[0]["type"] == "plan" and events[0]["summary"]["create"] == 2
    changes = [e for e in events if e["type"] == "change"]
    assert sorted(e["address"] for e in changes) == ["alpha", "beta"]
    assert all(e["result"] == "created" and e["id"] for e in changes)
    assert events[-1] == {
        "type": "summary", "ok": True, "created": 2, "updated": 0, "replaced": 0,
        "deleted": 0, "adopted": 0, "skipped": 0, "failed": 0,
    }
    again = _events(cli("apply", "--auto-approve", "--json", "m.yaml").out)
    assert [e["type"] for e in again] == ["plan", "summary"] and again[0]["has_changes"] is False


def test_apply_json_without_auto_approve_is_refused(aep_env: Any, cli: Any, tmp_path: Path) -> None:
    write_manifest(tmp_path / "m.yaml", {"alpha": s3("Alpha")})
    r = cli("apply", "--json", "m.yaml")
    assert r.code == 1 and r.out == ""
    assert "apply --json needs --auto-approve or a saved PLANFILE" in r.err


def test_a_delete_not_allowed_is_a_skipped_event(
    aep_env: Any, cli: Any, tmp_path: Path
) -> None:
    write_manifest(tmp_path / "m.yaml", {"alpha": s3("Alpha"), "beta": s3("Beta")})
    assert cli("apply", "--auto-approve", "m.yaml").code == 0
    write_manifest(tmp_path / "m.yaml", {"alpha": s3("Alpha")})
    r = cli("apply", "--auto-approve", "--json", "m.yaml")
    events = _events(r.out)
    assert [e["result"] for e in events if e["type"] == "change"] == ["skipped"]
    assert events[-1]["skipped"] == 1 and r.code == 0
