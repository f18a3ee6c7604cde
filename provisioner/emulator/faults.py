"""Injected faults: latency, a rate limit (429), failures before (503) and after (500) a write."""

from __future__ import annotations

import hashlib
import math
import random
import threading
import time

from provisioner.emulator import errors
from provisioner.emulator.config import EmulatorConfig


class Faults:
    """The fault dice and the token bucket. Only service requests (not IMS) roll the dice.

    With a seed, the dice are rolled per request, not from one stream shared by every thread:
    the n-th roll for one request (method, path, query and body) always gives the same answer,
    whatever the other lanes are doing, so a seeded run is the same run each time.
    """

    def __init__(self, config: EmulatorConfig) -> None:
        self._latency = config.latency_ms / 1000
        self._rate = config.rate_limit
        self._fail_rate = config.fail_rate
        self._commit_fail_rate = config.commit_fail_rate
        self._seed = config.seed
        self._rng = random.Random(config.seed)
        self._lock = threading.Lock()
        self._local = threading.local()
        self._rolls: dict[str, int] = {}
        # The bucket holds one second of requests (at least one), and starts full.
        self._capacity = max(1.0, self._rate)
        self._tokens = self._capacity
        self._stamp = time.monotonic()

    def begin(self, method: str, path: str, query: str, body: bytes) -> None:
        """Name the request this thread now serves (its dice follow from it)."""
        digest = hashlib.sha256(body).hexdigest()[:16]
        self._local.key = f"{method} {path}?{query} {digest}"

    def delay(self) -> None:
        # A plain sleep in the request's own thread, outside every lock: parallel requests
        # overlap their latency as they would over a real network.
        if self._latency > 0:
            time.sleep(self._latency)

    def before(self) -> None:
        """Throttle, then maybe fail before anything is done."""
        if self._rate > 0:
            self._throttle()
        if self._roll(self._fail_rate, "before"):
            raise errors.flow(
                "1103-503",
                "The service is temporarily unavailable. Please try again. If the problem "
                "persists, please contact customer support.",
            )

    def after_write(self) -> None:
        """Maybe fail after a write was committed: the caller cannot know it happened."""
        if self._roll(self._commit_fail_rate, "after"):
            raise errors.flow(
                "1102-500",
                "An internal error has occurred. Please try again. If the problem persists, "
                "please contact customer support.",
            )

    def _roll(self, p: float, what: str) -> bool:
        if p <= 0:
            return False
        key = getattr(self._local, "key", None)
        with self._lock:
            if self._seed is None or key is None:
                return self._rng.random() < p
            n = self._rolls.get(f"{what} {key}", 0)
            self._rolls[f"{what} {key}"] = n + 1
        return random.Random(f"{self._seed}|{what}|{key}|{n}").random() < p

    def _throttle(self) -> None:
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self._capacity, self._tokens + (now - self._stamp) * self._rate)
            self._stamp = now
            if self._tokens >= 1:
                self._tokens -= 1
                return
            wait = (1 - self._tokens) / self._rate
        error = errors.flow(
            "1429-429",
            f"Too many requests: the limit is {self._rate:g} requests per second. "
            "Please retry after the number of seconds in the Retry-After header.",
        )
        error.headers["Retry-After"] = str(max(1, math.ceil(wait)))
        raise error
