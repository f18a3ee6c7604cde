"""The state lock between real processes: holder named, --lock-timeout, stale locks, force-unlock."""

from __future__ import annotations

import io
import json
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from state_helpers import make_entry, python_env, read_line, state_with

from provisioner.commands import force_unlock
from provisioner.console import Console
from provisioner.errors import LockError
from provisioner.state import StateStore, lock_info

STATE = Path("provisioner.state.json")
LOCK = Path("provisioner.state.json.lock")
HOST = socket.gethostname()
ADVICE = (
    "wait for it to finish, retry with --lock-timeout SECONDS, or run 'provisioner force-unlock' "
    "if that process is gone"
)

# Holds the lock as `command` until a line arrives on stdin (or it is killed).
HOLDER = """
import sys
from provisioner.errors import LockError
from provisioner.state import StateStore

try:
    with StateStore(sys.argv[1]).lock(sys.argv[2], timeout=float(sys.argv[3])):
        print("locked", flush=True)
        sys.stdin.readline()
except LockError as exc:
    print("refused:", exc, flush=True)
    sys.exit(1)
print("released", flush=True)
"""


@pytest.fixture
def state() -> None:
    store = StateStore(STATE)
    store.save(state_with(store.load(), 2))


def hold(spawn: Any, command: str = "apply", path: Path = STATE) -> subprocess.Popen[str]:
    proc = spawn(HOLDER, str(path), command, "0")
    assert read_line(proc) == "locked"
    return proc


def holder_text(proc: subprocess.Popen[str], command: str = "apply") -> str:
    info = lock_info(STATE)
    assert info is not None and info.pid == proc.pid and info.host == HOST
    return f"'{command}' (pid {proc.pid} on host {HOST}, since {info.started})"


def test_a_held_lock_refuses_a_second_run_naming_the_holder(
    state: None, spawn: Any, cli: Any
) -> None:
    proc = hold(spawn)
    before = STATE.read_bytes()
    result = cli("state", "rm", "conn-0")
    assert result.code == 1 and result.out == ""
    assert result.err == (
        f"Error: the state provisioner.state.json is locked by {holder_text(proc)}; {ADVICE}\n"
    )
    assert STATE.read_bytes() == before
    with pytest.raises(LockError, match=r"is locked by 'apply' \(pid"), StateStore(STATE).lock("x"):
        pass
    proc.stdin.write("\n")
    proc.stdin.flush()
    assert read_line(proc) == "released"
    assert not LOCK.exists()


def test_the_lock_file_names_pid_host_command_and_start() -> None:
    with StateStore(STATE).lock("apply") as mine:
        doc = json.loads(LOCK.read_text())
        assert {k: doc[k] for k in ("pid", "host", "command", "started")} == {
            "pid": mine.pid,
            "host": HOST,
            "command": "apply",
            "started": mine.started,
        }
        assert mine.started.endswith("Z") and len(mine.started) == len("2026-11-27T19:02:11Z")
    assert not LOCK.exists()


@pytest.mark.slow
def test_four_processes_racing_for_the_lock_let_exactly_one_in(spawn: Any) -> None:
    procs = [spawn(HOLDER, str(STATE), f"apply-{n}", "0") for n in range(4)]
    first = {proc.pid: read_line(proc) for proc in procs}
    winners = [pid for pid, line in first.items() if line == "locked"]
    assert len(winners) == 1
    info = lock_info(STATE)
    assert info is not None and info.pid == winners[0]
    for pid, line in first.items():
        if pid != winners[0]:
            assert line.startswith("refused: the state provisioner.state.json is locked by ")
            assert f"(pid {winners[0]} on host {HOST}, since " in line


