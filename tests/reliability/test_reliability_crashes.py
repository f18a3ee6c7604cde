"""Crashes: apply SIGKILLed at seeded random moments; each rerun converges, nothing duplicated or lost."""

from __future__ import annotations

import os
import random
import re
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.aep import RawApi, s3, write_manifest
from tests.reliability.helpers import figure, spawn_applying, state_ids

ROUNDS = 12
N = 40  # connections per round
SEED = 20261127


@pytest.mark.slow
def test_apply_killed_at_random_moments_converges_on_rerun(
    emulator_factory: Any, env_for: Any, counted: Any, spawn_cli: Any, run_cli: Any, tmp_path: Path
) -> None:
    # Latency makes an apply long enough (~1 s) to be killed in the middle of its writes;
    # 10% of creates fail after their commit, so some kills land inside an uncertain create.
    emu = env_for(emulator_factory(latency_ms=40, commit_fail_rate=0.1, seed=SEED))
    faults = counted(emu)
    api = RawApi(emu.url)
    rng = random.Random(SEED)
    seen: Counter[str] = Counter()
    started = time.monotonic()
    for round_ in range(ROUNDS):
        work = tmp_path / f"round{round_}"
        names = {f"c{i:02d}": f"Crash {round_:02d}-{i:02d}" for i in range(N)}
        write_manifest(work / "m.yaml", {a: s3(n) for a, n in names.items()})
        if round_ % 2 == 0:
            # A moment anywhere in start-up, locking, listing and planning.
            proc = spawn_applying(spawn_cli, work, until=None)
            time.sleep(rng.uniform(0.05, 0.8))
        else:
            # A moment among the writes: counted from the plan's summary line, so a slow
            # machine's start-up does not move every kill before the first create.
            proc = spawn_applying(spawn_cli, work)
            time.sleep(rng.uniform(0.0, 0.6))
        killed_running = proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        mine = [c for c in api.list() if c["name"] in names.values()]
        if not killed_running:
            seen["finished before the kill"] += 1
        elif len(mine) == 0:
            seen["killed before any create"] += 1
        elif len(mine) < N:
            seen["killed mid-apply"] += 1
        else:
            seen["killed after the last create"] += 1
        if (work / "provisioner.state.json.journal").exists():
            seen["journal left behind"] += 1

        if (work / "provisioner.state.json.lock").exists():
            seen["stale lock left behind"] += 1
            refused = run_cli("apply", "m.yaml", "--auto-approve", cwd=work)
            assert refused.returncode == 1
            assert "stale lock left by a process that no longer runs" in refused.stderr
            assert f"pid {proc.pid}" in refused.stderr
            assert "provisioner force-unlock" in refused.stderr
            assert "Traceback" not in refused.stderr
            unlocked = run_cli("force-unlock", cwd=work)
            assert unlocked.returncode == 0, unlocked.stderr
            assert "the lock is stale" in unlocked.stdout
            assert "Lock removed" in unlocked.stdout

        rerun = run_cli("apply", "m.yaml", "--auto-approve", "--parallelism", "4", cwd=work)
        assert rerun.returncode == 0, rerun.stdout[-2000:] + rerun.stderr[-2000:]
        assert "Traceback" not in rerun.stderr
        # Created before the kill but not yet recorded: found by name and adopted, not re-created.
        if m := re.search(r"(\d+) adopted", rerun.stdout):
            seen["adopted on rerun"] += int(m.group(1))

        mine = [c for c in api.list() if c["name"] in names.values()]
        remote_names = [c["name"] for c in mine]
        assert len(remote_names) == len(set(remote_names)) == N, f"round {round_}: duplicates"
        ids = state_ids(work / "provisioner.state.json")
        by_name = {c["name"]: c["id"] for c in mine}
        assert ids == {a: by_name[n] for a, n in names.items()}, f"round {round_}: lost ids"
        final = run_cli("plan", "m.yaml", "--detailed-exitcode", cwd=work)
        assert final.returncode == 0, final.stdout + final.stderr
        seen["rounds converged"] += 1

    # The kills must have hit applies at work, or this test would prove little.
    assert seen["killed mid-apply"] >= 3, seen
    assert seen["stale lock left behind"] >= 3, seen
    remote = api.list()
    assert len(remote) == len({c["name"] for c in remote}) == ROUNDS * N
    figure(
        "crashes",
        kills=ROUNDS,
        seed=SEED,
        **{k.replace(" ", "_"): v for k, v in sorted(seen.items())},
        duplicates=0,
        lost_ids=0,
        injected_500_after_write=faults["injected 500 after write"],
        remote_connections=len(remote),
        seconds=round(time.monotonic() - started, 1),
    )


