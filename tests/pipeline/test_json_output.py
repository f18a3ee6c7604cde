"""`plan --json` from real runs against the emulator, validated against schemas/plan.schema.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from provisioner import schemas_loader
from tests.aep import RawApi, s3, write_manifest
from tests.pipeline.conftest import SECRET


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = schemas_loader.load("plan.schema.json")
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def manifest(tmp_path: Path, **conns: dict[str, Any]) -> Path:
    return write_manifest(tmp_path / "m.yaml", conns)


def applied(cli: Any) -> None:
    r = cli("apply", "m.yaml", "--auto-approve", "--allow-delete")
    assert r.code == 0, r.out + r.err


def plan_json(cli: Any, validator: jsonschema.Draft202012Validator) -> dict[str, Any]:
    r = cli("plan", "m.yaml", "--json", "--detailed-exitcode")
    assert r.code in (0, 2), r.err
    doc: dict[str, Any] = json.loads(r.out)  # stdout is nothing but the document
    validator.validate(doc)
    assert SECRET not in r.out + r.err
    assert r.code == (2 if doc["has_changes"] else 0)
    return doc


def only(doc: dict[str, Any], address: str) -> dict[str, Any]:
    (change,) = [c for c in doc["changes"] if c["address"] == address]
    return change


def test_create(env: Any, cli: Any, tmp_path: Path, validator: Any) -> None:
    manifest(tmp_path, alpha=s3("Alpha", description="d"))
    doc = plan_json(cli, validator)
    assert doc["format_version"] == "1.2"
    assert doc["summary"] == {"create": 1, "update": 0, "delete": 0, "adopt": 0}
    assert doc["action_counts"]["create"] == 1
    c = only(doc, "alpha")
    assert c["action"] == "create" and c["actions"] == ["create"] and c["connection_id"] is None
    fields = {f["path"]: f for f in c["fields"]}
    assert fields["name"] == {"path": "name", "change": "add", "before": None, "after": "Alpha", "sensitive": False}
    assert fields["auth.params.s3SecretKey"] == {
        "path": "auth.params.s3SecretKey", "change": "add", "before": None, "after": "(sensitive)", "sensitive": True,
    }


def test_adopt_and_adopt_with_update(env: Any, cli: Any, tmp_path: Path, validator: Any) -> None:
    api = RawApi(env.url)
    same = api.create("Same", params={"s3AccessKey": "AKIAPIPELINEKEY", "s3SecretKey": "x"})
    differs = api.create("Differs", description="old", params={"s3AccessKey": "AKIAPIPELINEKEY", "s3SecretKey": "x"})
    manifest(tmp_path, same=s3("Same"), differs=s3("Differs", description="new"))
    doc = plan_json(cli, validator)
    # An adopt always updates the secrets, which cannot be read back (issue 11).
    assert only(doc, "same")["actions"] == ["adopt", "update"]
    assert only(doc, "same")["connection_id"] == same["id"]
    d = only(doc, "differs")
    assert d["action"] == "adopt" and d["actions"] == ["adopt", "update"]
    assert d["connection_id"] == differs["id"] and d["etag"] == differs["etag"]
    assert {"path": "description", "change": "change", "before": "old", "after": "new", "sensitive": False} in d["fields"]
    assert doc["summary"] == {"create": 0, "update": 2, "delete": 0, "adopt": 2}


def test_update_with_drift(env: Any, cli: Any, tmp_path: Path, validator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    manifest(tmp_path, alpha=s3("Alpha", description="declared"))
    applied(cli)
    (conn,) = RawApi(env.url).list()
    RawApi(env.url, client_id="ui-colleague").patch(conn["id"], [{"op": "replace", "path": "/description", "value": "edited"}])
    monkeypatch.setenv("TEST_S3_SECRET", "rotated-" + SECRET)
    doc = plan_json(cli, validator)
    c = only(doc, "alpha")
    assert c["action"] == "update" and c["connection_id"] == conn["id"]
    assert {"path": "auth.params.s3SecretKey", "change": "change", "before": "(sensitive)",
            "after": "(sensitive)", "sensitive": True} in c["fields"]
    drift = c["drift"]
    assert drift["deleted"] is False and drift["updated_by"] == "ui-colleague"
    assert drift["updated_at"].startswith("20") and isinstance(drift["updated_at_ms"], int)
    assert {"path": "description", "change": "change", "before": "declared", "after": "edited",
            "sensitive": False} in drift["fields"]
    assert "rotated-" not in json.dumps(doc)


def test_delete_replace_recreate(env: Any, cli: Any, tmp_path: Path, validator: Any) -> None:
    manifest(tmp_path, gone=s3("Gone"), swapped=s3("Swapped"), vanished=s3("Vanished"))
    applied(cli)
    ids = {c["name"]: c["id"] for c in RawApi(env.url).list()}
    RawApi(env.url).delete(ids["Vanished"])
    iam = {"type": "amazon-s3", "name": "Swapped", "auth": {"specName": "IAMRole Based", "params": {"bucketName": "acme"}}}
    manifest(tmp_path, swapped=iam, vanished=s3("Vanished"))
    doc = plan_json(cli, validator)
    assert only(doc, "gone")["action"] == "delete" and only(doc, "gone")["actions"] == ["delete"]
    assert only(doc, "gone")["connection_id"] == ids["Gone"]
    assert only(doc, "swapped")["actions"] == ["delete", "create"]
    v = only(doc, "vanished")
    assert v["action"] == "recreate" and v["drift"]["deleted"] is True and v["connection_id"] is None
    assert doc["summary"] == {"create": 2, "update": 0, "delete": 2, "adopt": 0}


def test_no_op(env: Any, cli: Any, tmp_path: Path, validator: Any) -> None:
    manifest(tmp_path, alpha=s3("Alpha"))
    applied(cli)
    doc = plan_json(cli, validator)
    assert doc["has_changes"] is False
    c = only(doc, "alpha")
    assert c["action"] == "no-op" and c["actions"] == ["no-op"] and c["fields"] == [] and c["drift"] is None
    assert doc["action_counts"] == {"create": 0, "adopt": 0, "update": 0, "replace": 0, "delete": 0, "recreate": 0, "no-op": 1}


def test_the_schema_rejects_a_leaked_secret(validator: Any) -> None:
    """The schema itself guards the masking: a sensitive field with a value is invalid."""
    field = {"path": "auth.params.s3SecretKey", "change": "add", "before": None, "after": "hunter2", "sensitive": True}
    doc = {
        "format_version": "1.0", "provisioner_version": "0", "org": "o", "sandboxes": ["prod"],
        "state": {"lineage": "l", "serial": 0}, "manifest_digest": "", "has_changes": True,
        "summary": {"create": 1, "update": 0, "delete": 0, "adopt": 0},
        "action_counts": {"create": 1, "adopt": 0, "update": 0, "replace": 0, "delete": 0, "recreate": 0, "no-op": 0},
        "changes": [{"address": "a", "sandbox": "prod", "kind": "amazon-s3", "name": "A", "action": "create",
                     "actions": ["create"], "connection_id": None, "etag": None, "protect": False,
                     "fields": [field], "drift": None}],
    }
    assert not validator.is_valid(doc)
    field["after"] = "(sensitive)"
    validator.validate(doc)
