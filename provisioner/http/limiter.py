"""ConcurrencyLimiter: how many requests may be in flight at once, learnt from the answers (AIMD).

A fixed number of lanes cannot suit both an unlimited service far away (more lanes, more
throughput) and a rate-limited one (more lanes, more 429s). The limiter keeps a window between
1 and a maximum (`--parallelism`):

- it starts small and doubles after each window's worth of fast, clean answers (slow start) up
  to SLOW_START_CAP; there it holds for HOLD windows, the time a rate-limited service takes to
  answer 429 once its burst allowance is spent, so that burst meets few lanes; if the answers
  stay fast and clean it goes on doubling up to the maximum;
- a 429 or 503 halves it, at most once per window (multiplicative decrease), and ends slow start
  for good: from then on it grows by one per window (additive increase);
- an answer much slower than the fastest one seen (queueing at the service) shrinks it by a
  tenth, at most once per window, and stops growth for that window; but not once the service
  has answered 429: a rate-limited service refuses rather than queues, the shared pacer then
  sets the pace, and slower answers are the machine's own load (this client's or the
  service's) which fewer lanes would turn into unused pacer slots, not into fewer 429s;
- an answer the shared pacer held back for longer than the service then took to answer does
  not grow it: the lanes already carry every request the pacer lets go, and more lanes would
  only queue in the pacer (where, at the next 429, each would still go out on the slot it had
  been given). It does not shrink it either: the wait was the pacer's, not the service's.

The time the limiter judges is the service's own (`seconds`: the request's time less the
pacer's wait, `held`), so after a 429 the window settles at about twice the lanes the pacer's
rate needs (rate x latency), never below it: a slightly slower answer does not leave the
pacer's slots unused.

A listing's pages do not wait for the window (their callers' lanes bound them: the plan's read
lanes, one per apply lane), but the limiter learns from their answers: a slow start sized for
creates would hold the plan's first reads back a whole round trip.

The shared pacer (provisioner/http/pacing.py) still decides *when* a request may go after a 429
and honours Retry-After; the limiter only decides *how many* may be waiting on the service.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

START = 4  # the first window
SLOW_START_CAP = 12  # doubling pauses here for HOLD windows of clean answers
HOLD = 2
SLOW = 2.0  # an answer this many times slower than the fastest seen is "slow"
SLOW_FLOOR = 0.05  # seconds: below this extra latency an answer is never slow (jitter)
BACKOFF = 0.5  # on 429/503
EASE = 0.9  # on rising latency
HELD = 1.0  # no growth on an answer held by the pacer for more than this share of its latency
CONGESTED = frozenset({429, 503})


class ConcurrencyLimiter:
    """Thread-safe. `acquire()` before a request (blocks while the window is full);
    `release(status, seconds, held=...)` after its answer (status 0: no answer, e.g. a
    timeout): `seconds` the service's time, `held` the time the shared pacer made it wait."""

    def __init__(
        self,
        maximum: int,
        *,
        start: int = START,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if maximum < 1:
            raise ValueError("the maximum concurrency must be at least 1")
        self.maximum = maximum
        self.limit = float(min(maximum, max(1, start)))
        self.in_flight = 0  # windowed requests in flight
        self.total = 0  # every request in flight, unwindowed ones too
        self.peak = 0  # the most requests in flight at once so far (for the benchmark)
        self._clock = clock
        self._cond = threading.Condition()
        self._slow_start = True
        self._held = 0  # clean windows spent at SLOW_START_CAP
        self._throttled = False  # the service has answered 429: its limit is a rate, not lanes
        self._fastest: float | None = None
        self._clean = 0  # fast, clean answers since the window last changed
        self._last_cut = float("-inf")  # when the window last shrank
        self._cut_span = 0.0  # the window shrinks at most once per this many seconds

    @property
    def window(self) -> int:
        return max(1, int(self.limit))

    def acquire(self, *, windowed: bool = True) -> None:
        """Wait for room in the window, and under the maximum; `windowed=False` (a listing's
        page) waits only for the maximum (--parallelism: the most requests in flight at once,
        whatever they are) and is not counted in the window."""
        with self._cond:
            while self.total >= self.maximum or (windowed and self.in_flight >= self.window):
                self._cond.wait()
            self.total += 1
            if windowed:
                self.in_flight += 1
            self.peak = max(self.peak, self.total)

    def release(
        self, status: int, seconds: float, *, held: float = 0.0, windowed: bool = True
    ) -> None:
        """Learn from an answer (an unwindowed one too), and free its place."""
        with self._cond:
            self.total -= 1
            if windowed:
                self.in_flight -= 1
            self._learn(status, seconds, held)
            self._cond.notify_all()

    def _learn(self, status: int, seconds: float, held: float = 0.0) -> None:
        now = self._clock()
        if status in CONGESTED:
            self._cut(BACKOFF, now, seconds)
            self._slow_start = False
            self._throttled = self._throttled or status == 429
            return
        if not 200 <= status < 300 and status != 404:
            return  # a refusal says nothing about load; a timeout is the sender's business
        if self._fastest is None or seconds < self._fastest:
            self._fastest = seconds
        fastest = self._fastest
        slow = seconds > fastest * SLOW and seconds - fastest > SLOW_FLOOR
        if slow and not self._throttled:
            self._cut(EASE, now, seconds)
            self._clean = 0
            return
        if held > HELD * seconds:
            return  # the pacer, not the window, sets the pace
        self._clean += 1
        if self._clean < self.window:
            return
        self._clean = 0
        if not self._slow_start:
            self.limit = min(float(self.maximum), self.limit + 1)
        elif self.limit < SLOW_START_CAP:
            self.limit = min(float(self.maximum), float(SLOW_START_CAP), self.limit * 2)
        elif self._held < HOLD:
            self._held += 1
        else:
            self.limit = min(float(self.maximum), self.limit * 2)

    def _cut(self, factor: float, now: float, seconds: float) -> None:
        # Answers already in flight when the window shrank say the same thing again: one cut
        # per round trip.
        if now - self._last_cut < self._cut_span:
            return
        self.limit = max(1.0, self.limit * factor)
        self._last_cut = now
        self._cut_span = max(seconds, self._fastest or 0.0)
        self._clean = 0
