"""Ctrl-C and SIGTERM as KeyboardInterrupt, held back where the main thread must not be cut off.

A KeyboardInterrupt raised by a signal lands between any two bytecodes of the main thread.
Inside `ThreadPoolExecutor.submit` that can be after a worker thread has started and before
the pool has recorded it: `shutdown(wait=True)` then does not wait for it, and a create it
makes after the state was saved is on the service but not in the state. Code that must not be
cut off runs under `deferred()`: a signal that arrives there is raised as it ends.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

_depth = 0  # deferred() regions the main thread is in (only the main thread runs handlers)
_pending = False  # a signal came while in one


def handler(signum: int, frame: FrameType | None) -> None:
    """The handler for SIGINT and SIGTERM: KeyboardInterrupt now, or when deferred() ends."""
    global _pending
    if _depth:
        _pending = True
        return
    raise KeyboardInterrupt


def install() -> None:
    """Make SIGINT and SIGTERM raise KeyboardInterrupt (in the main thread only: elsewhere
    Python cannot set handlers)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)


@contextmanager
def deferred() -> Iterator[None]:
    """Hold a signal's KeyboardInterrupt back until the block ends (then raise it)."""
    global _depth, _pending
    if threading.current_thread() is not threading.main_thread():
        yield  # signals interrupt only the main thread
        return
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if not _depth and _pending:
            _pending = False
            raise KeyboardInterrupt
