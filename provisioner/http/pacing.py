"""AdaptivePacer: one request rate shared by every lane, learnt from the service's 429 answers.

A pause asked by Retry-After is capped (provisioner.http.limits.RETRY_AFTER_CAP) here as in the
retry loop, so no answer can hold the lanes for longer than that.

Adobe documents no rate limit, so the pacer starts unlimited. When Flow Service answers 429, it
estimates the rate the service sustained before it (successes over the busiest stretch since the
previous 429, plus the Retry-After pause; see `_sustained`) and from then on spaces requests at
slightly less than that, for all lanes together: the lanes slow down as one instead of each
finding the limit on its own and each sleeping a whole Retry-After.

What the pause refilled is not wasted: the service's allowance grew back while every lane
waited (its rate times the time since the latest 429 it answered, less what went through since),
and the first requests after the pause spend that much of it at once before the pacing starts
(`_refilled`). Paced below the rate, the allowance would otherwise stay full and unused to the end.

The estimate is close (a few percent below the limit of a token bucket), so the pacer does not
probe for more straight away: every probe above the limit costs a burst of 429s and a whole
Retry-After pause for every lane. Only after QUIET seconds without a 429 does the rate grow, by
GROWTH of itself per second of sending, so a limit that was raised (or a pessimistic estimate)
is found again in a long run.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from provisioner.http.limits import RETRY_AFTER_CAP, finite_seconds

# Pace at this share of the rate the service was seen to sustain.
MARGIN = 0.99
QUIET = 30.0  # seconds without a 429 before the rate grows again
# A pause in successes longer than this starts the measuring window afresh: time the command
# spent elsewhere (planning, between the listing and the first create) is not the service's.
GAP = 0.5
GROWTH = 0.01  # then the rate grows by this share of itself per second
MIN_RATE = 0.5  # requests/s: never slower than this
MIN_SPAN = 1.0  # seconds: no rate is measured over less (a few quick successes are no rate)
STAMPS = 4096  # successes remembered per window, to find its busiest stretch
# Successes seen this soon after a 429 were let through before it: the lanes' answers come in
# rounds, and the 429 may be read before the rest of its round.
GRACE = 0.05


class AdaptivePacer:
    """Thread-safe. `acquire()` before each attempt; `observe()` after each answer."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self.rate: float | None = None  # requests/s; None until the service first says 429
        self.throttles = 0  # 429 episodes seen (one burst of 429s from many lanes is one)
        self._next = 0.0  # when the next request may start
        self._resume = 0.0  # no request before this: the service's Retry-After, for every lane
        self._since: float | None = None  # start of the measuring window: the first success
        self._ok = 0  # successes in the current window
        self._grown = 0.0  # the rate grows only after this time, from when it last grew
        self._last_ok: float | None = None  # when the latest success was seen
        # When each success of the current window was seen (the latest STAMPS of them).
        self._stamps: deque[float] = deque(maxlen=STAMPS)
        # The latest 429's estimate: successes over seconds, and the rate before it.
        self._tally = 0
        self._span = 1.0
        self._before: float | None = None
        self._late_until = float("-inf")  # successes seen until then still count towards it
        # The service's allowance after a pause: when it last answered 429 (found it empty),
        # the successes seen since (each took some of what the pause refills), and the
        # requests that may still go at once (worked out at the first one after the pause).
        self._drained = float("-inf")
        self._since_drained = 0
        self._refill_due = False
        self._credit = 0

    def acquire(self) -> None:
        """Block until this lane may send (at once while no limit has been seen)."""
        while True:
            with self._lock:
                now = self._clock()
                if now >= self._resume:
                    # Past the pause: a slot now, under the same lock as the check (a 429 seen
                    # in between would otherwise let this lane spend the next pause's refill).
                    if self._refill_due:
                        self._refill_due = False
                        self._credit = self._refilled()
                    if self._credit > 0:
                        self._credit -= 1
                        return
                    start = max(now, self._next)
                    if self.rate is not None:
                        self._next = start + 1.0 / self.rate
                    break
                wait = self._resume - now
            # Out the pause first, and only then a slot: by then every 429 of the episode
            # (the answers in flight when the first one came) has been seen.
            self._sleep(wait)
        if start > now:
            self._sleep(start - now)

    def observe(self, status: int, retry_after: float | None) -> None:
        """Learn from one answer of the service: its status and Retry-After (seconds), if any."""
        with self._lock:
            if 200 <= status < 300:
                now = self._clock()
                if now < self._late_until:
                    # Let through in the same round of answers as the 429, seen just after it.
                    self._tally += 1
                    self._set_rate()
                    return
                if self._since is None or (self._last_ok is not None and now - self._last_ok > GAP):
                    # Not the pacer's creation: the command may have read manifests since.
                    self._since = max(now, self._resume)
                    self._ok = 0
                    self._stamps.clear()
                self._last_ok = now
                self._ok += 1
                self._since_drained += 1
                self._stamps.append(now)
                if self.rate is not None:
                    self._grow(now)
                return
            if status != 429:
                return
            now = self._clock()
            # The service's allowance was empty when it said this: it refills from here.
            self._drained = now
            self._since_drained = 0
            self._refill_due = True
            self._credit = 0
            if now < self._resume:
                return  # another lane's request from the same burst: already accounted for
            # Never longer than the cap, whatever the service asked (and 1 s when it said nothing
            # usable): one 429 must not stop every lane for longer than a single retry waits.
            asked = finite_seconds(retry_after)
            pause = 1.0 if asked is None else min(asked, RETRY_AFTER_CAP)
            self._tally, self._span = self._sustained(now, pause)
            self._before = self.rate
            self._late_until = now + GRACE
            self._set_rate()
            self.throttles += 1
            self._resume = now + pause
            self._next = self._resume
            self._since = self._resume  # the next window is a sending period, like this one
            self._ok = 0
            self._stamps.clear()
            self._grown = self._resume + QUIET

    def _set_rate(self) -> None:
        rate = max(MIN_RATE, self._tally / self._span * MARGIN)
        if self._before is not None:
            # Slow down, but at most by half per episode: a window with few successes
            # (another client sharing the limit) must not stall the run.
            rate = min(self._before, max(rate, self._before / 2))
        self.rate = rate

    def _sustained(self, now: float, pause: float) -> tuple[int, float]:
        """The rate the service let through up to this 429, the coming pause included.

        Measured from the start of the window (the first success since the last 429 or pause)
        and from each later success: the window may begin with time the service was not kept
        busy (the plan's few reads, a slow start's first lanes), which would make the whole
        window's figure too low. The busiest stretch that ends here is the service's: while it
        was drained, what it let through was its burst allowance plus its rate over the
        stretch, and the pause refills about that allowance.
        """
        since = now if self._since is None else self._since
        best = (self._ok, max(now - since + pause, MIN_SPAN))
        count = len(self._stamps)
        for i, stamp in enumerate(self._stamps):
            span = max(now - stamp + pause, MIN_SPAN)
            if (count - i) * best[1] > best[0] * span:
                best = (count - i, span)
        return best

    def _refilled(self) -> int:
        """Requests that may go at once after the pause: what the service's allowance grew back
        by since its latest 429 at the paced rate (already below the service's), less the
        successes seen since, and never more than the busiest stretch showed it lets through."""
        if self.rate is None or self._resume <= self._drained:
            return 0
        grown = int(self.rate * (self._resume - self._drained) * MARGIN) - self._since_drained
        return max(0, min(grown, self._tally))

    def _grow(self, now: float) -> None:
        """The rate after QUIET seconds without a 429: GROWTH more per second since."""
        if self.rate is None or now <= self._grown:
            return
        self.rate *= 1.0 + GROWTH * (now - self._grown)
        self._grown = now