def test_lock_timeout_waits_for_the_holder_then_proceeds(state: None, spawn: Any) -> None:
    proc = hold(spawn)
    holder = holder_text(proc)
    waiter = subprocess.Popen(
        [sys.executable, "-m", "provisioner", "state", "rm", "conn-0", "--lock-timeout", "120"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=python_env(),
    )
    try:
        # Only once it says it is waiting does the holder let go: the wait itself is exercised.
        assert read_line(waiter, "stderr") == (
            f"Waiting up to 120 seconds for the state lock held by {holder}..."
        )
        proc.stdin.write("\n")
        proc.stdin.flush()
        out, err = waiter.communicate(timeout=120)
    finally:
        if waiter.poll() is None:
            waiter.kill()
    assert waiter.returncode == 0, err
    assert out.startswith("Removed prod/conn-0 (connection id-prod-0) from the state")
    assert [e.address for e in StateStore(STATE).load()] == ["conn-1"]
    assert not LOCK.exists()


def test_lock_timeout_gives_up_naming_the_holder(state: None, spawn: Any, cli: Any) -> None:
    proc = hold(spawn)
    result = cli("state", "rm", "conn-0", "--lock-timeout", "0.3")
    assert result.code == 1
    assert result.err.startswith(
        "Waiting up to 0.3 seconds for the state lock held by 'apply' (pid"
    )
    assert result.err.endswith(
        f"Error: the state provisioner.state.json is still locked after 0.3 seconds by "
        f"{holder_text(proc)}; wait for it to finish, retry with a longer --lock-timeout, or "
        "run 'provisioner force-unlock' if that process is gone\n"
    )


def test_a_killed_holder_leaves_a_stale_lock_that_force_unlock_clears(
    state: None, spawn: Any, cli: Any
) -> None:
    proc = hold(spawn)
    holder = holder_text(proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert LOCK.exists()

    result = cli("state", "rm", "conn-0", "--lock-timeout", "30")
    assert result.code == 1
    assert result.err == (
        "Error: the state provisioner.state.json is locked by a stale lock left by a process "
        f"that no longer runs: {holder}; run 'provisioner force-unlock' to remove it, then run "
        "again\n"
    )

    result = cli("force-unlock")
    assert result.code == 0, result.err
    assert result.out == (
        f"The state provisioner.state.json is locked by {holder}.\n"
        "That process no longer runs: the lock is stale.\n"
        "Lock removed: the state provisioner.state.json is unlocked.\n"
    )
    assert not LOCK.exists()
    assert cli("state", "rm", "conn-0").code == 0


def test_force_unlock_refuses_a_live_holder_without_force(
    state: None, spawn: Any, cli: Any
) -> None:
    proc = hold(spawn)
    holder = holder_text(proc)
    result = cli("force-unlock")
    assert result.code == 1
    assert result.out == f"The state provisioner.state.json is locked by {holder}.\n"
    assert result.err == (
        "Error: refusing to remove the lock on provisioner.state.json: process "
        f"{proc.pid} is still running on this host; make sure that run has finished, then run "
        "'provisioner force-unlock --force'\n"
    )
    assert lock_info(STATE) is not None

    result = cli("force-unlock", "--force")
    assert result.code == 0
    assert result.out.endswith("Lock removed: the state provisioner.state.json is unlocked.\n")

    # The old holder, finishing later, must not remove a lock that is no longer its own.
    with StateStore(STATE).lock("plan") as mine:
        proc.stdin.write("\n")
        proc.stdin.flush()
        assert read_line(proc) == "released"
        assert lock_info(STATE) == mine
    assert not LOCK.exists()


def test_a_lock_from_another_host_is_never_called_stale(state: None, cli: Any) -> None:
    LOCK.write_text(
        json.dumps(
            {"pid": 999999, "host": "ci-7", "command": "apply", "started": "2026-11-27T19:02:11Z"}
        )
    )
    holder = "'apply' (pid 999999 on host ci-7, since 2026-11-27T19:02:11Z)"
    result = cli("state", "rm", "conn-0")
    assert result.err == (
        f"Error: the state provisioner.state.json is locked by {holder}; {ADVICE}\n"
    )
    result = cli("force-unlock")
    assert result.code == 1
    assert result.err == (
        "Error: refusing to remove the lock on provisioner.state.json: it was taken on host "
        "ci-7, where this machine cannot check process 999999; make sure that run has "
        "finished, then run 'provisioner force-unlock --force'\n"
    )
    assert cli("force-unlock", "--force").code == 0
    assert not LOCK.exists()


def test_force_unlock_without_a_lock_says_so(cli: Any) -> None:
    result = cli("force-unlock")
    assert (result.code, result.out, result.err) == (
        0,
        "The state provisioner.state.json is not locked; there is no lock to remove.\n",
        "",
    )


def test_an_unreadable_lock_file_still_locks(state: None, cli: Any) -> None:
    LOCK.write_text("garbage")
    result = cli("state", "rm", "conn-0")
    assert result.err == (
        "Error: the state provisioner.state.json is locked by an unknown run (its lock file "
        f"cannot be read: it is not JSON); {ADVICE}\n"
    )
    assert cli("force-unlock").code == 1
    assert cli("force-unlock", "--force").code == 0


def test_force_unlock_asks_on_a_terminal(state: None, spawn: Any) -> None:
    hold(spawn)

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = io.StringIO()
    console = Console(stdout=out, stderr=io.StringIO(), stdin=Terminal("no\n"))
    assert force_unlock.run(console=console, state=str(STATE), force=False) == 1
    assert "Remove the lock anyway?" in out.getvalue()
    assert LOCK.exists()
    console = Console(stdout=out, stderr=io.StringIO(), stdin=Terminal("yes\n"))
    assert force_unlock.run(console=console, state=str(STATE), force=False) == 0
    assert not LOCK.exists()


def test_the_lock_is_released_on_errors_and_interrupts() -> None:
    store = StateStore(STATE)
    for exc in (RuntimeError("boom"), KeyboardInterrupt()):
        with pytest.raises(type(exc)), store.lock("apply"):
            assert LOCK.exists()
            raise exc
        assert not LOCK.exists()


def test_advice_names_a_non_default_state_file(spawn: Any, cli: Any) -> None:
    Path("envs").mkdir()
    path = Path("envs/prod state.json")
    store = StateStore(path)
    store.save(store.load().with_entry(make_entry(1)))
    proc = spawn(HOLDER, str(path), "apply", "0")
    assert read_line(proc) == "locked"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    result = cli("state", "rm", "conn-1", "--state", str(path))
    assert result.err.endswith(
        "run 'provisioner force-unlock --state \"envs/prod state.json\"' to remove it, then run "
        "again\n"
    )
    assert cli("force-unlock", "--state", str(path)).code == 0
    assert cli("state", "rm", "conn-1", "--state", str(path)).code == 0
