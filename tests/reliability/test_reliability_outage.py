"""Outage: the service dies in the middle of an apply; the apply says so, and a rerun converges."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from tests.aep import RawApi, s3, write_manifest
from tests.conftest import EMULATOR_CLIENT_ID, EMULATOR_CLIENT_SECRET, EMULATOR_ORG_ID
from tests.reliability.helpers import figure, spawn_applying

N = 40
SEED = 77


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_emulator(spawn_cli: Any, port: int, db: Path) -> Any:
    proc = spawn_cli(
        "emulator",
        "--port",
        str(port),
        "--db",
        str(db),
        "--latency-ms",
        "40",
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert "listening on" in line, line + (proc.stderr.read() if proc.poll() is not None else "")
    return proc


@pytest.mark.slow
def test_the_service_dying_mid_apply_is_reported_and_a_rerun_converges(
    spawn_cli: Any, run_cli: Any, monkeypatch: Any, tmp_path: Path
) -> None:
    port, db = free_port(), tmp_path / "service.db"
    url = f"http://127.0.0.1:{port}"
    for name, value in {
        "AEP_CLIENT_ID": EMULATOR_CLIENT_ID,
        "AEP_CLIENT_SECRET": EMULATOR_CLIENT_SECRET,
        "AEP_ORG_ID": EMULATOR_ORG_ID,
        "AEP_PLATFORM_URL": url,
        "AEP_IMS_URL": url,
        "TEST_S3_KEY": "AKIAEXAMPLEKEY",
        "TEST_S3_SECRET": "outage-secret",
    }.items():
        monkeypatch.setenv(name, value)
    work = tmp_path / "work"
    write_manifest(work / "m.yaml", {f"c{i:02d}": s3(f"Outage {i:02d}") for i in range(N)})
    rng = random.Random(SEED)
    outcomes: list[int] = []
    not_attempted: list[int] = []
    for _ in range(2):
        service = start_emulator(spawn_cli, port, db)
        apply = spawn_applying(spawn_cli, work)
        time.sleep(rng.uniform(0.05, 0.3))
        service.send_signal(signal.SIGKILL)  # the whole service, mid-apply
        service.communicate(timeout=30)
        _, err = apply.communicate(timeout=300)
        outcomes.append(apply.returncode)
        if apply.returncode != 0:
            assert apply.returncode == 1, err
            assert "Traceback" not in err and "internal error (" not in err, err
            assert "Apply failed" in err or err.startswith("Error: ") or "\nError: " in err, err
        # Once the service is known to be unreachable, the changes not started yet are not
        # each retried for seconds against it: they are reported as not attempted.
        retried = err.count("Connection refused), after ")
        skipped = err.count("not attempted")
        assert retried <= 4, err[-3000:]  # at most the lanes that were already at work
        not_attempted.append(skipped)
        # The apply ended by itself: lock released, journal folded into the state.
        assert not (work / "provisioner.state.json.lock").exists()
        assert not (work / "provisioner.state.json.journal").exists()
    service = start_emulator(spawn_cli, port, db)
    rerun = run_cli("apply", "m.yaml", "--auto-approve", cwd=work)
    assert rerun.returncode == 0, rerun.stdout[-2000:] + rerun.stderr[-2000:]
    remote = RawApi(url).list()
    assert len(remote) == len({c["name"] for c in remote}) == N
    doc = json.loads((work / "provisioner.state.json").read_text())
    ids = {e["id"] for org in doc["resources"].values() for a in org.values() for e in a.values()}
    assert ids == {c["id"] for c in remote}
    assert run_cli("plan", "m.yaml", "--detailed-exitcode", cwd=work).returncode == 0
    assert outcomes.count(1) >= 1, outcomes  # an outage did hit an apply at work
    assert sum(not_attempted) > 0, not_attempted
    figure(
        "outage",
        service_kills=2,
        apply_exit_codes=outcomes,
        not_attempted=not_attempted,
        remote=len(remote),
        duplicates=0,
        lost_ids=0,
    )
