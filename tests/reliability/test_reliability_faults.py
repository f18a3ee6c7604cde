"""Faults: 500 creates through 503s, 500s after commit and 429s end in exactly 500 connections."""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.aep import RawApi, s3, write_manifest
from tests.reliability.helpers import figure, state_ids

N = 500


class _Tally(logging.Handler):
    """Counts the client's attempt lines by status, and its retries, from the --debug log."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.statuses: Counter[str] = Counter()
        self.retries = 0

    def emit(self, record: logging.LogRecord) -> None:
        line = record.getMessage()
        if m := re.search(r"-> (\d{3}|[A-Za-z]+)", line):
            self.statuses[m.group(1)] += 1
        if ": retry " in line:
            self.retries += 1


@pytest.fixture
def tally() -> Any:
    log = logging.getLogger("provisioner.http")
    handler, level = _Tally(), log.level
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    yield handler
    log.removeHandler(handler)
    log.setLevel(level)


@pytest.mark.slow
def test_500_creates_under_injected_faults_and_a_rate_limit(
    emulator_factory: Any, env_for: Any, counted: Any, cli: Any, tally: Any, tmp_path: Path
) -> None:
    # 40 requests/s is below what even the one or two lanes the limiter keeps under 10% of 503s
    # ask of a zero-latency emulator on a busy machine (100/s was not always: the 429s counted
    # below prove the limit was met); 10% of requests fail before anything is done (503), 10%
    # of writes fail after they were committed (500), so ~10% of creates are uncertain.
    emu = env_for(emulator_factory(fail_rate=0.1, commit_fail_rate=0.1, rate_limit=40, seed=1))
    faults = counted(emu)
    names = {f"c{i:03d}": f"Faulty {i:03d}" for i in range(N)}
    write_manifest(tmp_path / "m.yaml", {a: s3(n) for a, n in names.items()})
    started = time.monotonic()
    applies = []
    r = cli("apply", "m.yaml", "--auto-approve")
    applies.append(r.code)
    if r.code != 0:
        # A failure is allowed once, but it must be reported as one, and the rerun must finish.
        assert r.code == 1 and "Apply failed: " in r.err and "Run apply again" in r.err, r.err
        r = cli("apply", "m.yaml", "--auto-approve")
        applies.append(r.code)
    assert r.code == 0, r.err[-3000:]
    elapsed = time.monotonic() - started
    faults.quiet = True
    assert "Traceback" not in r.err

    remote = RawApi(emu.url).list()
    remote_names = [c["name"] for c in remote]
    assert len(remote) == N
    assert len(set(remote_names)) == N, "a name was created twice"
    assert set(remote_names) == set(names.values())
    ids = state_ids(tmp_path / "provisioner.state.json")
    assert len(ids) == N
    by_name = {c["name"]: c["id"] for c in remote}
    assert ids == {a: by_name[n] for a, n in names.items()}
    # The faults did happen: without them this test would prove nothing.
    assert faults["injected 503"] > 0 and faults["injected 500 after write"] > 0
    assert faults["injected 429"] > 0
    assert tally.statuses["201"] > 0
    figure(
        "faults",
        creates=N,
        remote_connections=len(remote),
        distinct_names=len(set(remote_names)),
        state_ids=len(ids),
        applies=len(applies),
        apply_exit_codes=applies,
        requests_answered_ok=faults["requests"],
        injected_503=faults["injected 503"],
        injected_500_after_write=faults["injected 500 after write"],
        injected_429=faults["injected 429"],
        client_retries=tally.retries,
        # Every write here is a POST: each such 500 was an uncertain create, resolved by name.
        uncertain_creates_resolved=faults["injected 500 after write"],
        seconds=round(elapsed, 1),
    )


def _apply_at_most_twice(cli: Any, *extra: str) -> list[int]:
    """One apply, or after a reported failure one more; the exit codes."""
    codes = []
    for _ in range(2):
        r = cli("apply", "m.yaml", "--auto-approve", *extra)
        codes.append(r.code)
        assert "Traceback" not in r.err and "internal error (" not in r.err, r.err
        if r.code == 0:
            return codes
        assert r.code == 1 and "Run apply again" in r.err, r.err
    raise AssertionError(f"still failing after a second apply: {r.err[-3000:]}")


@pytest.mark.slow
def test_updates_rotations_and_deletes_under_heavier_faults(
    emulator_factory: Any,
    env_for: Any,
    counted: Any,
    cli: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    # 15% of requests fail before they are done, 15% of writes fail after they were done:
    # PATCHes and DELETEs are retried by the client, and a retry of a PATCH that did land
    # meets its own new etag (412).
    emu = env_for(emulator_factory(fail_rate=0.15, commit_fail_rate=0.15, rate_limit=100, seed=3))
    faults = counted(emu)
    n = 100
    write_manifest(tmp_path / "m.yaml", {f"c{i:03d}": s3(f"Heavy {i:03d}") for i in range(n)})
    phases = {"create": _apply_at_most_twice(cli)}
    ids = state_ids(tmp_path / "provisioner.state.json")
    # Rename, describe, and rotate the secret of every connection.
    monkeypatch.setenv("TEST_S3_SECRET", "rotated-secret-value")
    write_manifest(
        tmp_path / "m.yaml",
        {f"c{i:03d}": s3(f"Heavy {i:03d} renamed", description="updated") for i in range(n)},
    )
    phases["update"] = _apply_at_most_twice(cli)
    faults.quiet = True
    assert state_ids(tmp_path / "provisioner.state.json") == ids  # updated in place
    assert cli("plan", "m.yaml", "--detailed-exitcode").code == 0
    remote = RawApi(emu.url).list()
    assert sorted((c["id"], c["name"], c.get("description")) for c in remote) == sorted(
        (ids[f"c{i:03d}"], f"Heavy {i:03d} renamed", "updated") for i in range(n)
    )
    # Drop half of them.
    write_manifest(
        tmp_path / "m.yaml",
        {f"c{i:03d}": s3(f"Heavy {i:03d} renamed", description="updated") for i in range(n // 2)},
    )
    faults.quiet = False
    phases["delete"] = _apply_at_most_twice(cli, "--allow-delete")
    faults.quiet = True
    left = state_ids(tmp_path / "provisioner.state.json")
    assert left == {a: i for a, i in ids.items() if int(a[1:]) < n // 2}
    assert sorted(c["id"] for c in RawApi(emu.url).list()) == sorted(left.values())
    assert cli("plan", "m.yaml", "--detailed-exitcode").code == 0
    figure(
        "faults-updates",
        connections=n,
        applies_per_phase={k: len(v) for k, v in phases.items()},
        injected_503=faults["injected 503"],
        injected_500_after_write=faults["injected 500 after write"],
        injected_429=faults["injected 429"],
    )


def test_a_rotation_whose_answer_is_always_lost_still_lands_once(
    emulator_factory: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Every write is committed and then answered 500: the PATCH's retry meets its own new
    etag (412). That is read as "it landed" (the visible fields show it; the secrets were in
    the same PATCH), not as someone else's change to fight four times."""
    from provisioner.cli import main
    from tests.conftest import point_env_at

    lossy = emulator_factory(commit_fail_rate=1.0)
    point_env_at(monkeypatch, lossy.url)
    monkeypatch.setenv("TEST_S3_KEY", "AKIAROTATE")
    monkeypatch.setenv("TEST_S3_SECRET", "first-secret")
    write_manifest(tmp_path / "m.yaml", {"alpha": s3("Alpha", description="one")})
    assert main(["apply", "m.yaml", "--auto-approve"]) == 0  # each create found again by name
    monkeypatch.setenv("TEST_S3_SECRET", "rotated-secret")
    write_manifest(tmp_path / "m.yaml", {"alpha": s3("Alpha", description="two")})
    assert main(["apply", "m.yaml", "--auto-approve"]) == 0
    (conn,) = RawApi(lossy.url).list()
    assert conn["description"] == "two"
