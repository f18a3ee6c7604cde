"""The adaptive concurrency limiter (AIMD), with a fake clock; and its hook in the client."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from client_helpers import s3_body

from provisioner.http.limiter import HOLD, SLOW_START_CAP, ConcurrencyLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def answer(limiter: ConcurrencyLimiter, clock: Clock, status: int, seconds: float) -> None:
    limiter.acquire()
    clock.now += seconds
    limiter.release(status, seconds)


def test_fast_clean_answers_grow_the_window_up_to_the_maximum() -> None:
    clock = Clock()
    lim = ConcurrencyLimiter(64, start=4, clock=clock)
    seen = [lim.window]
    for _ in range(2500):
        answer(lim, clock, 200, 0.15)
        seen.append(lim.window)
    assert seen[0] == 4 and max(seen) == 64 and lim.window == 64
    assert seen == sorted(seen)  # never shrank
    # Doubled to the cap, held there, then doubled on: never one by one while nothing pushed back.
    assert sorted(set(seen)) == [4, 8, 12, 24, 48, 64]


def test_slow_start_holds_at_its_cap_for_a_few_windows() -> None:
    clock = Clock()
    lim = ConcurrencyLimiter(64, start=4, clock=clock)
    answers = 0
    while lim.window < SLOW_START_CAP:
        answer(lim, clock, 200, 0.15)
        answers += 1
    assert answers == 4 + 8  # one window of 4, one of 8
    for _ in range(HOLD * SLOW_START_CAP - 1):
        answer(lim, clock, 200, 0.15)
        assert lim.window == SLOW_START_CAP
    answer(lim, clock, 200, 0.15)
    assert lim.window == SLOW_START_CAP  # the first window after the hold starts the doubling
    for _ in range(SLOW_START_CAP):
        answer(lim, clock, 200, 0.15)
    assert lim.window == 2 * SLOW_START_CAP


def test_a_429_during_the_hold_ends_slow_start() -> None:
    clock = Clock()
    lim = ConcurrencyLimiter(64, start=SLOW_START_CAP, clock=clock)
    for _ in range(SLOW_START_CAP):
        answer(lim, clock, 200, 0.15)
    answer(lim, clock, 429, 0.15)
    assert lim.window == SLOW_START_CAP // 2
    for _ in range(10 * SLOW_START_CAP):
        clock.now += 0.15
        answer(lim, clock, 200, 0.15)
    assert lim.window < SLOW_START_CAP + 10  # one by one from then on: +1 per window


def test_a_429_halves_the_window_once_per_round_trip_and_ends_slow_start() -> None:
    clock = Clock()
    lim = ConcurrencyLimiter(64, start=32, clock=clock)
    answer(lim, clock, 200, 0.02)
    lim.acquire()
    lim.release(429, 0.02)
    assert lim.window == 16
    lim.acquire()
    lim.release(429, 0.02)  # the same burst: not halved again
    assert lim.window == 16
    clock.now += 0.1
    answer(lim, clock, 503, 0.02)
    assert lim.window == 8
    for _ in range(8):
        answer(lim, clock, 200, 0.02)
    assert lim.window == 9  # additive now, not doubling


def test_rising_latency_shrinks_and_never_below_one() -> None:
    clock = Clock()
    lim = ConcurrencyLimiter(10, start=10, clock=clock)
    answer(lim, clock, 200, 0.02)
    before = lim.window
    answer(lim, clock, 200, 0.5)  # much slower than the fastest seen
    assert lim.window < before
    for _ in range(100):
        clock.now += 1
        answer(lim, clock, 429, 0.02)
    assert lim.window == 1
    with pytest.raises(ValueError):
        ConcurrencyLimiter(0)


def test_small_jitter_is_not_rising_latency() -> None:
    clock = Clock()
    lim = ConcurrencyLimiter(10, start=4, clock=clock)
    answer(lim, clock, 200, 0.001)
    for _ in range(20):
        answer(lim, clock, 200, 0.02)  # 20x the fastest, but only 19 ms more
    assert lim.window == 10


def test_the_window_bounds_requests_in_flight() -> None:
    lim = ConcurrencyLimiter(8, start=2)
    lim.acquire()
    lim.acquire()
    blocked = threading.Event()
    done = threading.Event()

    def third() -> None:
        blocked.set()
        lim.acquire()
        done.set()

    threading.Thread(target=third, daemon=True).start()
    blocked.wait(5)
    assert not done.wait(0.2)
    lim.release(200, 0.01)
    assert done.wait(5)
    assert lim.peak == 2


@pytest.mark.slow
def test_the_client_sends_through_the_limiter(emulator_factory: Any, make_client: Any) -> None:
    emu = emulator_factory(rate_limit=10.0)
    lim = ConcurrencyLimiter(16, start=16)
    client = make_client(emu.url, limiter=lim)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda n: client.create_connection("prod", s3_body(f"c{n}")), range(30)))
    assert lim.in_flight == 0 and lim.peak <= 16
    assert lim.window < 16  # the emulator's 429s shrank it


def held_answer(
    limiter: ConcurrencyLimiter, clock: Clock, status: int, seconds: float, held: float
) -> None:
    limiter.acquire()
    clock.now += held + seconds
    limiter.release(status, seconds, held=held)


def throttled(window: int) -> tuple[ConcurrencyLimiter, Clock]:
    """A limiter that has seen a 429 (slow start over, the pacer pacing), at `window` lanes."""
    clock = Clock()
    lim = ConcurrencyLimiter(64, start=2 * window, clock=clock)
    answer(lim, clock, 200, 0.15)
    answer(lim, clock, 429, 0.15)
    assert lim.window == window
    clock.now += 1.0
    return lim, clock


def test_answers_the_pacer_held_back_longer_than_their_latency_do_not_grow_the_window() -> None:
    # 6 lanes, the pacer at 20/s: each request waits 6/20 - 0.15 = 0.15 s for its slot, and
    # then some. More lanes would only wait longer.
    lim, clock = throttled(6)
    for _ in range(200):
        held_answer(lim, clock, 200, 0.15, held=0.16)
    assert lim.window == 6
    # Nor does it shrink: the wait was the pacer's, not the service's.
    for _ in range(200):
        held_answer(lim, clock, 200, 0.15, held=5.0)
    assert lim.window == 6


def test_answers_held_briefly_still_grow_the_window_one_by_one() -> None:
    lim, clock = throttled(3)
    for _ in range(3):
        held_answer(lim, clock, 200, 0.15, held=0.1)
    assert lim.window == 4
    for _ in range(3):
        held_answer(lim, clock, 200, 0.15, held=0.2)
    assert lim.window == 4  # held too long: not counted
    for _ in range(4):
        held_answer(lim, clock, 200, 0.15, held=0.0)
    assert lim.window == 5


def test_once_the_service_said_429_slow_answers_no_longer_shrink_the_window() -> None:
    lim, clock = throttled(6)
    for _ in range(200):
        clock.now += 1.0
        answer(lim, clock, 200, 0.6)  # 4x the fastest: the machine is loaded
    assert lim.window > 6  # grew (one by one), never cut
    before = lim.window
    clock.now += 1.0
    answer(lim, clock, 429, 0.15)  # a 429 still halves it
    assert lim.window == before // 2


def test_a_503_is_not_a_rate_limit_slow_answers_still_shrink_after_it() -> None:
    clock = Clock()
    lim = ConcurrencyLimiter(64, start=16, clock=clock)
    answer(lim, clock, 200, 0.15)
    answer(lim, clock, 503, 0.15)
    assert lim.window == 8
    clock.now += 1.0
    answer(lim, clock, 200, 0.6)
    assert lim.window == 7  # 8 x 0.9


def test_the_client_tells_the_limiter_the_pacers_wait_apart(
    emulator_factory: Any, make_client: Any
) -> None:
    """The limiter judges the service's time: the client reports the pacer's wait apart."""
    import time

    class HoldingPacer:
        def __init__(self) -> None:
            self.acquired = 0

        def acquire(self) -> None:
            self.acquired += 1
            time.sleep(0.05)

    seen: list[tuple[int, float, float]] = []

    class Recording(ConcurrencyLimiter):
        def release(
            self, status: int, seconds: float, *, held: float = 0.0, windowed: bool = True
        ) -> None:
            seen.append((status, seconds, held))
            super().release(status, seconds, held=held, windowed=windowed)

    emu = emulator_factory()
    pacer = HoldingPacer()
    client = make_client(emu.url, limiter=Recording(4), pacer=pacer)
    client.create_connection("prod", s3_body("held"))
    assert pacer.acquired >= 1 and seen
    status, seconds, held = seen[-1]
    assert status in (200, 201)
    assert held >= 0.05 * pacer.acquired  # the pacer's sleeps, every one of them
    assert seconds >= 0.0


def test_an_unwindowed_request_goes_at_once_and_is_still_learnt_from() -> None:
    clock = Clock()
    lim = ConcurrencyLimiter(8, start=2, clock=clock)
    lim.acquire()
    lim.acquire()  # the window is full
    lim.acquire(windowed=False)  # a listing's page: not held by the window, not counted in it
    assert lim.in_flight == 2 and lim.total == 3 and lim.peak == 3
    lim.release(429, 0.1, windowed=False)
    assert lim.in_flight == 2 and lim.total == 2
    assert lim.window == 1  # its 429 halved the window all the same


def test_the_maximum_bounds_every_request_unwindowed_ones_too() -> None:
    """--parallelism N is the most requests in flight at once, listings' pages included."""
    lim = ConcurrencyLimiter(2, start=2)
    lim.acquire(windowed=False)
    lim.acquire(windowed=False)
    got: list[str] = []

    def third(windowed: bool) -> None:
        lim.acquire(windowed=windowed)
        got.append("windowed" if windowed else "page")

    waiting = [threading.Thread(target=third, args=(w,)) for w in (False, True)]
    for t in waiting:
        t.start()
    time.sleep(0.2)
    assert got == [] and lim.total == 2  # both wait: the maximum is reached
    lim.release(200, 0.01, windowed=False)
    deadline = time.monotonic() + 5
    while len(got) < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)
    assert len(got) == 1 and lim.total == 2  # one went, in the freed place
    lim.release(200, 0.01, windowed=False)
    for t in waiting:
        t.join(5)
    assert sorted(got) == ["page", "windowed"] and lim.total == 2 and lim.peak == 2


