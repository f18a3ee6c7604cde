"""Every bound on waiting and reading, in one place (docs/network.md lists them with their effect).

A number that comes from the network (Retry-After, expires_in) or the environment
(AEP_HTTP_TIMEOUT) is checked with `finite_seconds` first: NaN, infinities, negative values and
text are never used as a wait.
"""

from __future__ import annotations

import math

# -- time ---------------------------------------------------------------------------------------

DEFAULT_TIMEOUT = 30.0  # AEP_HTTP_TIMEOUT: seconds for an answer to start (per socket read)
MIN_TIMEOUT = 0.1
MAX_TIMEOUT = 300.0
CONNECT_TIMEOUT_CAP = 10.0  # a dead host fails fast, whatever the read timeout
# An attempt (connect, headers and the whole body) must end within this multiple of the
# timeout: a body that trickles a byte every few seconds cannot hold a run.
DEADLINE_FACTOR = 2.0
# Retries of one request stop this multiple of the timeout after its first attempt (2 min).
RETRY_WINDOW_FACTOR = 4.0

RETRY_AFTER_CAP = 20.0  # the longest single wait a Retry-After can cause
# A Retry-After beyond this is not waited out at all: the command gives up with a sentence.
# (The retry window of the request, when it is shorter, gives up earlier.)
RETRY_AFTER_GIVE_UP = 120.0

# -- tokens -------------------------------------------------------------------------------------

MIN_TOKEN_LIFETIME = 2.0  # expires_in below this is an error, not one exchange per request
MAX_TOKEN_LIFETIME = 86400.0  # longer lifetimes are treated as a day (IMS documents 24 h)
MIN_TOKEN_USE = 1.0  # a token is used at least this long: at most one exchange per second

# -- sizes --------------------------------------------------------------------------------------

MIB = 1024 * 1024
MAX_BODY_BYTES = 64 * MIB  # any Flow Service answer (a listing page is the largest)
MAX_TOKEN_BODY_BYTES = 1 * MIB  # an IMS token answer
READ_CHUNK = 64 * 1024

# -- paging -------------------------------------------------------------------------------------

MAX_PAGES = 10_000  # 1 000 000 connections at 100 per page
MAX_STALLED_PAGES = 5  # pages in a row that bring no connection not seen before


def finite_seconds(value: object) -> float | None:
    """`value` as a finite, non-negative number of seconds; None for anything else (NaN, inf,
    negative, booleans, text that is not a number, numbers too large for a float)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        seconds = float(value)
    except (ValueError, OverflowError):
        return None
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return seconds


def megabytes(size: int) -> str:
    return f"{size / MIB:g} MiB"
