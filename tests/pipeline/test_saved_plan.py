"""`plan --out FILE` / `apply FILE` / `show FILE` end to end against the emulator, stale plans refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.aep import RawApi, s3, write_manifest
from tests.pipeline.conftest import SECRET


def manifest(tmp_path: Path, **conns: dict[str, Any]) -> Path:
    return write_manifest(tmp_path / "m.yaml", conns)


def state(tmp_path: Path) -> dict[str, Any]:
    return json.loads((tmp_path / "provisioner.state.json").read_text())  # type: ignore[no-any-return]


def saved(tmp_path: Path, cli: Any, *extra: str) -> dict[str, Any]:
    r = cli("plan", "m.yaml", "--out", "plan.bin", *extra)
    assert r.code == 0, r.out + r.err
    assert "provisioner apply plan.bin" in r.out + r.err
    return json.loads((tmp_path / "plan.bin").read_text())  # type: ignore[no-any-return]


def applied(cli: Any) -> None:
    r = cli("apply", "m.yaml", "--auto-approve")
    assert r.code == 0, r.out + r.err


def test_saved_plan_is_applied_exactly_without_prompt(env: Any, cli: Any, tmp_path: Path) -> None:
    manifest(tmp_path, alpha=s3("Alpha"), beta=s3("Beta", description="second"))
    doc = saved(tmp_path, cli)
    text = (tmp_path / "plan.bin").read_text()
    assert SECRET not in text
    assert doc["format"] == "provisioner-saved-plan" and doc["format_version"] == 3
    assert doc["plan"]["state"]["serial"] == 0 and doc["manifests"]["paths"] == ["m.yaml"]
    assert [c["action"] for c in doc["plan"]["changes"]] == ["create", "create"]
    assert all(c["secret_fingerprints"]["auth.params.s3SecretKey"].startswith("hmac-sha256:") for c in doc["plan"]["changes"])
    assert not (tmp_path / "provisioner.state.json").exists()  # plan writes no state

    r = cli("apply", "plan.bin")  # not a terminal, no --auto-approve: a saved plan needs neither
    assert r.code == 0, r.out + r.err
    assert "2 created" in r.out
    names = sorted(c["name"] for c in RawApi(env.url).list())
    assert names == ["Alpha", "Beta"]
    st = state(tmp_path)
    # the state continues the lineage the plan was made with (there was no state file before)
    assert st["lineage"] == doc["plan"]["state"]["lineage"]
    assert cli("plan", "m.yaml", "--detailed-exitcode").code == 0

    r = cli("apply", "plan.bin")  # a plan is applied once: the state has moved on
    assert r.code == 1
    assert "is stale" in r.err and "the state changed" in r.err
    assert len(RawApi(env.url).list()) == 2


def test_saved_plan_is_deterministic_and_holds_what_apply_relies_on(env: Any, cli: Any, tmp_path: Path) -> None:
    manifest(tmp_path, alpha=s3("Alpha"))
    applied(cli)
    manifest(tmp_path, alpha=s3("Alpha", description="now described"))
    first = (saved(tmp_path, cli), (tmp_path / "plan.bin").read_bytes())
    second = (saved(tmp_path, cli), (tmp_path / "plan.bin").read_bytes())
    assert first[1] == second[1]
    assert first[1].endswith(b"\n")
    doc = first[0]
    st = state(tmp_path)
    entry = next(iter(st["resources"].values())) if isinstance(st["resources"], dict) else st["resources"][0]
    assert doc["plan"]["state"]["lineage"] == st["lineage"] and doc["plan"]["state"]["serial"] == st["serial"]
    assert doc["state"]["salt"] is None  # the state file holds it
    assert len(doc["plan"]["manifest_digest"]) == 64
    (change,) = doc["plan"]["changes"]
    assert change["action"] == "update"
    assert change["connection_id"] == entry_id(st) and change["etag"] == entry_etag(st)
    assert doc["checksum"].startswith("sha256:")
    assert entry is not None


def entry_id(st: dict[str, Any]) -> str:
    return next(iter(_entries(st)))["id"]  # type: ignore[no-any-return]


def entry_etag(st: dict[str, Any]) -> str:
    return next(iter(_entries(st)))["etag"]  # type: ignore[no-any-return]


def _entries(st: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "id" in node and "etag" in node:
                found.append(node)
            else:
                for v in node.values():
                    walk(v)

    walk(st.get("resources"))
    return found


# -- the four causes of a stale plan --------------------------------------------------------------


@pytest.fixture
def planned_update(env: Any, cli: Any, tmp_path: Path) -> dict[str, Any]:
    """alpha exists and is owned; a saved plan updates its description."""
    manifest(tmp_path, alpha=s3("Alpha"))
    applied(cli)
    manifest(tmp_path, alpha=s3("Alpha", description="planned"))
    saved(tmp_path, cli)
    return {"id": entry_id(state(tmp_path)), "state": (tmp_path / "provisioner.state.json").read_bytes()}


def refused(cli: Any, tmp_path: Path, before: dict[str, Any], env: Any) -> str:
    remote_before = RawApi(env.url).list()
    r = cli("apply", "plan.bin")
    assert r.code == 1
    assert "plan.bin is stale, so nothing was applied" in r.err
    assert "provisioner plan --out plan.bin" in r.err
    assert RawApi(env.url).list() == remote_before  # nothing remote was touched
    assert SECRET not in r.out + r.err
    return r.err  # type: ignore[no-any-return]


def test_stale_when_the_state_moved(planned_update: dict[str, Any], env: Any, cli: Any, tmp_path: Path) -> None:
    assert cli("state", "rm", "prod/alpha").code == 0  # another run wrote the state
    err = refused(cli, tmp_path, planned_update, env)
    assert "the state changed" in err and "sandbox prod" in err
    assert "manifests" not in err and "remote connections" not in err and "secret" not in err


def test_stale_when_the_manifests_changed(planned_update: dict[str, Any], env: Any, cli: Any, tmp_path: Path) -> None:
    with (tmp_path / "m.yaml").open("a") as fh:
        fh.write("# an edit after the review\n")
    err = refused(cli, tmp_path, planned_update, env)
    assert "the manifests changed" in err
    assert "state changed" not in err and "remote connections" not in err and "secret" not in err
    assert (tmp_path / "provisioner.state.json").read_bytes() == planned_update["state"]


def test_stale_when_a_remote_etag_changed(planned_update: dict[str, Any], env: Any, cli: Any, tmp_path: Path) -> None:
    RawApi(env.url).patch(planned_update["id"], [{"op": "replace", "path": "/name", "value": "Renamed in UI"}])
    err = refused(cli, tmp_path, planned_update, env)
    assert "remote connections changed since the plan: prod/alpha (etag" in err
    assert "state changed" not in err and "manifests" not in err and "secret" not in err


def test_stale_when_a_remote_connection_was_deleted(planned_update: dict[str, Any], env: Any, cli: Any, tmp_path: Path) -> None:
    RawApi(env.url).delete(planned_update["id"])
    err = refused(cli, tmp_path, planned_update, env)
    assert f"prod/alpha (connection {planned_update['id']} was deleted)" in err


def test_stale_when_a_secret_changed(planned_update: dict[str, Any], env: Any, cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_S3_SECRET", "rotated-after-review-" + SECRET)
    err = refused(cli, tmp_path, planned_update, env)
    assert "a secret in the environment differs from plan time: prod/alpha auth.params.s3SecretKey" in err
    assert "rotated-after-review" not in err
    assert "state changed" not in err and "manifests" not in err and "remote connections" not in err


def test_stale_when_an_env_value_changed(planned_update: dict[str, Any], env: Any, cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_S3_KEY", "AKIADIFFERENTKEY")
    err = refused(cli, tmp_path, planned_update, env)
    assert "the manifests resolve differently" in err and "prod/alpha (auth.params.s3AccessKey)" in err


def test_stale_lists_every_cause(planned_update: dict[str, Any], env: Any, cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    RawApi(env.url).patch(planned_update["id"], [{"op": "replace", "path": "/name", "value": "Renamed"}])
    monkeypatch.setenv("TEST_S3_SECRET", "rotated")
    with (tmp_path / "m.yaml").open("a") as fh:
        fh.write("# edit\n")
    assert cli("state", "rm", "prod/alpha").code == 0
    err = refused(cli, tmp_path, planned_update, env)
    for cause in ("the state changed", "the manifests changed", "remote connections changed", "a secret in the environment"):
        assert cause in err


def test_a_fresh_create_is_stale_when_the_name_was_taken_since(env: Any, cli: Any, tmp_path: Path) -> None:
    manifest(tmp_path, alpha=s3("Alpha"))
    saved(tmp_path, cli)
    other = RawApi(env.url).create("Alpha")
    err = refused(cli, tmp_path, {}, env)
    assert f"a connection named 'Alpha' now exists: {other['id']}" in err


# -- other refusals and paths ---------------------------------------------------------------------


def test_a_modified_plan_file_is_refused(env: Any, cli: Any, tmp_path: Path) -> None:
    manifest(tmp_path, alpha=s3("Alpha"))
    doc = saved(tmp_path, cli)
    doc["plan"]["changes"][0]["name"] = "Sneaky"
    (tmp_path / "plan.bin").write_text(json.dumps(doc))
    r = cli("apply", "plan.bin")
    assert r.code == 1
    assert "was modified after it was saved" in r.err
    assert RawApi(env.url).list() == []


def test_a_plan_from_another_version_is_refused(env: Any, cli: Any, tmp_path: Path) -> None:
    manifest(tmp_path, alpha=s3("Alpha"))
    doc = saved(tmp_path, cli)
    doc["format_version"] = 99
    (tmp_path / "plan.bin").write_text(json.dumps(doc))
    r = cli("apply", "plan.bin")
    assert r.code == 1 and "format version 99" in r.err


def test_a_plan_for_another_org_is_refused(env: Any, cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    manifest(tmp_path, alpha=s3("Alpha"))
    doc = saved(tmp_path, cli)
    monkeypatch.setenv("AEP_ORG_ID", "OTHERORG000000000000000@AdobeOrg")
    r = cli("apply", "plan.bin")
    assert r.code == 1
    assert f"was made for org {doc['plan']['org']}, but the credentials are for org OTHERORG" in r.err


def test_saved_delete_needs_allow_delete(env: Any, cli: Any, tmp_path: Path) -> None:
    manifest(tmp_path, alpha=s3("Alpha"), beta=s3("Beta"))
    applied(cli)
    manifest(tmp_path, alpha=s3("Alpha"))
    saved(tmp_path, cli)
    # Deletes are decided at plan time (issue 11): the plan says it will not run, and the
    # apply of a saved plan that does not run whole exits non-zero.
    r = cli("apply", "plan.bin")
    assert r.code == 1 and "--allow-delete" in r.err
    assert len(RawApi(env.url).list()) == 2
    saved(tmp_path, cli)
    r = cli("apply", "plan.bin", "--allow-delete")  # too late: the plan was reviewed without it
    assert r.code == 1 and "decided at plan time" in r.err
    saved(tmp_path, cli, "--allow-delete")
    r = cli("apply", "plan.bin")
    assert r.code == 0, r.err
    assert [c["name"] for c in RawApi(env.url).list()] == ["Alpha"]


def test_show_saved_plan_as_text_and_json(env: Any, cli: Any, tmp_path: Path) -> None:
    import jsonschema

    from provisioner import schemas_loader

    manifest(tmp_path, alpha=s3("Alpha"))
    saved(tmp_path, cli)
    r = cli("show", "plan.bin")
    assert r.code == 0
    assert "# Saved plan plan.bin: org" in r.out
    assert "prod/alpha will be created" in r.out
    assert "Plan: 1 to create, 0 to update, 0 to delete, 0 to adopt." in r.out
    assert SECRET not in r.out
    shown = cli("show", "plan.bin", "--json")
    assert shown.code == 0
    doc = json.loads(shown.out)
    jsonschema.Draft202012Validator(schemas_loader.load("plan.schema.json")).validate(doc)
    assert doc["changes"][0]["action"] == "create"
    # the same document `plan --json` printed for the same plan
    planned = json.loads(cli("plan", "m.yaml", "--json").out)
    for key in ("summary", "action_counts", "org", "sandboxes"):
        assert planned[key] == doc[key]
    # With no state file yet, each plan draws a fresh salt: only the fingerprints differ.
    for c in planned["changes"] + doc["changes"]:
        assert c.pop("secret_fingerprints").keys() == {"auth.params.s3SecretKey"}
    assert planned["changes"] == doc["changes"]


def test_show_something_that_is_not_a_plan(env: Any, cli: Any, tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text('{"hello": 1}')
    r = cli("show", "x.json")
    assert r.code == 1 and "is not a plan saved by 'provisioner plan --out'" in r.err


def test_out_to_an_unwritable_place_is_one_sentence(env: Any, cli: Any, tmp_path: Path) -> None:
    manifest(tmp_path, alpha=s3("Alpha"))
    r = cli("plan", "m.yaml", "--out", "no/such/dir/plan.bin")
    assert r.code == 1
    assert "cannot write the plan to no/such/dir/plan.bin" in r.err and "Traceback" not in r.err
