"""Every command that reads or writes state works on s3://BUCKET/KEY as on a local file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.aep import RawApi, s3, write_manifest

pytestmark = pytest.mark.slow  # real servers and subprocesses: seconds each


def test_the_whole_lifecycle_on_a_remote_state(
    aep: Any, aws_env: Any, remote: Any, run_cli: Any, tmp_path: Path
) -> None:
    emu = aep()
    api = RawApi(emu.url)
    write_manifest(tmp_path / "m.yaml", {f"c{i}": s3(f"Remote {i}") for i in range(3)})
    st = ["--state", remote.url]

    plan = run_cli("plan", "m.yaml", *st, "--out", "p.plan", cwd=tmp_path)
    assert plan.returncode == 0, plan.stderr
    assert "Plan: 3 to create" in plan.stdout, plan.stdout[-300:]
    assert remote.get() is None  # plan writes nothing

    applied = run_cli("apply", "p.plan", *st, cwd=tmp_path)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    doc = json.loads(remote.get() or b"{}")
    assert doc["serial"] >= 1
    assert remote.objects() == ["", ".backup"] or remote.objects() == [""]
    assert not remote.journal_keys()
    assert len(api.list()) == 3

    # The saved plan is stale now: the remote state moved on.
    stale = run_cli("apply", "p.plan", *st, cwd=tmp_path)
    assert stale.returncode == 1
    assert "the state changed" in stale.stderr and remote.url in stale.stderr
    assert "Traceback" not in stale.stderr

    listed = run_cli("state", "list", *st, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert [line.split()[0] for line in listed.stdout.splitlines()] == [
        "prod/c0",
        "prod/c1",
        "prod/c2",
    ]
    shown = run_cli("state", "show", "c1", *st, cwd=tmp_path)
    assert shown.returncode == 0 and '"Remote 1"' in shown.stdout
    show = run_cli("show", *st, cwd=tmp_path)
    assert show.returncode == 0 and f"# State {remote.url}: serial" in show.stdout
    as_json = run_cli("show", "--json", *st, cwd=tmp_path)
    assert json.loads(as_json.stdout)["lineage"] == doc["lineage"]

    c1 = next(c for c in api.list() if c["name"] == "Remote 1")
    removed = run_cli("state", "rm", "c1", *st, cwd=tmp_path)
    assert removed.returncode == 0, removed.stderr
    imported = run_cli("import", "c1", c1["id"], "m.yaml", *st, cwd=tmp_path)
    assert imported.returncode == 0, imported.stdout + imported.stderr

    refreshed = run_cli("refresh", "m.yaml", *st, cwd=tmp_path)
    assert refreshed.returncode == 0, refreshed.stdout + refreshed.stderr
    # An imported entry has no fingerprint of its secret yet: one apply records it.
    again = run_cli("apply", "m.yaml", *st, "--auto-approve", cwd=tmp_path)
    assert again.returncode == 0 and "1 updated" in again.stdout, again.stdout + again.stderr
    clean = run_cli("plan", "m.yaml", *st, "--detailed-exitcode", cwd=tmp_path)
    assert clean.returncode == 0, clean.stdout + clean.stderr

    unlocked = run_cli("force-unlock", *st, cwd=tmp_path)
    assert unlocked.returncode == 0 and "is not locked" in unlocked.stdout

    destroyed = run_cli("destroy", "m.yaml", *st, "--auto-approve", cwd=tmp_path)
    assert destroyed.returncode == 0, destroyed.stdout + destroyed.stderr
    assert api.list() == []
    assert json.loads(remote.get() or b"{}")["resources"] == {}
    assert remote.get(".lock") is None
    assert not remote.journal_keys()
    # Nothing was written next to the manifests: the state lives in S3 only.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.yaml", "p.plan"]


def test_provisioner_state_gives_the_default(
    aep: Any, aws_env: Any, remote: Any, run_cli: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    aep()
    write_manifest(tmp_path / "m.yaml", {"c0": s3("Env default")})
    monkeypatch.setenv("PROVISIONER_STATE", remote.url)
    applied = run_cli("apply", "m.yaml", "--auto-approve", cwd=tmp_path)
    assert applied.returncode == 0, applied.stderr
    assert remote.get() is not None
    assert not (tmp_path / "provisioner.state.json").exists()
    listed = run_cli("state", "list", cwd=tmp_path)
    assert listed.stdout.split()[0] == "prod/c0"
