"""An overall deadline per attempt: connect, headers and the whole body, not only each read.

A socket timeout bounds each read, so a server that sends one byte every few seconds never
trips it. Here one daemon thread (the watchdog) keeps the deadline of every attempt under way
and, when one passes, shuts down the socket the attempt is reading from: the blocked read
returns at once, and the sender reports `DeadlineExceeded` instead of whatever the broken read
raised. The socket is found through the connection classes mounted by `WatchedAdapter`, which
bind the connection (and its raw socket while it connects) to the attempt of their thread.
"""

from __future__ import annotations

import heapq
import itertools
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.poolmanager import PoolManager

# How often the watchdog looks again at an expired attempt it could not interrupt yet
# (its socket not made yet): the attempt ends as soon as there is one to shut down.
_RECHECK = 0.05


class DeadlineExceeded(requests.exceptions.ReadTimeout):
    """The attempt did not end (answer and body read) within its deadline."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the answer did not end within {seconds:g} s")
        self.seconds = seconds


@dataclass(eq=False)
class Attempt:
    """One attempt under watch: its deadline, and what to shut down when it passes."""

    deadline: float
    seconds: float
    expired: bool = False
    finished: bool = False
    connection: HTTPConnection | None = None
    raw: socket.socket | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def bind(self, connection: HTTPConnection, raw: socket.socket | None = None) -> None:
        with self._lock:
            self.connection = connection
            if raw is not None:
                self.raw = raw
            expired = self.expired
        if expired:
            _shut(raw or connection.sock)

    def expire(self) -> bool:
        """Mark the attempt expired and shut its socket; False when there was none to shut."""
        with self._lock:
            if self.finished:
                return True
            self.expired = True
            sock = self.connection.sock if self.connection is not None else None
            sock = sock or self.raw
        if sock is None:
            return False
        _shut(sock)
        return True


def _shut(sock: Any) -> None:
    if sock is None:
        return
    try:
        # The plain socket's shutdown, also for a TLS socket: the blocked reader sees EOF and
        # no TLS state is changed under its feet from this thread.
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass  # already closed or never connected


class Watchdog:
    """One thread for every attempt of the process; started on first use."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Attempt]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None
        self._local = threading.local()

    def start(self, seconds: float) -> Attempt:
        """Watch an attempt of this thread that must end within `seconds` from now."""
        attempt = Attempt(deadline=time.monotonic() + seconds, seconds=seconds)
        self._local.attempt = attempt
        self._push(attempt, attempt.deadline)
        return attempt

    def finish(self, attempt: Attempt) -> None:
        with attempt._lock:
            attempt.finished = True
            attempt.connection = None
            attempt.raw = None
        if getattr(self._local, "attempt", None) is attempt:
            self._local.attempt = None

    def current(self) -> Attempt | None:
        """The attempt under way in this thread, if any."""
        attempt: Attempt | None = getattr(self._local, "attempt", None)
        return attempt

    def _push(self, attempt: Attempt, when: float) -> None:
        with self._cond:
            earliest = self._heap[0][0] if self._heap else None
            heapq.heappush(self._heap, (when, next(self._order), attempt))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="http-deadline", daemon=True)
                self._thread.start()
            elif earliest is None or when < earliest:
                self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    now = time.monotonic()
                    while self._heap and self._heap[0][2].finished:
                        heapq.heappop(self._heap)
                    if self._heap and self._heap[0][0] <= now:
                        _, _, attempt = heapq.heappop(self._heap)
                        break
                    self._cond.wait(self._heap[0][0] - now if self._heap else None)
            if not attempt.expire():
                self._push(attempt, time.monotonic() + _RECHECK)


WATCHDOG = Watchdog()


class _Watched:
    """Binds each connection (and its socket) to the attempt running in this thread, so the
    watchdog can end an attempt that outlives its deadline."""

    def _new_conn(self) -> socket.socket:
        sock: socket.socket = super()._new_conn()  # type: ignore[misc]
        attempt = WATCHDOG.current()
        if attempt is not None:
            attempt.bind(self, sock)  # type: ignore[arg-type]
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        attempt = WATCHDOG.current()
        if attempt is not None:
            attempt.bind(self)  # type: ignore[arg-type]
        super().request(*args, **kwargs)  # type: ignore[misc]


class _WatchedHTTPConnection(_Watched, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class WatchedAdapter(HTTPAdapter):
    """An HTTPAdapter whose connections tell the watchdog which socket an attempt reads."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> PoolManager:
        manager: PoolManager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = _POOLS
        return manager
