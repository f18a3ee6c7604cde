"""Fault options: latency, rate limit, failures before and after a write, repeatable with a seed."""

from __future__ import annotations

import threading
import time
import types
from typing import Any

import pytest
from emulator_helpers import Api, flow_code, s3_body

from provisioner.emulator import faults as faults_module


def test_latency_is_added_to_every_request(emulator_factory: Any) -> None:
    api = Api(emulator_factory(latency_ms=150).url)
    started = time.monotonic()
    api.call("GET", "/connections")
    assert time.monotonic() - started >= 0.15  # a lower bound only: a sleep cannot be shorter


def test_latency_sleeps_without_holding_a_lock(
    emulator_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each request's "sleep" waits for 4 requests to be sleeping at once: if the latency were
    # taken under a shared lock the barrier would break and the requests would fail.
    barrier = threading.Barrier(4, timeout=10)
    fake = types.SimpleNamespace(sleep=lambda _s: barrier.wait(), monotonic=time.monotonic)
    api = Api(emulator_factory(latency_ms=1).url)  # the token was fetched before the patch
    monkeypatch.setattr(faults_module, "time", fake)
    statuses: list[int] = []

    def get() -> None:
        statuses.append(api_copy(api).call("GET", "/connections").status_code)

    threads = [threading.Thread(target=get) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 4


def api_copy(api: Api) -> Api:
    """The same caller on its own HTTP session (requests.Session is not shared across threads)."""
    import requests

    clone = object.__new__(Api)
    clone.__dict__.update(api.__dict__)
    clone.session = requests.Session()
    return clone


def test_rate_limit_answers_429_with_an_integer_retry_after(emulator_factory: Any) -> None:
    api = Api(emulator_factory(rate_limit=2).url)
    statuses = [api.call("GET", "/connections") for _ in range(4)]
    limited = [r for r in statuses if r.status_code == 429]
    assert statuses[0].status_code == 200 and limited
    for resp in limited:
        assert int(resp.headers["Retry-After"]) >= 1
        assert flow_code(resp) == "1429-429"
    # IMS is not rate limited.
    assert all(api.ims(client_id="c", client_secret="s").status_code == 200 for _ in range(5))


def test_fail_rate_one_fails_every_flow_request_and_does_nothing(
    emulator_factory: Any, tmp_path: Any
) -> None:
    db = str(tmp_path / "emu.db")
    failing = Api(emulator_factory(fail_rate=1.0, db_path=db).url)  # IMS still answers
    resp = failing.call("POST", "/connections", json=s3_body())
    assert (resp.status_code, flow_code(resp)) == (503, "1103-503")
    healthy = Api(emulator_factory(db_path=db).url)
    assert healthy.list_all() == []


def statuses(emulator_factory: Any, seed: int | None) -> list[int]:
    api = Api(emulator_factory(fail_rate=0.5, seed=seed).url)
    return [api.call("GET", "/connections").status_code for _ in range(30)]


def test_the_seed_makes_fault_dice_repeatable(emulator_factory: Any) -> None:
    first, again = statuses(emulator_factory, 42), statuses(emulator_factory, 42)
    assert first == again
    assert set(first) == {200, 503}
    assert statuses(emulator_factory, 7) != first


def test_fail_rate_without_seed_still_fails_about_as_asked(emulator_factory: Any) -> None:
    got = statuses(emulator_factory, None)
    assert 200 in got and 503 in got  # P(all 30 equal) = 2 * 0.5**30


def test_commit_fail_rate_does_the_write_then_answers_500(
    emulator_factory: Any, tmp_path: Any
) -> None:
    db = str(tmp_path / "emu.db")
    flaky = Api(emulator_factory(commit_fail_rate=1.0, db_path=db).url)
    observer = Api(emulator_factory(db_path=db).url)  # same database, no faults

    created = flaky.call("POST", "/connections", json=s3_body("written-anyway"))
    assert (created.status_code, flow_code(created)) == (500, "1102-500")
    [item] = observer.list_all()
    assert item["name"] == "written-anyway"

    patched = flaky.call(
        "PATCH",
        f"/connections/{item['id']}",
        headers={"If-Match": item["etag"]},
        json=[{"op": "replace", "path": "/name", "value": "patched-anyway"}],
    )
    assert patched.status_code == 500
    assert observer.get(item["id"])["name"] == "patched-anyway"

    deleted = flaky.call("DELETE", f"/connections/{item['id']}")
    assert deleted.status_code == 500
    assert observer.list_all() == []
    # Reads are not writes: they never roll the commit dice.
    assert flaky.call("GET", "/connections").status_code == 200


def test_seeded_dice_follow_the_request_not_the_thread_order(emulator_factory: Any) -> None:
    """With a seed each request's outcome is fixed, whatever order parallel lanes send in."""

    def outcomes(order: list[int]) -> dict[int, int]:
        api = Api(emulator_factory(fail_rate=0.5, seed=11).url)
        got: dict[int, int] = {}
        lock = threading.Lock()

        def get(i: int) -> None:
            status = api_copy(api).call("GET", f"/connections?limit={i + 1}").status_code
            with lock:
                got[i] = status

        threads = [threading.Thread(target=get, args=(i,)) for i in order]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return got

    first = outcomes(list(range(12)))
    again = outcomes(list(reversed(range(12))))
    assert first == again
    assert {200, 503} <= set(first.values())  # the dice did fail some and pass others