@pytest.mark.slow
def test_updates_and_deletes_killed_at_random_moments_converge(
    emulator_factory: Any,
    env_for: Any,
    spawn_cli: Any,
    run_cli: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    emu = env_for(emulator_factory(latency_ms=40, commit_fail_rate=0.1, seed=SEED + 1))
    api = RawApi(emu.url)
    rng = random.Random(SEED + 1)
    seen: Counter[str] = Counter()

    def declare(version: int, count: int = N) -> dict[str, str]:
        names = {f"c{i:02d}": f"Update {i:02d} v{version}" for i in range(count)}
        write_manifest(
            tmp_path / "m.yaml", {a: s3(n, description=f"v{version}") for a, n in names.items()}
        )
        return names

    declare(0)
    assert run_cli("apply", "m.yaml", "--auto-approve", cwd=tmp_path).returncode == 0
    ids = state_ids(tmp_path / "provisioner.state.json")
    rounds = 6
    for version in range(1, rounds + 1):
        last = version == rounds
        # Every round renames and rotates the secret of every connection; the last one also
        # drops half of them, with --allow-delete.
        monkeypatch.setenv("TEST_S3_SECRET", f"secret-v{version}")
        names = declare(version, N // 2 if last else N)
        extra = ("--allow-delete",) if last else ()
        proc = spawn_applying(spawn_cli, tmp_path, *extra)
        time.sleep(rng.uniform(0.0, 0.5))
        seen["killed while running" if proc.poll() is None else "finished before the kill"] += 1
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        if (tmp_path / "provisioner.state.json.lock").exists():
            refused = run_cli("apply", "m.yaml", "--auto-approve", cwd=tmp_path)
            assert refused.returncode == 1 and "stale lock" in refused.stderr
            assert run_cli("force-unlock", cwd=tmp_path).returncode == 0
        rerun = run_cli("apply", "m.yaml", "--auto-approve", *extra, cwd=tmp_path)
        assert rerun.returncode == 0, rerun.stdout[-2000:] + rerun.stderr[-2000:]
        remote = api.list()
        want = {ids[a]: (n, f"v{version}") for a, n in names.items()}
        assert {c["id"]: (c["name"], c.get("description")) for c in remote} == want
        assert state_ids(tmp_path / "provisioner.state.json") == {a: ids[a] for a in names}
        final = run_cli("plan", "m.yaml", "--detailed-exitcode", cwd=tmp_path)
        assert final.returncode == 0, final.stdout + final.stderr
    assert seen["killed while running"] >= 3, seen
    figure(
        "crashes-updates",
        rounds=rounds,
        **{k.replace(" ", "_"): v for k, v in seen.items()},
        replaced=0,
        duplicates=0,
        lost=0,
    )


@pytest.mark.slow
def test_destroy_killed_at_random_moments_converges(
    emulator_factory: Any, env_for: Any, spawn_cli: Any, run_cli: Any, tmp_path: Path
) -> None:
    emu = env_for(emulator_factory(latency_ms=40, commit_fail_rate=0.1, seed=SEED + 2))
    api = RawApi(emu.url)
    rng = random.Random(SEED + 2)
    write_manifest(tmp_path / "m.yaml", {f"c{i:02d}": s3(f"Destroy {i:02d}") for i in range(N)})
    assert run_cli("apply", "m.yaml", "--auto-approve", cwd=tmp_path).returncode == 0
    left = [N]
    for _ in range(3):
        proc = spawn_cli(
            "destroy",
            "m.yaml",
            "--auto-approve",
            "--parallelism",
            "2",
            cwd=tmp_path,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert proc.stdout is not None
        # From the first delete reported, a moment among the others.
        while (line := proc.stdout.readline()) and ": deleted (id " not in line:
            pass
        time.sleep(rng.uniform(0.0, 0.2))
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        if (tmp_path / "provisioner.state.json.lock").exists():
            assert run_cli("force-unlock", cwd=tmp_path).returncode == 0
        remote = {c["id"] for c in api.list()}
        owned = set(state_ids(tmp_path / "provisioner.state.json").values())
        # Never an orphan: the state forgets a connection only once it is gone. (An entry
        # whose delete landed just before the kill may remain; the next run sees it gone.)
        assert remote <= owned, "a connection the state forgot is still there"
        left.append(len(remote))
    final = run_cli("destroy", "m.yaml", "--auto-approve", cwd=tmp_path)
    assert final.returncode == 0, final.stdout + final.stderr
    assert api.list() == []
    assert state_ids(tmp_path / "provisioner.state.json") == {}
    assert left[-1] < N, left  # the kills did land among the deletes
    figure("crashes-destroy", kills=3, remote_after_each_kill=left, remote_at_end=0)


@pytest.mark.slow
def test_apply_cancelled_with_sigterm_unwinds_and_converges(
    emulator_factory: Any, env_for: Any, spawn_cli: Any, run_cli: Any, tmp_path: Path
) -> None:
    # A pipeline that cancels a job sends SIGTERM: the apply stops starting writes, records
    # those in flight, releases its lock and exits 130, so the next run needs no force-unlock.
    emu = env_for(emulator_factory(latency_ms=40, seed=SEED + 3))
    api = RawApi(emu.url)
    rng = random.Random(SEED + 3)
    codes = []
    for round_ in range(4):
        work = tmp_path / f"round{round_}"
        names = {f"c{i:02d}": f"Term {round_}-{i:02d}" for i in range(N)}
        write_manifest(work / "m.yaml", {a: s3(n) for a, n in names.items()})
        proc = spawn_applying(spawn_cli, work)
        time.sleep(rng.uniform(0.0, 0.4))
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        codes.append(proc.returncode)
        assert proc.returncode in (0, 130), err
        if proc.returncode == 130:
            assert "Interrupted." in err and "Traceback" not in err, err
        assert not (work / "provisioner.state.json.lock").exists(), "SIGTERM left the lock"
        assert not (work / "provisioner.state.json.journal").exists(), "SIGTERM left the journal"
        recorded = state_ids(work / "provisioner.state.json")
        remote = {c["name"]: c["id"] for c in api.list() if c["name"] in names.values()}
        # Everything created before the signal is in the state: nothing to adopt later.
        assert recorded == {a: remote[n] for a, n in names.items() if n in remote}
        rerun = run_cli("apply", "m.yaml", "--auto-approve", cwd=work)
        assert rerun.returncode == 0, rerun.stderr
        assert "0 adopted" in rerun.stdout, rerun.stdout[-500:]  # nothing was left unrecorded
        assert run_cli("plan", "m.yaml", "--detailed-exitcode", cwd=work).returncode == 0
    assert codes.count(130) >= 2, codes
    figure("sigterm", rounds=4, exit_codes=codes, locks_left=0, journals_left=0)
