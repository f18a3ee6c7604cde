"""Issue 3 end to end: plan, apply, a clean second plan, adoption, ambiguity, locks, secrets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.aep import RawApi, child_env, s3, write_manifest

SECRET = "SENTINEL-secret-value-0123456789"


@pytest.fixture
def env(aep_env: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("TEST_S3_KEY", "AKIAEXAMPLEKEY")
    monkeypatch.setenv("TEST_S3_SECRET", SECRET)
    return aep_env


def three(tmp_path: Path) -> Path:
    return write_manifest(
        tmp_path / "manifests" / "s3.yaml",
        {
            "alpha": s3("Alpha bucket", description="first"),
            "beta": s3("Beta bucket", params={"bucketName": "beta-bucket"}),
            "gamma": s3("Gamma bucket", protect=True),
        },
    )


def state_doc(tmp_path: Path) -> dict[str, Any]:
    return json.loads((tmp_path / "provisioner.state.json").read_text())  # type: ignore[no-any-return]


def entries(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for org in doc["resources"].values():
        for sandbox, addresses in org.items():
            for address, entry in addresses.items():
                out[f"{sandbox}/{address}"] = entry
    return out


def test_plan_on_empty_sandbox_shows_creates_and_exits_2(env: Any, cli: Any, tmp_path: Path) -> None:
    three(tmp_path)
    r = cli("plan", "manifests", "--detailed-exitcode")
    assert r.code == 2, r.err
    assert r.out.count("will be created") == 3
    assert "+ connection \"alpha\"" in r.out
    assert "auth.params.s3SecretKey = (sensitive)" in r.out
    assert "Plan: 3 to create, 0 to update, 0 to delete, 0 to adopt." in r.out
    # plan changes nothing: no state written, nothing remote
    assert not (tmp_path / "provisioner.state.json").exists()
    assert RawApi(env.url).list() == []


def test_apply_records_ids_that_exist_and_second_plan_is_clean(env: Any, cli: Any, tmp_path: Path) -> None:
    three(tmp_path)
    r = cli("apply", "manifests", "--auto-approve")
    assert r.code == 0, r.err
    assert "Apply complete! 3 created" in r.out
    recorded = entries(state_doc(tmp_path))
    assert sorted(recorded) == ["prod/alpha", "prod/beta", "prod/gamma"]
    remote = {c["id"]: c for c in RawApi(env.url).list()}
    assert sorted(remote) == sorted(e["id"] for e in recorded.values())
    for e in recorded.values():
        assert remote[e["id"]]["name"] == e["name"]
        assert remote[e["id"]]["etag"] == e["etag"]  # quotes and all
    assert recorded["prod/gamma"]["protect"] is True
    assert recorded["prod/beta"]["auth"]["params"]["bucketName"] == "beta-bucket"

    before = (tmp_path / "provisioner.state.json").read_bytes()
    r = cli("plan", "manifests", "--detailed-exitcode")
    assert r.code == 0, r.out + r.err
    assert "No changes." in r.out
    r = cli("apply", "manifests", "--auto-approve")
    assert r.code == 0
    assert (tmp_path / "provisioner.state.json").read_bytes() == before  # byte-for-byte stable


def test_lost_state_is_adopted_never_created(env: Any, cli: Any, tmp_path: Path) -> None:
    three(tmp_path)
    assert cli("apply", "manifests", "--auto-approve").code == 0
    ids = sorted(e["id"] for e in entries(state_doc(tmp_path)).values())
    for f in tmp_path.glob("provisioner.state.json*"):
        f.unlink()
    r = cli("plan", "manifests", "--detailed-exitcode")
    assert r.code == 2
    # The secrets cannot be read back, so adopting makes them true: an update each (issue 11).
    assert "Plan: 0 to create, 3 to update, 0 to delete, 3 to adopt." in r.out
    assert r.out.count("will be adopted and updated") == 3
    r = cli("apply", "manifests", "--auto-approve")
    assert r.code == 0, r.err
    assert sorted(e["id"] for e in entries(state_doc(tmp_path)).values()) == ids
    assert len(RawApi(env.url).list()) == 3
    assert cli("plan", "manifests", "--detailed-exitcode").code == 0


def test_two_remote_connections_with_the_declared_name_is_an_error(env: Any, cli: Any, tmp_path: Path) -> None:
    api = RawApi(env.url)
    a = api.create("Alpha bucket")["id"]
    b = api.create("Alpha bucket")["id"]
    write_manifest(tmp_path / "m.yaml", {"alpha": s3("Alpha bucket")})
    r = cli("plan", "m.yaml")
    assert r.code == 1
    assert a in r.err and b in r.err
    assert "provisioner import alpha CONNECTION_ID" in r.err
    assert "Traceback" not in r.err


@pytest.mark.slow
def test_apply_without_terminal_needs_auto_approve(env: Any, tmp_path: Path, run_cli: Any) -> None:
    three(tmp_path)
    p = run_cli("apply", "manifests", stdin=subprocess.DEVNULL, cwd=tmp_path, env=dict(os.environ))
    assert p.returncode == 1
    assert "--auto-approve" in p.stderr
    assert RawApi(env.url).list() == []


def hold_lock(tmp_path: Path, seconds: float) -> subprocess.Popen[str]:
    """A real process holding the state lock for `seconds`; returns once it holds it."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import time\n"
                "from provisioner.state import StateStore\n"
                "with StateStore('provisioner.state.json').lock('apply', 0):\n"
                "    print('held', flush=True)\n"
                f"    time.sleep({seconds})\n"
            ),
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        text=True,
        env=child_env(),
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_held_lock_refuses_a_second_run_naming_the_holder(env: Any, tmp_path: Path, cli: Any) -> None:
    three(tmp_path)
    holder = hold_lock(tmp_path, 60)
    try:
        r = cli("apply", "manifests", "--auto-approve")
        assert r.code == 1
        assert f"pid {holder.pid}" in r.err
        assert "locked" in r.err
        assert RawApi(env.url).list() == []
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.slow
def test_lock_timeout_waits_for_the_holder(env: Any, tmp_path: Path, cli: Any) -> None:
    three(tmp_path)
    holder = hold_lock(tmp_path, 1.5)
    try:
        r = cli("apply", "manifests", "--auto-approve", "--lock-timeout", "30")
        assert r.code == 0, r.err
        assert len(RawApi(env.url).list()) == 3
    finally:
        holder.wait(timeout=30)


