"""AdaptivePacer: unlimited until a 429, then one shared rate learnt from it (fake clock)."""

from __future__ import annotations

import pytest

from provisioner.http.pacing import GROWTH, MARGIN, QUIET, AdaptivePacer


class Clock:
    """A clock that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def pacer(clock: Clock) -> AdaptivePacer:
    return AdaptivePacer(clock=clock, sleep=clock.sleep)


def test_no_pacing_until_the_service_throttles(pacer: AdaptivePacer, clock: Clock) -> None:
    for _ in range(1000):
        pacer.acquire()
        pacer.observe(201, None)
    pacer.observe(404, None)
    pacer.observe(503, 2.0)  # unavailable is not a rate limit
    assert clock.slept == []
    assert pacer.rate is None


def test_a_429_pauses_every_lane_then_paces_at_the_sustained_rate(
    pacer: AdaptivePacer, clock: Clock
) -> None:
    for _ in range(55):  # a burst of 55 successes in 0.1 s, then the limit
        pacer.acquire()
        pacer.observe(200, None)
    clock.now += 0.1
    pacer.observe(429, 1.0)
    # 55 requests over 0.1 s plus the 1 s pause: the service sustains 50/s.
    assert pacer.rate == pytest.approx(50 * MARGIN)
    pacer.acquire()  # any lane: waits out the Retry-After first
    assert clock.slept == [pytest.approx(1.0)]
    # The pause refilled the service's allowance: the rate times the pause (with the margin)
    # goes at once, the first request above included ...
    refilled = int(pacer.rate * 1.0 * MARGIN)
    for _ in range(refilled):
        pacer.acquire()
    assert clock.slept == [pytest.approx(1.0)]
    pacer.acquire()  # ... then one request every 1/rate seconds
    assert clock.slept[-1] == pytest.approx(1 / pacer.rate)


def test_one_burst_of_429s_from_many_lanes_is_one_slowdown(
    pacer: AdaptivePacer, clock: Clock
) -> None:
    for _ in range(20):
        pacer.observe(200, None)
    pacer.observe(429, 1.0)
    rate = pacer.rate
    for _ in range(9):  # the other lanes' requests of the same burst
        pacer.observe(429, 1.0)
    assert pacer.rate == rate
    assert pacer.throttles == 1


def test_the_rate_grows_only_after_a_quiet_spell_and_a_slowdown_at_most_halves_it(
    pacer: AdaptivePacer, clock: Clock
) -> None:
    for _ in range(100):
        pacer.observe(200, None)
    pacer.observe(429, 1.0)
    learnt = pacer.rate
    assert learnt is not None
    for _ in range(int(QUIET) + 1):  # the pause, then QUIET seconds of successes: no probing
        clock.now += 1.0
        pacer.observe(200, None)
    assert pacer.rate == learnt
    for _ in range(10):  # then GROWTH per second
        clock.now += 1.0
        pacer.observe(200, None)
    assert pacer.rate == pytest.approx(learnt * (1 + GROWTH) ** 10)
    raised = pacer.rate
    clock.now += 5.0
    pacer.observe(429, 30.0)  # few successes over a long window: a very low estimate
    assert pacer.rate == pytest.approx(raised / 2)


def test_a_429_without_retry_after_pauses_one_second(pacer: AdaptivePacer, clock: Clock) -> None:
    pacer.observe(200, None)
    pacer.observe(429, None)
    pacer.acquire()
    assert clock.slept == [pytest.approx(1.0)]


def test_pacing_right_after_a_429_stays_under_the_sustained_rate(
    pacer: AdaptivePacer, clock: Clock
) -> None:
    """The second window is paced, not probed: as many successes in it as the first one's rate
    allows, so a service that sustained 20/s is not asked for more straight away."""
    for i in range(30):  # 20 from a full bucket + 20/s over 0.5 s
        clock.now += 0.5 / 29 if i else 0.0
        pacer.observe(201, None)
    pacer.observe(429, 1.0)
    rate = pacer.rate
    assert rate == pytest.approx(20 * MARGIN)
    for _ in range(200):  # ten seconds of paced sending
        pacer.acquire()
        pacer.observe(201, None)
    assert pacer.rate == rate
    spacing = clock.slept[1:]
    assert min(spacing) == pytest.approx(1 / rate)


def test_time_without_successes_before_the_burst_does_not_lower_the_estimate(
    pacer: AdaptivePacer, clock: Clock
) -> None:
    pacer.observe(200, None)  # the plan's listing
    clock.now += 3.0  # the command plans and starts creating
    for i in range(30):
        clock.now += 0.5 / 29 if i else 0.0
        pacer.observe(201, None)
    pacer.observe(429, 1.0)
    assert pacer.rate == pytest.approx(20 * MARGIN)  # not 31 over 4.5 s


def test_the_rate_is_measured_over_the_busiest_stretch_before_the_429(
    pacer: AdaptivePacer, clock: Clock
) -> None:
    """A window that begins with the plan's few reads (less than half a second apart, so the
    same window) and a slow start's first lanes: the service was not kept busy then, and the
    whole window's figure (31 over 1.5 s plus the pause) would be far below its rate."""
    for _ in range(5):  # five reads, 0.2 s apart
        pacer.observe(200, None)
        clock.now += 0.2
    clock.now += 0.1
    for i in range(26):  # then the creates: 20 from a full bucket + 20/s over 0.3 s
        clock.now += 0.3 / 25 if i else 0.0
        pacer.observe(201, None)
    clock.now += 0.001
    pacer.observe(429, 1.0)
    whole = 31 / (clock.now - 100.0 + 1.0)
    assert pacer.rate == pytest.approx(26 / 1.301 * MARGIN)
    assert pacer.rate > whole * MARGIN * 1.2


