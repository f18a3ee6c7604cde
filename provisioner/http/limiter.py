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
- an answer much slower than the fastest one seen (queueing at the service, or the shared pacer
  holding requests back after a 429) shrinks it by a tenth, at most once per window, and stops
  growth for that window.

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
CONGESTED = frozenset({429, 503})


class ConcurrencyLimiter:
    """Thread-safe. `acquire()` before a request (blocks while the window is full);
    `release(status, seconds)` after its answer (status 0: no answer, e.g. a timeout)."""

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
        self.in_flight = 0
        self.peak = 0  # the most requests in flight at once so far (for the benchmark)
        self._clock = clock
        self._cond = threading.Condition()
        self._slow_start = True
        self._held = 0  # clean windows spent at SLOW_START_CAP
        self._fastest: float | None = None
        self._clean = 0  # fast, clean answers since the window last changed
        self._last_cut = float("-inf")  # when the window last shrank
        self._cut_span = 0.0  # the window shrinks at most once per this many seconds

    @property
    def window(self) -> int:
        return max(1, int(self.limit))

    def acquire(self) -> None:
        with self._cond:
            while self.in_flight >= self.window:
                self._cond.wait()
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)

    def release(self, status: int, seconds: float) -> None:
        with self._cond:
            self.in_flight -= 1
            self._learn(status, seconds)
            self._cond.notify_all()

    def _learn(self, status: int, seconds: float) -> None:
        now = self._clock()
        if status in CONGESTED:
            self._cut(BACKOFF, now, seconds)
            self._slow_start = False
            return
        if not 200 <= status < 300 and status != 404:
            return  # a refusal says nothing about load; a timeout is the sender's business
        if self._fastest is None or seconds < self._fastest:
            self._fastest = seconds
        fastest = self._fastest
        if seconds > fastest * SLOW and seconds - fastest > SLOW_FLOOR:
            self._cut(EASE, now, seconds)
            self._clean = 0
            return
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
