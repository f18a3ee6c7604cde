"""The emulator under load: 16 threads x 200 mixed raw requests lose no write, answer no uninjected 5xx."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.aep import BASE, S3_SPEC, RawApi
from tests.reliability.helpers import figure

THREADS = 16
REQUESTS = 200
SEED = 8


@dataclass
class Lane:
    """What one thread knows it did: every write it saw acknowledged, or injected after commit."""

    live: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> {etag, description}
    committed_names: list[str] = field(default_factory=list)  # 500 after create: exists, id unknown
    absent_names: list[str] = field(default_factory=list)  # 503 before create: never made
    deleted: list[str] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    surprises: list[str] = field(default_factory=list)


def run_lane(url: str, number: int, lane: Lane, start: threading.Barrier) -> None:
    api = RawApi(url, client_id=f"load-{number}")
    rng = random.Random(SEED * 1000 + number)
    session = requests.Session()
    flow = url + BASE
    start.wait()
    for n in range(REQUESTS):
        op = rng.choices(["create", "list", "get", "patch", "delete"], [30, 15, 25, 20, 10])[0]
        if op != "create" and op != "list" and not lane.live:
            op = "create"
        ident = rng.choice(sorted(lane.live)) if lane.live else ""
        if op == "create":
            name = f"load-{number}-{n}"
            body = {
                "name": name,
                "auth": {
                    "specName": "Access Key",
                    "params": {"s3AccessKey": "AK", "s3SecretKey": "S"},
                },
                "connectionSpec": {"id": S3_SPEC, "version": "1.0"},
            }
            r = session.post(
                f"{flow}/connections", json=body, headers=api.headers("prod"), timeout=30
            )
            if r.status_code == 201:
                lane.live[r.json()["id"]] = {"etag": r.json()["etag"], "description": None}
            elif r.status_code == 500:
                lane.committed_names.append(name)
            elif r.status_code == 503:
                lane.absent_names.append(name)
        elif op == "list":
            r = session.get(
                f"{flow}/connections?limit=50&property=connectionSpec.id=={S3_SPEC}",
                headers=api.headers("prod"),
                timeout=30,
            )
            if r.status_code == 200 and not isinstance(r.json().get("items"), list):
                lane.surprises.append("a listing without items")
        elif op == "get":
            r = session.get(f"{flow}/connections/{ident}", headers=api.headers("prod"), timeout=30)
            if r.status_code == 200:
                item = r.json()["items"][0]
                want = lane.live[ident]["description"]
                if item.get("description") != want:
                    lane.surprises.append(
                        f"GET {ident}: description {item.get('description')!r}, wrote {want!r}"
                    )
        elif op == "patch":
            known = lane.live[ident]
            if known["etag"] is None:  # the last PATCH was committed but unanswered: re-read
                r = session.get(
                    f"{flow}/connections/{ident}", headers=api.headers("prod"), timeout=30
                )
                lane.statuses[r.status_code] += 1
                if r.status_code != 200:
                    continue
                known["etag"] = r.json()["items"][0]["etag"]
            text = f"written by {number} at {n}"
            r = session.patch(
                f"{flow}/connections/{ident}",
                json=[{"op": "add", "path": "/description", "value": text}],
                headers=api.headers("prod", **{"If-Match": known["etag"]}),
                timeout=30,
            )
            if r.status_code == 200:
                known.update(etag=r.json()["etag"], description=text)
            elif r.status_code == 500:
                known.update(etag=None, description=text)
        else:
            r = session.delete(
                f"{flow}/connections/{ident}", headers=api.headers("prod"), timeout=30
            )
            if r.status_code in (204, 500):
                del lane.live[ident]
                lane.deleted.append(ident)
        lane.statuses[r.status_code] += 1
        if r.status_code not in (200, 201, 204, 500, 503):
            lane.surprises.append(f"{op} answered {r.status_code}: {r.text[:200]}")
    session.close()


@pytest.mark.slow
@pytest.mark.parametrize("storage", ["memory", "sqlite file"])
def test_sixteen_threads_of_mixed_requests_lose_no_write(
    storage: str, emulator_factory: Any, counted: Any, tmp_path: Path
) -> None:
    db = str(tmp_path / "emulator.db") if storage == "sqlite file" else None
    emu = emulator_factory(fail_rate=0.05, commit_fail_rate=0.05, seed=SEED, db_path=db)
    faults = counted(emu)
    lanes = [Lane() for _ in range(THREADS)]
    start = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def guarded(i: int) -> None:
        try:
            run_lane(emu.url, i, lanes[i], start)
        except Exception as exc:  # noqa: BLE001 - surfaced below: a thread must not fail silently
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(THREADS)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    elapsed = time.monotonic() - began
    assert not errors, errors
    assert not any(t.is_alive() for t in threads)
    for lane in lanes:
        assert lane.surprises == []

    statuses = sum((lane.statuses for lane in lanes), Counter())
    seen_5xx = sum(n for status, n in statuses.items() if status >= 500)
    # Every 5xx answered was one the dice injected: none came from the emulator itself.
    assert seen_5xx == faults.injected_5xx
    assert statuses[503] == faults["injected 503"]
    assert statuses[500] == faults["injected 500 after write"]
    assert faults["injected 503"] > 0 and faults["injected 500 after write"] > 0

    # No write lost: what each lane knows it wrote is there, exactly as written.
    faults.quiet = True
    api = RawApi(emu.url)
    remote = {c["id"]: c for c in api.list()}
    names = Counter(c["name"] for c in remote.values())
    assert all(n == 1 for n in names.values()), "a name exists twice"
    expected = 0
    for lane in lanes:
        for ident, known in lane.live.items():
            assert ident in remote, f"acknowledged connection {ident} is gone"
            assert remote[ident].get("description") == known["description"]
            if known["etag"] is not None:
                assert remote[ident]["etag"] == known["etag"]
        for name in lane.committed_names:
            assert names[name] == 1, f"{name} was committed (500 after write) but is missing"
        for name in lane.absent_names:
            assert names[name] == 0, f"{name} was refused (503 before write) but exists"
        for ident in lane.deleted:
            assert ident not in remote
        expected += len(lane.live) + len(lane.committed_names)
    assert len(remote) == expected
    figure(
        "emulator-load",
        storage=storage.replace(" ", "-"),
        threads=THREADS,
        requests=sum(statuses.values()),
        answers_2xx=sum(n for s, n in statuses.items() if s < 300),
        injected_503=faults["injected 503"],
        injected_500_after_write=faults["injected 500 after write"],
        uninjected_5xx=seen_5xx - faults.injected_5xx,
        connections_at_end=len(remote),
        lost_writes=0,
        seconds=round(elapsed, 1),
    )
