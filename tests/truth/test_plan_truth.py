"""Issue 11: the plan tells the whole truth, and apply does exactly what was reviewed.

One test (or a few) per bullet of the issue's "Why", on the real CLI against the real emulator.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from provisioner import plan_data
from provisioner.planfile import _checksum
from tests.aep import RawApi, s3, write_manifest
from tests.truth.conftest import SECRET

STATE = "provisioner.state.json"


def manifest(path: Path, sandbox: str | None = None, **conns: dict[str, Any]) -> Path:
    return write_manifest(path, conns, sandbox=sandbox)


def state(tmp_path: Path) -> dict[str, Any]:
    return json.loads((tmp_path / STATE).read_text())  # type: ignore[no-any-return]


def entries(tmp_path: Path, sandbox: str = "prod") -> dict[str, Any]:
    (org,) = state(tmp_path)["resources"].values()
    return org.get(sandbox, {})  # type: ignore[no-any-return]


def ok(r: Any) -> Any:
    assert r.code == 0, r.out + r.err
    return r


def names(url: str, sandbox: str = "prod") -> list[str]:
    return sorted(c["name"] for c in RawApi(url).list(sandbox))


def tamper(path: Path, edit: Any) -> None:
    """Edit a saved plan's changes and recompute its derived keys and (unkeyed) checksum, as an
    attacker can: the file stays valid and consistent, only the fresh plan can tell."""
    doc = json.loads(path.read_text())
    doc.pop("checksum")
    edit(doc["plan"])
    version = doc["plan"]["provisioner_version"]
    doc["plan"] = plan_data.document(plan_data.plan_from_document(doc["plan"]))
    doc["plan"]["provisioner_version"] = version
    doc["checksum"] = _checksum(doc)
    path.write_text(json.dumps(doc, sort_keys=True, indent=2) + "\n")


# -- 1. adopting by name never silently trusts the secrets --------------------------------------


def test_adopt_plans_the_secrets_as_a_sensitive_update(env: Any, cli: Any, tmp_path: Path) -> None:
    made = RawApi(env.url).create(
        "Alpha", params={"s3AccessKey": "AKIATRUTHKEY", "s3SecretKey": "an-old-secret"}
    )
    manifest(tmp_path / "m.yaml", alpha=s3("Alpha"))
    r = ok(cli("plan", "m.yaml"))
    assert "adopted and updated" in r.out
    assert "auth.params.s3SecretKey" in r.out and "(sensitive" in r.out
    assert "No changes." not in r.out and SECRET not in r.out
    doc = json.loads(ok(cli("plan", "m.yaml", "--json")).out)
    (change,) = doc["changes"]
    assert change["action"] == "adopt"
    assert any(f["path"] == "auth.params.s3SecretKey" and f["sensitive"] for f in change["fields"])
    ok(cli("apply", "m.yaml", "--auto-approve"))
    assert entries(tmp_path)["alpha"]["id"] == made["id"]
    assert "No changes." in ok(cli("plan", "m.yaml")).out


# -- 2. deletes and replaces are decided at plan time -------------------------------------------


def _two_then_one(env: Any, cli: Any, tmp_path: Path) -> None:
    manifest(tmp_path / "m.yaml", alpha=s3("Alpha"), beta=s3("Beta"))
    ok(cli("apply", "m.yaml", "--auto-approve"))
    manifest(tmp_path / "m.yaml", alpha=s3("Alpha"))


def test_plan_says_a_delete_will_not_run_in_text_json_and_markdown(
    env: Any, cli: Any, tmp_path: Path
) -> None:
    _two_then_one(env, cli, tmp_path)
    text = ok(cli("plan", "m.yaml")).out
    assert "will not run" in text and "--allow-delete" in text
    doc = json.loads(ok(cli("plan", "m.yaml", "--json")).out)
    (change,) = [c for c in doc["changes"] if c["action"] != "no-op"]
    assert change["action"] == "delete" and change["will_run"] is False
    assert "--allow-delete" in change["not_run_reason"]
    md = ok(cli("plan", "m.yaml", "--markdown")).out
    assert "will not run" in md and "--allow-delete" in md
    allowed = ok(cli("plan", "m.yaml", "--allow-delete")).out
    assert "will not run" not in allowed


def test_apply_of_a_saved_plan_with_a_delete_not_allowed_exits_non_zero(
    env: Any, cli: Any, tmp_path: Path
) -> None:
    _two_then_one(env, cli, tmp_path)
    ok(cli("plan", "m.yaml", "--out", "plan.bin"))
    r = cli("apply", "plan.bin")
    assert r.code == 1, r.out + r.err
    assert "Apply complete!" not in r.out
    assert names(env.url) == ["Alpha", "Beta"]
    # decided at plan time: the saved plan records --allow-delete, and apply then does it all
    ok(cli("plan", "m.yaml", "--allow-delete", "--out", "plan.bin"))
    assert json.loads((tmp_path / "plan.bin").read_text())["plan"]["allow_delete"] is True
    r = ok(cli("apply", "plan.bin"))
    assert "1 deleted" in r.out
    assert names(env.url) == ["Alpha"]


def test_replace_is_guarded_like_delete_and_lists_only_changed_fields(
    env: Any, cli: Any, tmp_path: Path
) -> None:
    manifest(tmp_path / "m.yaml", alpha=s3("Alpha"))
    ok(cli("apply", "m.yaml", "--auto-approve"))
    before = entries(tmp_path)["alpha"]["id"]
    changed = s3("Alpha")
    changed["auth"]["specName"] = "IAMRole Based"
    changed["auth"]["params"] = {"bucketName": "acme-landing"}
    manifest(tmp_path / "m.yaml", alpha=changed)
    r = cli("plan", "m.yaml")
    if r.code == 0:
        lines = r.out.splitlines()
        assert not any('"amazon-s3" -> "amazon-s3"' in line for line in lines)
        assert not any(" type " in line for line in lines if "->" in line)
        spec = [line for line in lines if "auth.specName" in line]
        assert spec and "# forces replacement" in spec[0]
        assert "will not run" in r.out and "--allow-delete" in r.out
        r = cli("apply", "m.yaml", "--auto-approve")  # guarded like a delete: not run, and said
        assert "replace skipped (needs --allow-delete)" in r.out and "--allow-delete" in r.err
        assert entries(tmp_path)["alpha"]["id"] == before
        assert RawApi(env.url).get(before) is not None
        r = ok(cli("apply", "m.yaml", "--auto-approve", "--allow-delete"))
        assert "1 replaced" in r.out
    else:  # the emulator refused the IAM spec: the type is what forces it then
        pytest.fail(r.err)


# -- 3. a saved plan is never trusted for what it may touch --------------------------------------


def test_edited_plan_cannot_delete_what_the_state_does_not_own(
    env: Any, cli: Any, tmp_path: Path
) -> None:
    _two_then_one(env, cli, tmp_path)
    stranger = RawApi(env.url).create("Stranger")
    ok(cli("plan", "m.yaml", "--allow-delete", "--out", "plan.bin"))

    def retarget(doc: dict[str, Any]) -> None:
        for c in doc["changes"]:
            if c["action"] == "delete":
                c["connection_id"] = stranger["id"]

    tamper(tmp_path / "plan.bin", retarget)
    r = cli("apply", "plan.bin")
    assert r.code == 1
    assert RawApi(env.url).get(stranger["id"]) is not None
    assert names(env.url) == ["Alpha", "Beta", "Stranger"]


def test_edited_plan_cannot_turn_a_no_op_into_a_replace(env: Any, cli: Any, tmp_path: Path) -> None:
    manifest(tmp_path / "m.yaml", alpha=s3("Alpha", description="one"))
    ok(cli("apply", "m.yaml", "--auto-approve"))
    stranger = RawApi(env.url).create("Stranger")
    manifest(tmp_path / "m.yaml", alpha=s3("Alpha", description="two"))
    ok(cli("plan", "m.yaml", "--out", "plan.bin"))

    def replace_any(doc: dict[str, Any]) -> None:
        (c,) = doc["changes"]
        c["action"] = "replace"
        c["connection_id"] = stranger["id"]  # with its etag, so that only a re-plan can tell
        c["etag"] = stranger["etag"]
        doc["allow_delete"] = True

    tamper(tmp_path / "plan.bin", replace_any)
    r = cli("apply", "plan.bin")
    assert r.code == 1
    assert "does not match" in r.err or "differs" in r.err
    assert RawApi(env.url).get(stranger["id"]) is not None


def test_edited_plan_cannot_delete_a_protected_resource(env: Any, cli: Any, tmp_path: Path) -> None:
    manifest(tmp_path / "m.yaml", alpha=s3("Alpha", protect=True), beta=s3("Beta"))
    ok(cli("apply", "m.yaml", "--auto-approve"))
    alpha = entries(tmp_path)["alpha"]["id"]
    ok(cli("plan", "m.yaml", "--out", "plan.bin"))

    def delete_protected(doc: dict[str, Any]) -> None:
        for c in doc["changes"]:
            if c["address"] == "alpha":
                c["action"] = "delete"
        doc["allow_delete"] = True

    tamper(tmp_path / "plan.bin", delete_protected)
    assert cli("apply", "plan.bin").code == 1
    assert RawApi(env.url).get(alpha) is not None


def test_edited_plan_cannot_retarget_a_sandbox(env: Any, cli: Any, tmp_path: Path) -> None:
    manifest(tmp_path / "m.yaml", alpha=s3("Alpha"))
    ok(cli("plan", "m.yaml", "--out", "plan.bin"))

    def to_dev(doc: dict[str, Any]) -> None:
        for c in doc["changes"]:
            c["sandbox"] = "dev"
        doc["sandboxes"] = ["dev"]

    tamper(tmp_path / "plan.bin", to_dev)
    assert cli("apply", "plan.bin").code == 1
    assert names(env.url, "dev") == [] and names(env.url) == []


def test_a_plan_made_against_one_endpoint_is_refused_at_another(
    env: Any, emulator_factory: Any, cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest(tmp_path / "m.yaml", alpha=s3("Alpha"))
    ok(cli("plan", "m.yaml", "--out", "plan.bin"))
    assert json.loads((tmp_path / "plan.bin").read_text())["endpoint"] == env.url
    other = emulator_factory()
    monkeypatch.setenv("AEP_PLATFORM_URL", other.url)
    monkeypatch.setenv("AEP_IMS_URL", other.url)
    r = cli("apply", "plan.bin")
    assert r.code == 1 and env.url in r.err and other.url in r.err
    assert names(other.url) == []


# -- 4. renaming an address is a move, not a duplicate -------------------------------------------


def test_moved_block_is_a_no_op_move(env: Any, cli: Any, tmp_path: Path) -> None:
    manifest(tmp_path / "m.yaml", alpha=s3("Alpha"))
    ok(cli("apply", "m.yaml", "--auto-approve"))
    old = entries(tmp_path)["alpha"]["id"]
    doc = yaml.safe_load((tmp_path / "m.yaml").read_text())
    doc["connections"] = {"first": doc["connections"]["alpha"]}
    doc["moved"] = [{"from": "alpha", "to": "first"}]
    (tmp_path / "m.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    assert ok(cli("validate", "m.yaml"))
    r = ok(cli("plan", "m.yaml"))
    assert "prod/alpha has moved to prod/first" in r.out
    assert "0 to create" in r.out and "0 to delete" in r.out
    plan = json.loads(ok(cli("plan", "m.yaml", "--json")).out)
    (change,) = plan["changes"]
    assert change["moved_from"] == "alpha" and change["address"] == "first"
    ok(cli("apply", "m.yaml", "--auto-approve"))
    assert set(entries(tmp_path)) == {"first"} and entries(tmp_path)["first"]["id"] == old
    assert names(env.url) == ["Alpha"]
    assert "No changes." in ok(cli("plan", "m.yaml")).out


def test_state_mv_renames_an_address(env: Any, cli: Any, tmp_path: Path) -> None:
    manifest(tmp_path / "m.yaml", alpha=s3("Alpha"))
    ok(cli("apply", "m.yaml", "--auto-approve"))
    old = entries(tmp_path)["alpha"]["id"]
    r = ok(cli("state", "mv", "prod/alpha", "prod/first"))
    assert "first" in r.out
    assert set(entries(tmp_path)) == {"first"} and entries(tmp_path)["first"]["id"] == old
    manifest(tmp_path / "m.yaml", first=s3("Alpha"))
    assert "No changes." in ok(cli("plan", "m.yaml")).out
    assert cli("state", "mv", "prod/first", "prod/first").code == 1
    assert cli("state", "mv", "prod/nope", "prod/x").code == 1


# -- 5. sandboxes are isolated -------------------------------------------------------------------


def test_an_apply_in_dev_does_not_make_the_prod_plan_stale(env: Any, cli: Any, tmp_path: Path) -> None:
    manifest(tmp_path / "prod" / "m.yaml", sandbox="prod", alpha=s3("Alpha"))
    manifest(tmp_path / "dev" / "m.yaml", sandbox="dev", alpha=s3("Alpha"))
    ok(cli("apply", "prod", "dev", "--auto-approve"))
    manifest(tmp_path / "prod" / "m.yaml", sandbox="prod", alpha=s3("Alpha"), beta=s3("Beta"))
    manifest(tmp_path / "dev" / "m.yaml", sandbox="dev", alpha=s3("Alpha"), beta=s3("Beta"))
    ok(cli("plan", "prod", "--out", "prod.bin"))
    ok(cli("apply", "dev", "--auto-approve"))
    r = ok(cli("apply", "prod.bin"))
    assert "1 created" in r.out
    assert names(env.url) == ["Alpha", "Beta"] and names(env.url, "dev") == ["Alpha", "Beta"]


def test_sandbox_flag_contradicting_the_manifest_is_an_error(
    env: Any, cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest(tmp_path / "m.yaml", sandbox="prod", alpha=s3("acme-prod-landing"))
    r = cli("plan", "m.yaml", "--sandbox", "dev")
    assert r.code == 1 and "sandbox" in r.err and "prod" in r.err and "dev" in r.err
    monkeypatch.setenv("AEP_SANDBOX", "dev")
    r = cli("plan", "m.yaml")
    assert r.code == 1 and "AEP_SANDBOX" in r.err
    assert names(env.url, "dev") == []


@pytest.mark.parametrize("how", ["flag", "env"])
def test_sandbox_names_must_be_lowercase(
    env: Any, cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    manifest(tmp_path / "m.yaml", alpha=s3("Alpha"))
    if how == "flag":
        r = cli("plan", "m.yaml", "--sandbox", "Dev")
    else:
        monkeypatch.setenv("AEP_SANDBOX", "DEV")
        r = cli("plan", "m.yaml")
    assert r.code == 1
    assert "lowercase" in r.err and "Traceback" not in r.err


def test_a_sandbox_in_the_state_that_no_manifest_declares_is_reported(
    env: Any, cli: Any, tmp_path: Path
) -> None:
    manifest(tmp_path / "prod" / "m.yaml", sandbox="prod", alpha=s3("Alpha"))
    manifest(tmp_path / "dev" / "m.yaml", sandbox="dev", alpha=s3("Alpha"))
    ok(cli("apply", "prod", "dev", "--auto-approve"))
    r = ok(cli("plan", "prod"))
    assert "dev" in r.err and "--sandbox dev" in r.err
    doc = json.loads(ok(cli("plan", "prod", "--json")).out)
    assert any("dev" in w for w in doc["warnings"])
    ok(cli("apply", "prod", "--auto-approve"))
    assert names(env.url, "dev") == ["Alpha"]


# -- 6. empty variables and same-name strangers ---------------------------------------------------


def test_an_empty_variable_is_refused_naming_it(
    env: Any, cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_S3_KEY", "")
    manifest(tmp_path / "m.yaml", alpha=s3("Alpha"))
    for argv in (("validate", "m.yaml"), ("plan", "m.yaml")):
        r = cli(*argv)
        assert r.code == 1, r.out
        assert "TEST_S3_KEY" in r.err and "empty" in r.err


def test_a_same_name_stranger_is_reported_by_plan_and_refresh(
    env: Any, cli: Any, tmp_path: Path
) -> None:
    manifest(tmp_path / "m.yaml", alpha=s3("Alpha"))
    ok(cli("apply", "m.yaml", "--auto-approve"))
    stranger = RawApi(env.url).create("Alpha")
    r = ok(cli("plan", "m.yaml"))
    assert stranger["id"] in r.err and "Alpha" in r.err
    r = ok(cli("refresh", "m.yaml"))
    assert stranger["id"] in r.err


# -- 7. the lock, no-op applies, BOM/CRLF, swapped ids --------------------------------------------


def test_plan_takes_the_lock(env: Any, cli: Any, tmp_path: Path) -> None:
    from provisioner.state import StateStore

    manifest(tmp_path / "m.yaml", alpha=s3("Alpha"))
    with StateStore(str(tmp_path / STATE)).lock("someone", 0):
        r = cli("plan", "m.yaml")
        assert r.code == 1 and "lock" in r.err
    ok(cli("plan", "m.yaml"))


def test_a_no_op_apply_on_a_crlf_state_does_not_rewrite_it(env: Any, cli: Any, tmp_path: Path) -> None:
    manifest(tmp_path / "m.yaml", alpha=s3("Alpha"))
    ok(cli("apply", "m.yaml", "--auto-approve"))
    path = tmp_path / STATE
    crlf = path.read_bytes().replace(b"\n", b"\r\n")
    path.write_bytes(crlf)
    ok(cli("plan", "m.yaml", "--out", "other.bin"))
    r = ok(cli("apply", "m.yaml", "--auto-approve"))
    assert path.read_bytes() == crlf
    assert "stale" not in r.err
    ok(cli("apply", "other.bin"))


def test_a_bom_state_is_read(env: Any, cli: Any, tmp_path: Path) -> None:
    manifest(tmp_path / "m.yaml", alpha=s3("Alpha"))
    ok(cli("apply", "m.yaml", "--auto-approve"))
    path = tmp_path / STATE
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert "No changes." in ok(cli("plan", "m.yaml")).out


def test_swapped_ids_are_a_corrupted_state(env: Any, cli: Any, tmp_path: Path) -> None:
    manifest(tmp_path / "m.yaml", alpha=s3("Alpha"), beta=s3("Beta"))
    ok(cli("apply", "m.yaml", "--auto-approve"))
    st = state(tmp_path)
    (org,) = st["resources"].values()
    prod = org["prod"]
    prod["alpha"]["id"], prod["beta"]["id"] = prod["beta"]["id"], prod["alpha"]["id"]
    (tmp_path / STATE).write_text(json.dumps(st, indent=2))
    r = cli("plan", "m.yaml")
    assert r.code == 1
    assert "corrupt" in r.err and "alpha" in r.err and "beta" in r.err
    r = cli("apply", "m.yaml", "--auto-approve")
    assert r.code == 1
    assert names(env.url) == ["Alpha", "Beta"]


@pytest.mark.slow
def test_a_state_sandbox_in_capitals_never_goes_on_the_wire(env: Any, cli: Any, tmp_path: Path) -> None:
    manifest(tmp_path / "m.yaml", alpha=s3("Alpha"))
    ok(cli("apply", "m.yaml", "--auto-approve"))
    st = state(tmp_path)
    (org,) = st["resources"].values()
    org["Dev"] = org.pop("prod")
    (tmp_path / STATE).write_text(json.dumps(st, indent=2))
    r = cli("plan", "m.yaml")
    assert r.code == 1 and "'Dev' is not a sandbox name" in r.err
