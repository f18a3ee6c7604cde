"""Concurrency: four applies on one state; one proceeds, the others are refused or wait their turn."""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests.aep import RawApi, s3, write_manifest
from tests.reliability.helpers import figure

N = 20


def start_four(spawn_cli: Any, work: Path, *extra: str) -> list[Any]:
    argv = ("apply", "m.yaml", "--auto-approve", "--parallelism", "2", *extra)
    return [spawn_cli(*argv, cwd=work) for _ in range(4)]


def finish(procs: list[Any]) -> list[tuple[int, str, str]]:
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        results.append((proc.returncode, out, err))
    return results


@pytest.mark.slow
def test_four_applies_at_once_one_proceeds_the_others_name_the_holder(
    emulator_factory: Any, env_for: Any, spawn_cli: Any, tmp_path: Path
) -> None:
    # 100 ms per request over 2 lanes keeps the winner busy for > 1 s: the others start
    # well inside that window.
    emu = env_for(emulator_factory(latency_ms=100))
    write_manifest(tmp_path / "m.yaml", {f"c{i:02d}": s3(f"Race {i:02d}") for i in range(N)})
    procs = start_four(spawn_cli, tmp_path)
    results = finish(procs)
    winners = [(p, r) for p, r in zip(procs, results) if r[0] == 0]
    losers = [(p, r) for p, r in zip(procs, results) if r[0] != 0]
    assert len(winners) == 1, [r[2] for r in results]
    winner = winners[0][0]
    assert "Apply complete! 20 created" in winners[0][1][1]
    for _, (code, out, err) in losers:
        assert code == 1
        assert "Traceback" not in err
        assert f"is locked by 'apply' (pid {winner.pid} on host " in err
        assert "retry with --lock-timeout SECONDS" in err
        assert out == ""
    remote = RawApi(emu.url).list()
    assert len(remote) == len({c["name"] for c in remote}) == N
    assert not (tmp_path / "provisioner.state.json.lock").exists()
    figure("concurrency-refused", applies=4, proceeded=1, refused_naming_holder=len(losers))


@pytest.mark.slow
def test_four_applies_with_lock_timeout_wait_then_find_nothing_to_do(
    emulator_factory: Any, env_for: Any, spawn_cli: Any, tmp_path: Path
) -> None:
    emu = env_for(emulator_factory(latency_ms=100))
    write_manifest(tmp_path / "m.yaml", {f"c{i:02d}": s3(f"Queue {i:02d}") for i in range(N)})
    started = time.monotonic()
    results = finish(start_four(spawn_cli, tmp_path, "--lock-timeout", "60"))
    elapsed = time.monotonic() - started
    assert [code for code, _, _ in results] == [0, 0, 0, 0], [r[2] for r in results]
    creators = [r for r in results if "Apply complete! 20 created" in r[1]]
    idle = [r for r in results if "No changes." in r[1]]
    assert len(creators) == 1 and len(idle) == 3
    for _, out, err in idle:
        assert re.search(
            r"Waiting up to 60 seconds for the state lock held by 'apply' \(pid \d+", err
        )
        assert "created" not in out
    remote = RawApi(emu.url).list()
    assert len(remote) == len({c["name"] for c in remote}) == N
    figure(
        "concurrency-wait",
        applies=4,
        created_by_one=N,
        waited_then_no_changes=len(idle),
        seconds=round(elapsed, 1),
    )


@pytest.mark.slow
def test_a_lock_left_by_a_killed_apply_is_stale_and_force_unlock_clears_it(
    emulator_factory: Any, env_for: Any, spawn_cli: Any, run_cli: Any, tmp_path: Path
) -> None:
    emu = env_for(emulator_factory(latency_ms=100))
    write_manifest(tmp_path / "m.yaml", {f"c{i:02d}": s3(f"Stale {i:02d}") for i in range(N)})
    lock = tmp_path / "provisioner.state.json.lock"
    proc = spawn_cli("apply", "m.yaml", "--auto-approve", "--parallelism", "2", cwd=tmp_path)
    deadline = time.monotonic() + 30
    while not lock.exists():
        assert proc.poll() is None and time.monotonic() < deadline, "apply never took the lock"
        time.sleep(0.01)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert lock.exists()

    refused = run_cli("apply", "m.yaml", "--auto-approve", cwd=tmp_path)
    assert refused.returncode == 1
    assert refused.stderr.count("\n") == 1, refused.stderr
    assert (
        f"is locked by a stale lock left by a process that no longer runs: 'apply' "
        f"(pid {proc.pid} on host " in refused.stderr
    )
    assert "run 'provisioner force-unlock' to remove it, then run again" in refused.stderr
    unlocked = run_cli("force-unlock", cwd=tmp_path)
    assert unlocked.returncode == 0, unlocked.stderr
    assert f"locked by 'apply' (pid {proc.pid}" in unlocked.stdout
    assert "That process no longer runs: the lock is stale." in unlocked.stdout
    assert "Lock removed" in unlocked.stdout
    assert not lock.exists()
    again = run_cli("apply", "m.yaml", "--auto-approve", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    remote = RawApi(emu.url).list()
    assert len(remote) == len({c["name"] for c in remote}) == N
    assert run_cli("plan", "m.yaml", "--detailed-exitcode", cwd=tmp_path).returncode == 0


@pytest.mark.slow
def test_every_state_writer_is_refused_while_an_apply_holds_the_lock(
    emulator_factory: Any, env_for: Any, spawn_cli: Any, run_cli: Any, tmp_path: Path
) -> None:
    # The holder runs > 12 s: room for five CLI start-ups even on a loaded 2-core machine.
    emu = env_for(emulator_factory(latency_ms=600))
    write_manifest(tmp_path / "m.yaml", {f"c{i:02d}": s3(f"Writers {i:02d}") for i in range(N)})
    assert (
        run_cli("apply", "m.yaml", "--auto-approve", "--parallelism", "8", cwd=tmp_path).returncode
        == 0
    )
    other = RawApi(emu.url).create("Someone else's")
    write_manifest(
        tmp_path / "m.yaml",
        {f"c{i:02d}": s3(f"Writers {i:02d} v2") for i in range(N)} | {"extra": s3("Extra")},
    )
    lock = tmp_path / "provisioner.state.json.lock"
    holder = spawn_cli("apply", "m.yaml", "--auto-approve", "--parallelism", "1", cwd=tmp_path)
    while not lock.exists():
        assert holder.poll() is None
        time.sleep(0.01)
    refused = 0
    for argv in (
        ("apply", "m.yaml", "--auto-approve"),
        ("refresh", "m.yaml"),
        ("import", "extra", other["id"], "m.yaml"),
        ("destroy", "m.yaml", "--auto-approve"),
        ("state", "rm", "c00"),
    ):
        assert holder.poll() is None, "the holding apply ended before every writer was tried"
        r = run_cli(*argv, cwd=tmp_path)
        assert r.returncode == 1, (argv, r.stdout, r.stderr)
        assert f"is locked by 'apply' (pid {holder.pid} on host " in r.stderr, (argv, r.stderr)
        refused += 1
    _, err = holder.communicate(timeout=120)
    assert holder.returncode == 0, err
    assert run_cli("plan", "m.yaml", "--detailed-exitcode", cwd=tmp_path).returncode == 0
    figure("concurrency-writers", writers_refused=refused)
