"""Crash safety of the remote state: SIGKILL at seeded moments, and a lock broken under a
running apply. Every rerun converges: 0 lost ids, 0 duplicates."""

from __future__ import annotations

import json
import random
import re
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.aep import RawApi, s3, write_manifest
from tests.reliability.helpers import figure

pytestmark = pytest.mark.slow  # real servers and subprocesses: seconds each

ROUNDS = 8
N = 20
SEED = 20261201


def _ids(remote: Any) -> dict[str, str]:
    raw = remote.get()
    if raw is None:
        return {}
    doc = json.loads(raw)
    return {a: e["id"] for o in doc["resources"].values() for s in o.values() for a, e in s.items()}


def _converged(api: RawApi, names: dict[str, str], remote: Any) -> None:
    mine = [c for c in api.list() if c["name"] in names.values()]
    assert len(mine) == len({c["name"] for c in mine}) == len(names), "duplicates"
    by_name = {c["name"]: c["id"] for c in mine}
    assert _ids(remote) == {a: by_name[n] for a, n in names.items()}, "lost ids"
    assert not remote.journal_keys()
    assert remote.get(".lock") is None


def _applying(
    spawn_cli: Any, work: Path, url: str, until: str | None = "Plan:", parallelism: int = 3
) -> Any:
    proc = spawn_cli(
        "apply",
        "m.yaml",
        "--auto-approve",
        "--parallelism",
        str(parallelism),
        "--state",
        url,
        cwd=work,
    )
    if until is not None:
        while (line := proc.stdout.readline()) and not line.startswith(until):
            pass
    return proc


def test_apply_killed_at_seeded_moments_converges_on_rerun(
    aep: Any, aws_env: Any, remote: Any, spawn_cli: Any, run_cli: Any, tmp_path: Path
) -> None:
    # Latency makes the writes of an apply last about 1.5 s: most kills land among them.
    emu = aep(latency_ms=80)
    api = RawApi(emu.url)
    rng = random.Random(SEED)
    seen: Counter[str] = Counter()
    names: dict[str, str] = {}
    work = tmp_path / "work"
    for round_ in range(ROUNDS):
        # Each round declares N more connections in the same remote state.
        names.update({f"r{round_}c{i:02d}": f"Kill {round_}-{i:02d}" for i in range(N)})
        write_manifest(work / "m.yaml", {a: s3(n) for a, n in names.items()})
        # A moment anywhere from start-up on (every 4th round), or among the writes.
        proc = _applying(spawn_cli, work, remote.url, until=None if round_ % 4 == 0 else "Plan:")
        time.sleep(rng.uniform(0.0, 2.0) if round_ % 4 == 0 else rng.uniform(0.0, 1.2))
        running = proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        created = len([c for c in api.list() if c["name"] in names.values()])
        seen["killed running" if running else "finished before the kill"] += 1
        if running and 0 < created - round_ * N < N:
            seen["killed mid-apply"] += 1
        pieces = remote.journal_keys()
        if pieces:
            seen["journal objects left behind"] += 1
            seen["journal objects"] += len(pieces)

        if remote.get(".lock") is not None:
            seen["stale lock left behind"] += 1
            refused = run_cli("apply", "m.yaml", "--auto-approve", "--state", remote.url, cwd=work)
            assert refused.returncode == 1
            assert "stale lock left by a process that no longer runs" in refused.stderr
            assert f"pid {proc.pid}" in refused.stderr
            assert "Traceback" not in refused.stderr
            unlocked = run_cli("force-unlock", "--state", remote.url, cwd=work)
            assert unlocked.returncode == 0, unlocked.stderr
            assert "the lock is stale" in unlocked.stdout

        rerun = run_cli(
            "apply",
            "m.yaml",
            "--auto-approve",
            "--parallelism",
            "3",
            "--state",
            remote.url,
            cwd=work,
        )
        assert rerun.returncode == 0, rerun.stdout[-2000:] + rerun.stderr[-2000:]
        if m := re.search(r"(\d+) adopted", rerun.stdout):
            seen["adopted on rerun"] += int(m.group(1))
        _converged(api, names, remote)
        seen["rounds converged"] += 1
    assert seen["killed mid-apply"] >= 3, seen
    assert seen["journal objects left behind"] >= 2, seen
    figure(
        "remote-state kills",
        kills=ROUNDS,
        seed=SEED,
        **{k.replace(" ", "_"): v for k, v in sorted(seen.items())},
        duplicates=0,
        lost_ids=0,
        connections=len(names),
    )


def test_a_lock_broken_under_a_running_apply_refuses_its_next_write(
    aep: Any, aws_env: Any, remote: Any, spawn_cli: Any, run_cli: Any, tmp_path: Path
) -> None:
    emu = aep(latency_ms=250)  # with --parallelism 1: about 10 s of creates
    api = RawApi(emu.url)
    names = {f"c{i:02d}": f"Broken {i:02d}" for i in range(N)}
    holder_dir, other_dir = tmp_path / "holder", tmp_path / "other"
    write_manifest(holder_dir / "m.yaml", {a: s3(n) for a, n in names.items()})
    other = {"x0": "Other 0"}
    write_manifest(other_dir / "m.yaml", {a: s3(n) for a, n in other.items()})
    proc = _applying(spawn_cli, holder_dir, remote.url, parallelism=1)
    # Wait until it has recorded some results, then break its lock from elsewhere.
    for _ in range(3):
        assert "created" in proc.stdout.readline()
    info = run_cli("force-unlock", "--state", remote.url, cwd=other_dir)
    assert info.returncode == 1  # alive: refused without --force, after naming the holder
    assert "is locked by 'apply' (user" in info.stdout and f"pid {proc.pid}" in info.stdout
    assert "--force" in info.stderr
    broken = run_cli("force-unlock", "--state", remote.url, "--force", cwd=other_dir)
    assert broken.returncode == 0 and "Lock removed" in broken.stdout, broken.stderr
    # Another run takes the lock and writes the state meanwhile (folding what it finds).
    between = run_cli("apply", "m.yaml", "--auto-approve", "--state", remote.url, cwd=other_dir)
    assert between.returncode == 0, between.stdout + between.stderr
    serial_between = json.loads(remote.get() or b"{}")["serial"]

    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 1, out + err
    assert f"the lock on the state {remote.url} was removed while this run held it" in err, err
    assert "this run's results are kept in the journal objects" in err
    assert "Traceback" not in err
    assert json.loads(remote.get() or b"{}")["serial"] == serial_between  # not overwritten
    # Its results are in the state (folded by the run between) or in journal objects.
    left = len(remote.journal_keys())

    rerun = run_cli("apply", "m.yaml", "--auto-approve", "--state", remote.url, cwd=holder_dir)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "0 created" in rerun.stdout  # everything the broken run created was kept
    everything = {**names, **other}
    mine = [c for c in api.list() if c["name"] in everything.values()]
    assert len(mine) == len({c["name"] for c in mine}) == len(everything)
    ids = _ids(remote)
    by_name = {c["name"]: c["id"] for c in mine}
    assert ids == {a: by_name[n] for a, n in everything.items()}
    assert not remote.journal_keys()
    figure(
        "remote-state broken lock",
        holder_refused=1,
        journal_objects_left_by_holder=left,
        duplicates=0,
        lost_ids=0,
    )
