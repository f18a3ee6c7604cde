"""`state push` / `state pull` move a state between a local file and S3, never over a state of
another lineage (or a newer one) unless --force."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.aep import s3, write_manifest

pytestmark = pytest.mark.slow  # real servers and subprocesses: seconds each

STATE = "provisioner.state.json"


def test_push_then_pull_round_trips_and_refuses_another_lineage(
    aep: Any, aws_env: Any, remote: Any, run_cli: Any, tmp_path: Path
) -> None:
    aep()
    team, other = tmp_path / "team", tmp_path / "other"
    write_manifest(team / "m.yaml", {"c0": s3("Push 0"), "c1": s3("Push 1")})
    write_manifest(other / "m.yaml", {"o0": s3("Other 0")})
    for work in (team, other):
        applied = run_cli("apply", "m.yaml", "--auto-approve", cwd=work)
        assert applied.returncode == 0, applied.stderr
    local = json.loads((team / STATE).read_text())

    pushed = run_cli("state", "push", STATE, "--state", remote.url, cwd=team)
    assert pushed.returncode == 0, pushed.stderr
    assert f"Copied the state {STATE} to {remote.url}" in pushed.stdout
    assert json.loads(remote.get() or b"{}") == local  # the same lineage, serial and entries
    again = run_cli("state", "push", STATE, "--state", remote.url, cwd=team)
    assert again.returncode == 0 and "already holds this state" in again.stdout

    # From now on the team works on the remote state: plan sees no change.
    plan = run_cli("plan", "m.yaml", "--state", remote.url, "--detailed-exitcode", cwd=team)
    assert plan.returncode == 0, plan.stdout + plan.stderr

    refused = run_cli("state", "push", STATE, "--state", remote.url, cwd=other)
    assert refused.returncode == 1
    assert f"refusing to overwrite {remote.url}: it holds another state" in refused.stderr
    assert local["lineage"] in refused.stderr and "--force" in refused.stderr
    assert json.loads(remote.get() or b"{}") == local  # untouched

    pulled = run_cli("state", "pull", "pulled.json", "--state", remote.url, cwd=team)
    assert pulled.returncode == 0, pulled.stderr
    assert json.loads((team / "pulled.json").read_text()) == local
    into_other = run_cli("state", "pull", STATE, "--state", remote.url, cwd=other)
    assert into_other.returncode == 1 and "holds another state" in into_other.stderr

    forced = run_cli("state", "push", STATE, "--state", remote.url, "--force", cwd=other)
    assert forced.returncode == 0, forced.stderr
    other_state = json.loads((other / STATE).read_text())
    assert json.loads(remote.get() or b"{}") == other_state
    assert json.loads(remote.get(".backup") or b"{}") == local  # the replaced state is kept

    # A newer remote state is not overwritten by an older local copy.
    write_manifest(other / "m.yaml", {"o0": s3("Other 0"), "o1": s3("Other 1")})
    newer = run_cli("apply", "m.yaml", "--auto-approve", "--state", remote.url, cwd=other)
    assert newer.returncode == 0, newer.stderr
    older = run_cli("state", "push", STATE, "--state", remote.url, cwd=other)
    assert older.returncode == 1 and "it is newer (serial" in older.stderr
    assert "Traceback" not in older.stderr
