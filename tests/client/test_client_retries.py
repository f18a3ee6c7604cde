"""Retries against the real emulator's faults: 429 with Retry-After, 503s, capped attempts."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from client_helpers import Sleeps, s3_body

from provisioner.errors import TransientError, UncertainWriteError


@pytest.mark.slow
def test_rate_limit_429_waits_retry_after_and_nothing_fails(emulator_factory, make_client):
    emu = emulator_factory(rate_limit=10)
    sleeps = Sleeps(real=True)
    client = make_client(emu.url, sleep=sleeps)
    for _ in range(25):
        assert list(client.list_connections("prod")) == []
    assert sleeps, "25 requests at 10 per second must meet a 429"
    # Backoff alone would wait under a second on early retries; these are Retry-After values.
    assert all(s >= 1.0 and s == int(s) for s in sleeps)
    assert client.requests_sent == 1 + 25 + len(sleeps)


@pytest.mark.slow
def test_rate_limit_with_parallel_lanes_each_waiting_for_itself(emulator_factory, make_client):
    emu = emulator_factory(rate_limit=20)
    sleeps = Sleeps(real=True)
    client = make_client(emu.url, sleep=sleeps, max_retries=10)
    with ThreadPoolExecutor(10) as pool:
        created = list(
            pool.map(lambda n: client.create_connection("prod", s3_body(f"r{n}")), range(60))
        )
    assert len(created) == 60 and sleeps  # every create went through; 429s were met and waited
    assert len(list(client.list_connections("prod"))) == 60  # and none was created twice


@pytest.mark.slow
def test_retry_after_is_capped(emulator_factory, make_client):
    emu = emulator_factory(rate_limit=2)
    sleeps = Sleeps(real=True)
    client = make_client(emu.url, sleep=sleeps, backoff_cap=0.25, max_retries=20)
    for _ in range(4):
        list(client.list_connections("prod"))
    assert sleeps and set(sleeps) == {0.25}


def test_503s_on_reads_are_retried_to_success(emulator_factory, make_client):
    emu = emulator_factory(fail_rate=0.5, seed=7)
    sleeps = Sleeps()
    client = make_client(emu.url, sleep=sleeps, max_retries=30)
    for _ in range(20):
        assert list(client.list_connections("prod")) == []
    assert sleeps  # with p=0.5 over 20 reads, some were refused and retried
    assert all(0 <= s <= 20.0 for s in sleeps)  # jittered backoff within the cap
    assert client.requests_sent == 1 + 20 + len(sleeps)


def test_a_read_that_keeps_failing_gives_up_after_max_retries(emulator_factory, make_client):
    emu = emulator_factory(fail_rate=1.0)
    sleeps = Sleeps()
    client = make_client(emu.url, sleep=sleeps, max_retries=3)
    with pytest.raises(TransientError) as info:
        list(client.list_connections("prod"))
    assert not isinstance(info.value, UncertainWriteError)
    assert len(sleeps) == 3 and client.requests_sent == 1 + 4
    assert str(info.value).startswith(
        "Flow Service still answered GET /connections with 503 Service Unavailable"
    )
    assert "after 4 attempts; try again later" in str(info.value)
    assert info.value.request_id


def test_backoff_grows_and_stays_under_the_cap(emulator_factory, make_client):
    emu = emulator_factory(fail_rate=1.0)
    sleeps = Sleeps()
    client = make_client(emu.url, sleep=sleeps, max_retries=8, backoff_cap=3.0)
    with pytest.raises(TransientError):
        client.get_connection("prod", "x")
    assert len(sleeps) == 8
    for n, waited in enumerate(sleeps):  # full jitter: uniform(0, min(cap, 0.5 * 2**n))
        assert 0 <= waited <= min(3.0, 0.5 * 2**n)


def test_a_shared_pacer_is_asked_before_every_flow_service_attempt(emulator_factory, make_client):
    class CountingPacer:
        def __init__(self) -> None:
            self.acquired = 0

        def acquire(self) -> None:
            self.acquired += 1

    emu = emulator_factory(fail_rate=1.0)
    pacer = CountingPacer()
    client = make_client(emu.url, sleep=Sleeps(), pacer=pacer, max_retries=2)
    with pytest.raises(TransientError):
        client.get_connection("prod", "x")
    assert pacer.acquired == 3  # every attempt, retries included; the IMS exchange is not paced
    assert client.requests_sent == 4
