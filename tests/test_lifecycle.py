"""Issue 4 end to end: update, replace, guarded delete, drift, refresh, import, destroy, sandboxes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.aep import RawApi, s3, write_manifest
from tests.test_core import SECRET, entries, state_doc


@pytest.fixture
def env(aep_env: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("TEST_S3_KEY", "AKIAEXAMPLEKEY")
    monkeypatch.setenv("TEST_S3_SECRET", SECRET)
    return aep_env


def manifest(tmp_path: Path, **conns: dict[str, Any]) -> Path:
    return write_manifest(tmp_path / "m.yaml", conns)


def applied(cli: Any, *extra: str) -> Any:
    r = cli("apply", "m.yaml", "--auto-approve", *extra)
    assert r.code == 0, r.out + r.err
    return r


def test_rename_is_an_update_in_place(env: Any, cli: Any, tmp_path: Path) -> None:
    manifest(tmp_path, alpha=s3("Alpha"))
    applied(cli)
    before = entries(state_doc(tmp_path))["prod/alpha"]
    manifest(tmp_path, alpha=s3("Alpha renamed", description="now described"))
    r = cli("plan", "m.yaml", "--detailed-exitcode")
    assert r.code == 2
    assert 'name        = "Alpha" -> "Alpha renamed"' in r.out
    assert 'description = "now described"' in r.out
    assert "Plan: 0 to create, 1 to update, 0 to delete, 0 to adopt." in r.out
    applied(cli)
    after = entries(state_doc(tmp_path))["prod/alpha"]
    assert after["id"] == before["id"]
    assert after["etag"] != before["etag"]
    remote = RawApi(env.url).get(after["id"])
    assert remote is not None and remote["name"] == "Alpha renamed"
    assert remote["etag"] == after["etag"]
    assert cli("plan", "m.yaml", "--detailed-exitcode").code == 0


def test_secret_rotation_is_an_update_without_the_secret(env: Any, cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    manifest(tmp_path, alpha=s3("Alpha"))
    applied(cli)
    fp_before = entries(state_doc(tmp_path))["prod/alpha"]["auth"]["secretFingerprints"]["s3SecretKey"]
    monkeypatch.setenv("TEST_S3_SECRET", "rotated-" + SECRET)
    r = cli("plan", "m.yaml", "--detailed-exitcode")
    assert r.code == 2
    assert "auth.params.s3SecretKey = (sensitive value changed)" in r.out
    assert SECRET not in r.out
    applied(cli)
    state_text = (tmp_path / "provisioner.state.json").read_text()
    assert SECRET not in state_text
    fp_after = entries(state_doc(tmp_path))["prod/alpha"]["auth"]["secretFingerprints"]["s3SecretKey"]
    assert fp_after != fp_before
    assert cli("plan", "m.yaml", "--detailed-exitcode").code == 0


def test_outside_edit_is_shown_as_drift_with_who_and_when(env: Any, cli: Any, tmp_path: Path) -> None:
    manifest(tmp_path, alpha=s3("Alpha", description="as declared"))
    applied(cli)
    id = entries(state_doc(tmp_path))["prod/alpha"]["id"]
    api = RawApi(env.url, client_id="ui-colleague")
    api.patch(id, [{"op": "replace", "path": "/description", "value": "edited in the UI"}])
    r = cli("plan", "m.yaml", "--detailed-exitcode")
    assert r.code == 2
    assert "was changed outside provisioner by ui-colleague at 20" in r.out
    assert '"as declared" -> "edited in the UI"' in r.out  # the drift
    assert '"edited in the UI" -> "as declared"' in r.out  # the planned correction
    applied(cli)
    remote = api.get(id)
    assert remote is not None and remote["description"] == "as declared"


def test_outside_delete_is_recreated(env: Any, cli: Any, tmp_path: Path) -> None:
    manifest(tmp_path, alpha=s3("Alpha"))
    applied(cli)
    old = entries(state_doc(tmp_path))["prod/alpha"]["id"]
    RawApi(env.url).delete(old)
    r = cli("plan", "m.yaml")
    assert "was deleted outside provisioner and will be created again" in r.out
    assert "Plan: 1 to create" in r.out
    applied(cli)
    new = entries(state_doc(tmp_path))["prod/alpha"]["id"]
    assert new != old
    assert [c["id"] for c in RawApi(env.url).list()] == [new]


def test_removed_entry_is_deleted_only_with_allow_delete(env: Any, cli: Any, tmp_path: Path) -> None:
    manifest(tmp_path, alpha=s3("Alpha"), beta=s3("Beta"))
    applied(cli)
    beta = entries(state_doc(tmp_path))["prod/beta"]["id"]
    manifest(tmp_path, alpha=s3("Alpha"))
    r = cli("plan", "m.yaml")
    assert "prod/beta will be deleted" in r.out
    assert "Plan: 0 to create, 0 to update, 1 to delete, 0 to adopt." in r.out
    r = cli("apply", "m.yaml", "--auto-approve")
    assert r.code == 0
    assert "--allow-delete" in r.err
    assert RawApi(env.url).get(beta) is not None
    assert "prod/beta" in entries(state_doc(tmp_path))
    r = applied(cli, "--allow-delete")
    assert "1 deleted" in r.out
    assert RawApi(env.url).get(beta) is None
    assert "prod/beta" not in entries(state_doc(tmp_path))


def test_protected_delete_and_replace_are_refused(env: Any, cli: Any, tmp_path: Path) -> None:
    manifest(tmp_path, alpha=s3("Alpha", protect=True), beta=s3("Beta", protect=True))
    applied(cli)
    # alpha removed from the manifest, beta changes its auth spec: both need a delete
    manifest(
        tmp_path,
        beta={
            "type": "amazon-s3",
            "name": "Beta",
            "protect": True,
            "auth": {"specName": "IAMRole Based", "params": {"bucketName": "beta"}},
        },
    )
    r = cli("apply", "m.yaml", "--auto-approve", "--allow-delete")
    assert r.code == 1
    assert "prod/alpha is protected (protect: true) and no longer declared" in r.err
    assert "prod/beta is protected (protect: true), but changing its auth.specName needs a replace" in r.err
    assert len(RawApi(env.url).list()) == 2
    assert sorted(entries(state_doc(tmp_path))) == ["prod/alpha", "prod/beta"]


def test_auth_spec_change_replaces(env: Any, cli: Any, tmp_path: Path) -> None:
    manifest(tmp_path, beta=s3("Beta"))
    applied(cli)
    old = entries(state_doc(tmp_path))["prod/beta"]["id"]
    manifest(
        tmp_path,
        beta={"type": "amazon-s3", "name": "Beta", "auth": {"specName": "IAMRole Based", "params": {"bucketName": "beta"}}},
    )
    r = cli("plan", "m.yaml")
    assert "must be replaced" in r.out and "-/+" in r.out
    assert "Plan: 1 to create, 0 to update, 1 to delete, 0 to adopt." in r.out
    r = applied(cli, "--allow-delete")  # a replace deletes: guarded like a delete (issue 11)
    new = entries(state_doc(tmp_path))["prod/beta"]
    assert new["id"] != old and new["auth"]["specName"] == "IAMRole Based"
    assert [c["id"] for c in RawApi(env.url).list()] == [new["id"]]


def test_dev_and_prod_are_isolated(env: Any, cli: Any, tmp_path: Path) -> None:
    manifest(tmp_path, alpha=s3("Alpha"), beta=s3("Beta"))
    applied(cli, "--sandbox", "dev")
    applied(cli, "--sandbox", "prod")
    recorded = entries(state_doc(tmp_path))
    assert sorted(recorded) == ["dev/alpha", "dev/beta", "prod/alpha", "prod/beta"]
    api = RawApi(env.url)
    assert {c["id"] for c in api.list("dev")} == {recorded["dev/alpha"]["id"], recorded["dev/beta"]["id"]}
    assert {c["id"] for c in api.list("prod")} == {recorded["prod/alpha"]["id"], recorded["prod/beta"]["id"]}
    r = cli("destroy", "--sandbox", "dev", "--auto-approve")
    assert r.code == 0, r.err
    assert api.list("dev") == []
    assert len(api.list("prod")) == 2
    assert sorted(entries(state_doc(tmp_path))) == ["prod/alpha", "prod/beta"]


def test_unknown_sandbox_is_one_clear_error(env: Any, cli: Any, tmp_path: Path) -> None:
    manifest(tmp_path, alpha=s3("Alpha"))
    r = cli("plan", "m.yaml", "--sandbox", "qa")
    assert r.code == 1
    assert "qa" in r.err and "sandbox" in r.err
    assert len(r.err.strip().splitlines()) == 1


def test_destroy_keeps_unowned_and_protected(env: Any, cli: Any, tmp_path: Path) -> None:
    api = RawApi(env.url)
    foreign = api.create("Someone else's")["id"]
    manifest(tmp_path, alpha=s3("Alpha"), keep=s3("Keep", protect=True))
    applied(cli)
    keep = entries(state_doc(tmp_path))["prod/keep"]["id"]
    r = cli("destroy", "--auto-approve")
    assert r.code == 0, r.err
    assert "prod/keep is protected" in r.out
    assert {c["id"] for c in api.list()} == {foreign, keep}
    assert sorted(entries(state_doc(tmp_path))) == ["prod/keep"]


def test_import_adopts_and_refuses_what_it_must(env: Any, cli: Any, tmp_path: Path) -> None:
    api = RawApi(env.url)
    target = api.create("Made by hand", params={"s3AccessKey": "AKIAHAND", "s3SecretKey": "hand"})["id"]
    dev_one = api.create("In dev", sandbox="dev")["id"]
    manifest(tmp_path, alpha=s3("Made by hand"), beta=s3("Beta"))

    r = cli("import", "alpha", dev_one, "m.yaml")
    assert r.code == 1 and f"no connection {dev_one} exists in sandbox 'prod'" in r.err
    r = cli("import", "nope", target, "m.yaml")
    assert r.code == 1 and "'nope' is not declared" in r.err

    r = cli("import", "alpha", target, "m.yaml")
    assert r.code == 0, r.err
    assert entries(state_doc(tmp_path))["prod/alpha"]["id"] == target
    r = cli("import", "beta", target, "m.yaml")
    assert r.code == 1 and "already owned by prod/alpha" in r.err
    # the manifest's secrets are sent on the next apply: shown as a sensitive change
    r = cli("plan", "m.yaml")
    assert "auth.params.s3SecretKey" in r.out


def test_import_of_a_foreign_type_is_refused(env: Any, cli: Any, tmp_path: Path) -> None:
    api = RawApi(env.url)
    salesforce = api.create(
        "CRM",
        spec_id="cfc0fee1-7dc0-40ef-b73e-d8b134c436f5",
        spec_name="Basic Authentication",
        params={"username": "u", "password": "p", "securityToken": "t"},
    )["id"]
    manifest(tmp_path, alpha=s3("CRM"))
    r = cli("import", "alpha", salesforce, "m.yaml")
    assert r.code == 1
    assert (
        f"connection {salesforce} is a connection spec cfc0fee1-7dc0-40ef-b73e-d8b134c436f5 "
        "connection, but alpha is declared as amazon-s3" in r.err
    )
    assert not (tmp_path / "provisioner.state.json").exists()
    # and a same-named connection of another type is never adopted by plan
    r = cli("plan", "m.yaml")
    assert r.code == 0 and "Plan: 1 to create, 0 to update, 0 to delete, 0 to adopt." in r.out


def test_refresh_updates_the_state_and_reports_drift(env: Any, cli: Any, tmp_path: Path) -> None:
    manifest(tmp_path, alpha=s3("Alpha"), beta=s3("Beta"))
    applied(cli)
    recorded = entries(state_doc(tmp_path))
    api = RawApi(env.url, client_id="ui-colleague")
    api.patch(recorded["prod/alpha"]["id"], [{"op": "replace", "path": "/name", "value": "Alpha (UI)"}])
    api.delete(recorded["prod/beta"]["id"])
    r = cli("refresh")
    assert r.code == 0, r.err
    assert "prod/alpha: changed outside provisioner by ui-colleague" in r.out
    assert "prod/beta: deleted outside provisioner" in r.out
    after = entries(state_doc(tmp_path))
    assert after["prod/alpha"]["name"] == "Alpha (UI)"
    assert after["prod/alpha"]["etag"] != recorded["prod/alpha"]["etag"]
    remote = api.get(recorded["prod/alpha"]["id"])
    assert remote is not None and remote["name"] == "Alpha (UI)"  # refresh changed nothing remote


def test_several_files_and_directories_in_one_run(env: Any, cli: Any, tmp_path: Path) -> None:
    write_manifest(tmp_path / "team-a" / "one.yaml", {"alpha": s3("Alpha")})
    write_manifest(tmp_path / "team-a" / "two.yml", {"beta": s3("Beta")}, sandbox="dev")
    write_manifest(tmp_path / "gamma.yaml", {"gamma": s3("Gamma")})
    r = cli("apply", "team-a", "gamma.yaml", "--auto-approve")
    assert r.code == 0, r.err
    assert sorted(entries(state_doc(tmp_path))) == ["dev/beta", "prod/alpha", "prod/gamma"]
    r = cli("show")
    assert r.code == 0
    for where in ("alpha", "beta", "gamma"):
        assert where in r.out
    r = cli("state", "list")
    assert r.code == 0 and r.out.count("\n") >= 3
    r = cli("state", "rm", "gamma")
    assert r.code == 0
    assert sorted(entries(state_doc(tmp_path))) == ["dev/beta", "prod/alpha"]
    assert len(RawApi(env.url).list("prod")) == 2  # state rm deletes nothing remote


def test_stale_etag_is_reread_rechecked_and_retried_once(
    env: Any, cli: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from provisioner.apply import Executor
    from provisioner.runtime import connect
    from provisioner.state import StateStore
    from provisioner.workflow import load_manifests, make_plan

    manifest(tmp_path, alpha=s3("Alpha"))
    applied(cli)
    id = entries(state_doc(tmp_path))["prod/alpha"]["id"]
    manifest(tmp_path, alpha=s3("Alpha renamed"))
    store = StateStore("provisioner.state.json")
    state = store.load()
    caplog.set_level("INFO", logger="provisioner.http")
    with connect(emulator=False) as runtime:
        plan = make_plan(runtime, load_manifests(["m.yaml"], None), state, None)
        # A colleague edits the connection between our plan and our PATCH: our etag is stale.
        RawApi(env.url).patch(id, [{"op": "add", "path": "/description", "value": "meanwhile"}])
        with store.writer(state) as writer:
            outcomes = Executor(plan=plan, state=state, client=runtime.client, writer=writer).run()
    assert [(o.done, o.error) for o in outcomes] == [("updated", None)]
    patches = [line for line in caplog.text.splitlines() if f"PATCH {'/data/foundation/flowservice'}/connections/{id}" in line]
    assert len(patches) == 2 and "-> 412" in patches[0] and "-> 200" in patches[1], patches
    remote = RawApi(env.url).get(id)
    assert remote is not None
    assert remote["name"] == "Alpha renamed"
    assert "description" not in remote or remote["description"] in ("", None)  # re-checked
    assert entries(state_doc(tmp_path))["prod/alpha"]["etag"] == remote["etag"]


def test_verify_reports_connections_whose_credentials_fail(
    emulator_factory: Any, cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import point_env_at

    creds = tmp_path / "s3.json"
    creds.write_text(json.dumps({"accessKeys": {"AKIAGOOD": "good-secret"}, "buckets": ["beta"]}))
    emu = emulator_factory(s3_credentials_file=str(creds))
    point_env_at(monkeypatch, emu.url)
    monkeypatch.setenv("GOOD_KEY", "AKIAGOOD")
    monkeypatch.setenv("GOOD_SECRET", "good-secret")
    monkeypatch.setenv("BAD_SECRET", "wrong-secret")
    manifest(
        tmp_path,
        alpha=s3("Alpha", key_env="GOOD_KEY", secret_env="GOOD_SECRET"),
        beta={"type": "amazon-s3", "name": "Beta", "auth": {"specName": "IAMRole Based", "params": {"bucketName": "beta"}}},
        gamma=s3("Gamma", key_env="GOOD_KEY", secret_env="BAD_SECRET"),
    )
    r = cli("apply", "m.yaml", "--auto-approve", "--verify")
    assert r.code == 1
    assert "Apply complete! 3 created" in r.out
    assert "prod/gamma" in r.err and "verify failed" in r.err
    assert "prod/alpha" not in r.err and "prod/beta" not in r.err
    assert "Verify: 1 of 3 connections failed the test." in r.err
    r = cli("plan", "m.yaml", "--verify")
    assert r.code == 1 and "prod/gamma" in r.err
    monkeypatch.setenv("BAD_SECRET", "good-secret")  # rotate to the right secret
    r = cli("apply", "m.yaml", "--auto-approve", "--verify")
    assert r.code == 0, r.err
    assert "Verify: all 3 connections passed the test." in r.out


def _on_terminal(argv: list[str], answer: str, cwd: Path) -> tuple[int, str]:
    """Run the CLI on a real pseudo-terminal, type `answer` at the prompt, return (code, screen)."""
    import os
    import pty
    import subprocess
    import sys
    import time

    from tests.aep import child_env

    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "provisioner", *argv],
        stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=child_env(), close_fds=True,
    )
    os.close(slave)
    screen = b""
    deadline = time.monotonic() + 60
    answered = False
    while time.monotonic() < deadline:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        screen += chunk
        if not answered and b"Enter a value:" in screen:
            os.write(master, answer.encode() + b"\n")
            answered = True
    code = proc.wait(timeout=60)
    os.close(master)
    return code, screen.decode(errors="replace")


@pytest.mark.slow
def test_apply_asks_on_a_terminal(env: Any, tmp_path: Path) -> None:
    manifest(tmp_path, alpha=s3("Alpha"))
    code, screen = _on_terminal(["apply", "m.yaml"], "no", tmp_path)
    assert code == 1, screen
    assert "Do you want to perform these actions?" in screen and "Apply cancelled." in screen
    assert RawApi(env.url).list() == []
    code, screen = _on_terminal(["apply", "m.yaml"], "yes", tmp_path)
    assert code == 0, screen
    assert "Apply complete! 1 created" in screen
    assert len(RawApi(env.url).list()) == 1