class Gate:
    """A pacer that lets requests through only once `parties` of them wait at once."""

    def __init__(self, parties: int, timeout: float) -> None:
        self.barrier = threading.Barrier(parties, timeout=timeout)

    def acquire(self) -> None:
        self.barrier.wait()


def test_a_listings_pages_are_not_held_back_by_the_window_but_creates_are(
    emulator_factory: Any, make_client: Any
) -> None:
    """The plan's reads go over their own lanes at once: a slow start sized for creates must
    not hold them back a round trip. Four listings meet at the gate with a window of one;
    four creates cannot (the gate gives up waiting, and the creates fail). Both may have four
    in flight (the maximum); only the window of one holds the creates."""
    from concurrent.futures import ThreadPoolExecutor

    from provisioner.errors import ProvisionerError

    emu = emulator_factory()
    reads = make_client(emu.url, limiter=ConcurrencyLimiter(4, start=1), pacer=Gate(4, 10.0))
    reads.tokens.token()
    with ThreadPoolExecutor(4) as pool:
        listed = list(pool.map(lambda n: list(reads.list_connections("prod", name=f"n{n}")), range(4)))
    assert listed == [[], [], [], []]

    writes = make_client(emu.url, limiter=ConcurrencyLimiter(4, start=1), pacer=Gate(4, 1.0))
    writes.tokens.token()

    def create(n: int) -> str:
        try:
            writes.create_connection("prod", s3_body(f"c{n}"))
            return "created"
        except (threading.BrokenBarrierError, ProvisionerError):
            return "held"

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(create, range(4)))
    assert "created" not in outcomes