@pytest.mark.slow
def test_secrets_never_appear_anywhere(env: Any, tmp_path: Path, run_cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    three(tmp_path)
    environ = dict(os.environ)
    runs = [
        run_cli("--debug", "plan", "manifests", cwd=tmp_path, env=environ),
        run_cli("--debug", "apply", "manifests", "--auto-approve", cwd=tmp_path, env=environ),
        run_cli("--debug", "plan", "manifests", cwd=tmp_path, env=environ),
    ]
    # rotate the secret: the update must not show either value
    environ["TEST_S3_SECRET"] = SECRET + "-rotated"
    runs.append(run_cli("--debug", "apply", "manifests", "--auto-approve", cwd=tmp_path, env=environ))
    for p in runs:
        assert p.returncode == 0, p.stderr
        for text in (p.stdout, p.stderr):
            assert SECRET not in text
            assert "test-client-secret-value" not in text
    assert "DEBUG" in runs[0].stderr  # the debug log was really on
    assert "s3SecretKey" in runs[3].stdout  # the rotation was planned...
    assert "(sensitive" in runs[3].stdout  # ...and masked
    for f in tmp_path.iterdir():
        if f.is_file():
            assert SECRET.encode() not in f.read_bytes(), f.name


def test_missing_env_variable_sends_nothing(env: Any, tmp_path: Path, cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    three(tmp_path)
    monkeypatch.delenv("TEST_S3_SECRET")
    r = cli("apply", "manifests", "--auto-approve")
    assert r.code == 1
    assert "TEST_S3_SECRET" in r.err
    assert RawApi(env.url).list() == []


def test_missing_credentials_is_one_sentence(tmp_path: Path, cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_S3_KEY", "k")
    monkeypatch.setenv("TEST_S3_SECRET", "s")
    three(tmp_path)
    r = cli("plan", "manifests")
    assert r.code == 1
    assert "AEP_CLIENT_ID" in r.err and "--emulator" in r.err
    assert len(r.err.strip().splitlines()) == 1


def test_emulator_flag_runs_plan_and_apply_with_no_setup(tmp_path: Path, cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_S3_KEY", "k")
    monkeypatch.setenv("TEST_S3_SECRET", "s")
    three(tmp_path)
    assert cli("plan", "manifests", "--emulator", "--detailed-exitcode").code == 2
    r = cli("apply", "manifests", "--emulator", "--auto-approve")
    assert r.code == 0, r.err
    assert (tmp_path / ".provisioner" / "emulator.db").exists()
    r = cli("plan", "manifests", "--emulator", "--detailed-exitcode")
    assert r.code == 0, r.out + r.err