def test_a_few_quick_successes_right_before_the_429_are_no_rate(
    pacer: AdaptivePacer, clock: Clock
) -> None:
    for _ in range(10):  # 10/s for a second
        clock.now += 0.1
        pacer.observe(201, None)
    for _ in range(3):  # then three in 10 ms
        clock.now += 0.005
        pacer.observe(201, None)
    pacer.observe(429, 0.0)  # and no pause asked for
    assert pacer.rate is not None
    # 13 over the 1.01 s since the first of them at most; never 3 per 10 ms (300/s).
    assert pacer.rate <= 13 / 1.0 * MARGIN


def test_successes_read_just_after_the_429_count_towards_its_estimate(
    pacer: AdaptivePacer, clock: Clock
) -> None:
    """The lanes' answers come in rounds: the 429 may be read before the rest of its round,
    which the service let through before it. A success a round trip later is the refill."""
    for i in range(25):
        clock.now += 0.3 / 24 if i else 0.0
        pacer.observe(201, None)
    pacer.observe(429, 1.0)
    first = pacer.rate
    assert first == pytest.approx(25 / 1.3 * MARGIN)
    clock.now += 0.01
    pacer.observe(201, None)
    pacer.observe(201, None)
    assert pacer.rate == pytest.approx(27 / 1.3 * MARGIN)
    clock.now += 0.14  # the next round
    pacer.observe(201, None)
    assert pacer.rate == pytest.approx(27 / 1.3 * MARGIN)
    assert pacer.throttles == 1


def test_the_pause_refill_counts_from_the_latest_429_less_what_went_through_since(
    pacer: AdaptivePacer, clock: Clock
) -> None:
    """The answers in flight when the first 429 came are refused too, later: the service's
    allowance refills from the latest of them. A lane that asks during the pause takes its
    slot only after it, when every 429 of the episode has been seen."""
    for i in range(30):
        clock.now += 0.5 / 29 if i else 0.0
        pacer.observe(201, None)
    pacer.observe(429, 1.0)
    resume = clock.now + 1.0
    rate = pacer.rate
    assert rate is not None
    clock.now += 0.15  # a round trip later: the rest of the round, refused as well
    pacer.observe(429, 1.0)
    clock.now += 0.05
    pacer.observe(201, None)  # let through after the refusal: it took a refilled token
    pacer.acquire()  # asked during the pause
    assert clock.now == pytest.approx(resume)
    expected = int(rate * (resume - (resume - 0.85)) * MARGIN) - 1
    for _ in range(expected - 1):  # the rest of what the pause refilled goes at once
        pacer.acquire()
    assert clock.now == pytest.approx(resume)
    pacer.acquire()  # the first paced slot
    pacer.acquire()
    assert clock.now == pytest.approx(resume + 1 / rate)
    assert pacer.throttles == 1


class Bucket:
    """A service's token bucket, as Flow Service's emulator keeps it (capacity one second)."""

    def __init__(self, clock: Clock, rate: float) -> None:
        self.clock, self.rate = clock, rate
        self.tokens, self.stamp = rate, clock.now

    def answer(self) -> int:
        now = self.clock.now
        self.tokens = min(self.rate, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 201
        return 429


def test_against_a_token_bucket_the_refill_is_spent_without_another_429(
    pacer: AdaptivePacer, clock: Clock
) -> None:
    """500 requests, one after another, 10 ms each, at a 20/s bucket of 20: one 429, and the
    run takes about what the bucket allows (20 at once, then 20/s) plus the one-second pause,
    not a second more for an allowance refilled and never used."""
    bucket = Bucket(clock, 20.0)
    start = clock.now
    done = refused = 0
    while done < 500:
        pacer.acquire()
        clock.now += 0.01
        status = bucket.answer()
        pacer.observe(status, 1.0 if status == 429 else None)
        if status == 429:
            refused += 1
        else:
            done += 1
    assert refused == 1
    ideal = (500 - 20) / 20.0
    assert clock.now - start < ideal + 1.0 + 0.6  # the pause, and the pacing margins


def test_a_new_429_while_the_refill_is_spent_waits_out_its_own_pause_first(
    pacer: AdaptivePacer, clock: Clock
) -> None:
    for i in range(30):
        clock.now += 0.5 / 29 if i else 0.0
        pacer.observe(201, None)
    pacer.observe(429, 1.0)
    pacer.acquire()
    pacer.acquire()  # spending what the first pause refilled
    pacer.observe(429, 1.0)  # the service says 429 again: the refill is gone
    resume = clock.now + 1.0
    pacer.acquire()
    assert clock.now == pytest.approx(resume)
