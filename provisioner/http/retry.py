"""When to try a request again, and how long to wait first (Retry-After, full-jitter backoff)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import Enum


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
        """Seconds to wait before retry number `retry` (0-based)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.backoff_cap)
        return self.backoff(retry, rng)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max((when - now).total_seconds(), 0.0)
