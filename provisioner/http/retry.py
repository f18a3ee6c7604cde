"""When to try a request again, and how long to wait first (Retry-After, full-jitter backoff)."""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import Enum

from provisioner.http.limits import RETRY_AFTER_CAP


class Mode(Enum):
    """What a request does, which decides what may be retried after it may have been sent."""

    READ = "read"  # GET: always safe to repeat
    CREATE = "create"  # POST /connections: never repeated once it may have reached the server
    WRITE = "write"  # PATCH with If-Match, DELETE: repeating is safe (412 / 404 tell the outcome)
    TOKEN = "token"  # the IMS exchange: repeating only mints another token


# Statuses worth another attempt; 429 and 503 say how long to wait in Retry-After.
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
HONOURS_RETRY_AFTER = frozenset({429, 503})


@dataclass(frozen=True)
class RetryPolicy:
    """Retries are capped in count (`max_retries` after the first attempt) and in time."""

    max_retries: int = 5
    backoff_cap: float = 20.0
    backoff_base: float = 0.5
    max_elapsed: float = 120.0

    def backoff(self, retry: int, rng: random.Random) -> float:
        """Exponential backoff with full jitter: uniform(0, min(cap, base * 2**retry))."""
        return rng.uniform(0.0, min(self.backoff_cap, self.backoff_base * (2**retry)))

    def wait_for(self, retry: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait before retry number `retry` (0-based); never more than the cap."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.backoff_cap, RETRY_AFTER_CAP)
        return self.backoff(retry, rng)


# Delta-seconds (RFC 9110 §10.2.3 says 1*DIGIT; a decimal point is tolerated).
_SECONDS = re.compile(r"[0-9]{1,15}(?:\.[0-9]{1,6})?")
_TOO_MANY_DIGITS = re.compile(r"[0-9]{16,}(?:\.[0-9]*)?")
# What an absurdly long Retry-After counts as: longer than any cap, and still a finite float.
_FOREVER = 1e15


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date (RFC 9110 §10.2.3).

    Always a finite number >= 0, or None when the header is absent or unusable (NaN, inf,
    a negative number, garbage): the caller then backs off as if nothing had been said. A
    number too large to mean anything is a very long wait (which makes the caller give up)."""
    if not value:
        return None
    value = value.strip()
    if _SECONDS.fullmatch(value):
        return float(value)
    if _TOO_MANY_DIGITS.fullmatch(value):
        return _FOREVER
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    try:
        seconds = (when - now).total_seconds()
    except OverflowError:
        return _FOREVER
    return min(max(seconds, 0.0), _FOREVER) if math.isfinite(seconds) else None
