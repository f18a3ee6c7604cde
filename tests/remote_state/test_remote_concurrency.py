"""Four runners in four working directories apply one manifest to one remote state in S3."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.aep import RawApi, s3, write_manifest
from tests.reliability.helpers import figure

pytestmark = pytest.mark.slow  # real servers and subprocesses: seconds each

RUNNERS = 4
N = 24


def _runners(tmp_path: Path, names: dict[str, str]) -> list[Path]:
    dirs = []
    for i in range(RUNNERS):
        work = tmp_path / f"runner{i}"
        write_manifest(work / "m.yaml", {a: s3(n) for a, n in names.items()})
        dirs.append(work)
    return dirs


def _start_all(spawn_cli: Any, dirs: list[Path], url: str, *extra: str) -> list[Any]:
    # Latency makes each apply last seconds: every runner starts while the first still holds
    # the lock.
    return [
        spawn_cli(
            "apply",
            "m.yaml",
            "--auto-approve",
            "--parallelism",
            "2",
            "--state",
            url,
            *extra,
            cwd=work,
        )
        for work in dirs
    ]


def _finish(procs: list[Any]) -> list[tuple[int, str, str]]:
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        results.append((proc.returncode, out, err))
    return results


def _check_remote(api: RawApi, names: dict[str, str], remote: Any) -> None:
    mine = [c for c in api.list() if c["name"] in names.values()]
    assert len(mine) == len({c["name"] for c in mine}) == N  # 0 duplicates
    doc = json.loads(remote.get() or b"{}")
    ids = {a: e["id"] for o in doc["resources"].values() for s in o.values() for a, e in s.items()}
    assert ids == {a: {c["name"]: c["id"] for c in mine}[n] for a, n in names.items()}
    assert remote.get(".lock") is None
    assert not remote.journal_keys()


def test_four_runners_one_proceeds_three_are_refused_naming_the_holder(
    aep: Any, aws_env: Any, remote: Any, spawn_cli: Any, run_cli: Any, tmp_path: Path
) -> None:
    emu = aep(latency_ms=100)
    api = RawApi(emu.url)
    names = {f"c{i:02d}": f"Runner {i:02d}" for i in range(N)}
    results = _finish(_start_all(spawn_cli, _runners(tmp_path, names), remote.url))
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 1, 1, 1], [(c, e[-500:]) for c, _, e in results]
    winner = next(out for code, out, _ in results if code == 0)
    assert f"{N} created" in winner
    for code, out, err in results:
        if code == 1:
            assert f"the state {remote.url} is locked by 'apply'" in err, err
            assert re.search(r"pid \d+ on host \S+, in \S+runner\d", err), err
            assert "--lock-timeout" in err and "force-unlock --state s3://" in err
            assert "Traceback" not in err
            assert "created" not in out
    _check_remote(api, names, remote)
    # Every runner now sees the same, complete state.
    for work in _runners(tmp_path, names):
        plan = run_cli("plan", "m.yaml", "--state", remote.url, "--detailed-exitcode", cwd=work)
        assert plan.returncode == 0, plan.stdout + plan.stderr
    figure(
        "remote-state concurrent runners",
        runners=RUNNERS,
        proceeded=1,
        refused=3,
        duplicates=0,
        connections=N,
    )


def test_four_runners_with_lock_timeout_are_serialised(
    aep: Any, aws_env: Any, remote: Any, spawn_cli: Any, tmp_path: Path
) -> None:
    emu = aep(latency_ms=30)
    api = RawApi(emu.url)
    names = {f"c{i:02d}": f"Serial {i:02d}" for i in range(N)}
    dirs = _runners(tmp_path, names)
    results = _finish(_start_all(spawn_cli, dirs, remote.url, "--lock-timeout", "240"))
    assert [code for code, _, _ in results] == [0] * RUNNERS, [e[-500:] for _, _, e in results]
    created = [out for _, out, _ in results if f"{N} created" in out]
    assert len(created) == 1  # the first did the work; the others found nothing to do
    waited = [err for _, _, err in results if "Waiting up to 240 seconds for the state lock" in err]
    assert len(waited) >= 1
    _check_remote(api, names, remote)
    for work in dirs:  # nothing local: the state is in S3 only
        assert not any(p.name.startswith("provisioner.state") for p in work.iterdir())
    shutil.rmtree(tmp_path / "runner0")
    figure(
        "remote-state serialised runners",
        runners=RUNNERS,
        exit_0=RUNNERS,
        waited=len(waited),
        duplicates=0,
        connections=N,
    )
