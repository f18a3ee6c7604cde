"""Tokens: with 2-second tokens, an apply that runs for several seconds completes with 0 failures."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.aep import RawApi, s3, write_manifest
from tests.reliability.helpers import figure

N = 200


@pytest.mark.slow
def test_a_long_apply_outlives_many_two_second_tokens(
    emulator_factory: Any, env_for: Any, counted: Any, cli: Any, tmp_path: Path
) -> None:
    # 50 ms per request over 2 lanes: 200 creates take > 5 s, so the token expires twice a
    # second's worth of requests over.
    emu = env_for(emulator_factory(latency_ms=50, token_ttl=2))
    faults = counted(emu)
    counted_401: list[int] = []
    authenticate = emu.app.ims.authenticate

    def watched(headers: Any) -> Any:
        try:
            return authenticate(headers)
        except Exception:
            counted_401.append(1)
            raise

    emu.app.ims.authenticate = watched
    write_manifest(tmp_path / "m.yaml", {f"c{i:03d}": s3(f"Token {i:03d}") for i in range(N)})
    started = time.monotonic()
    r = cli("apply", "m.yaml", "--auto-approve", "--parallelism", "2")
    elapsed = time.monotonic() - started
    assert r.code == 0, r.err[-2000:]
    assert f"Apply complete! {N} created" in r.out
    assert "failed" not in r.out + r.err
    assert elapsed > 5, (
        "the apply was too short to outlive a token"
    )  # the premise, not a timing claim
    # The tokens were renewed as they ran out (at half their life), not once for the whole run.
    assert faults["tokens issued"] >= elapsed / 2
    tokens_issued = faults["tokens issued"]
    doc = json.loads((tmp_path / "provisioner.state.json").read_text())
    assert sum(len(a) for org in doc["resources"].values() for a in org.values()) == N
    assert len(RawApi(emu.url).list()) == N
    figure(
        "tokens",
        token_ttl_seconds=2,
        creates=N,
        failures=0,
        tokens_issued=tokens_issued,
        answers_401=len(counted_401),
        seconds=round(elapsed, 1),
    )
