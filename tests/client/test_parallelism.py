"""`--parallelism N` is the most requests in flight at once, for plan and apply alike: counted
by the emulator itself (in this process) while the real CLI (a subprocess) reads a large
sandbox over filtered listings."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from provisioner.emulator import server
from tests.aep import child_env, s3, write_manifest

N = 600  # six name-filtered reads of 100 names, paged 10 at a time by the emulator


class Peak:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.most = 0

    def reset(self) -> None:
        with self.lock:
            self.most = self.now


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch, emulator_factory: Any) -> tuple[Any, Peak]:
    peak = Peak()
    serve = server._Handler._serve

    def counting(handler: Any) -> None:
        if handler.path.startswith("/ims/"):
            return serve(handler)  # the token exchange has its own client
        with peak.lock:
            peak.now += 1
            peak.most = max(peak.most, peak.now)
        try:
            serve(handler)
        finally:
            with peak.lock:
                peak.now -= 1

    monkeypatch.setattr(server._Handler, "_serve", counting)
    return emulator_factory(latency_ms=30, max_page_size=10), peak


def _env(url: str) -> dict[str, str]:
    env = child_env()
    env.update(
        AEP_CLIENT_ID="test-client",
        AEP_CLIENT_SECRET="test-client-secret-value",
        AEP_ORG_ID="TESTORG0000000000000000@AdobeOrg",
        AEP_PLATFORM_URL=url,
        AEP_IMS_URL=url,
        TEST_S3_KEY="AKIAEXAMPLEKEY",
        TEST_S3_SECRET="parallelism-secret",
    )
    return env


def test_plan_and_apply_never_have_more_in_flight_than_parallelism(
    counted: tuple[Any, Peak], run_cli: Any, tmp_path: Path
) -> None:
    emu, peak = counted
    env = _env(emu.url)
    write_manifest(tmp_path / "m.yaml", {f"c{i:03d}": s3(f"Bucket {i:03d}") for i in range(N)})
    done = run_cli("apply", "m.yaml", "--auto-approve", cwd=tmp_path, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    (tmp_path / "provisioner.state.json").unlink()  # a lost state: every name is read

    peak.reset()
    free = run_cli("plan", "m.yaml", "--json", cwd=tmp_path, env=env)
    assert free.returncode == 0, free.stderr[-2000:]
    assert peak.most > 2  # unbounded, the six reads go side by side (the check below can fail)

    for command in (["plan", "m.yaml", "--json"], ["apply", "m.yaml", "--auto-approve"]):
        peak.reset()
        bounded = run_cli(*command, "--parallelism", "2", cwd=tmp_path, env=env, timeout=300)
        assert bounded.returncode == 0, bounded.stderr[-2000:]
        assert peak.most <= 2, (command, peak.most)
    assert [c["action"] for c in json.loads(free.stdout)["changes"]] == ["adopt"] * N
