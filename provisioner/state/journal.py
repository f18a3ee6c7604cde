"""The write-ahead journal: one JSON line per result during apply, replayed after a crash.

Line 1 is the header naming the state it continues (lineage, serial, salt). Each later line is
`{"op": "put", "org", "sandbox", "address", "entry": {...}}` or `{"op": "rm", "org", "sandbox",
"address"}`. Every record is written with a single write() and no user-space buffering, so a
process killed (even by SIGKILL) after put() returned has lost nothing; a record cut short by a
kill mid-write is the unterminated last line, which readers ignore. Like the state, the journal
holds no secret.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from provisioner.errors import StateError
from provisioner.state import codec
from provisioner.state.files import fsync_dir, write_all
from provisioner.state.model import Key, State, StateEntry

JOURNAL_FORMAT = "provisioner-state-journal"
JOURNAL_VERSION = 1
# fsync at most this often while writing; always at close. A SIGKILL loses nothing anyway
# (the kernel has every write); this only bounds what a power cut could take.
FSYNC_INTERVAL = 0.2


class JournalDamaged(Exception):
    """A complete line of the journal is not a valid record."""

    def __init__(self, line: int, reason: str) -> None:
        self.line = line
        self.reason = reason
        super().__init__(f"line {line}: {reason}")


@dataclass(frozen=True)
class Journal:
    """A journal read back: the state it continues and its complete records, in order."""

    lineage: str
    serial: int
    salt: str
    records: tuple[tuple[str, Key, StateEntry | None], ...]

    def replay(self, state: State) -> State:
        puts: dict[Key, StateEntry | None] = {}
        for _op, key, entry in self.records:
            puts[key] = entry  # the last record for a key wins
        return state.with_changes(
            put=[e for e in puts.values() if e is not None],
            remove=[k for k, e in puts.items() if e is None],
        )


def _header(state: State) -> dict[str, Any]:
    return {
        "format": JOURNAL_FORMAT,
        "version": JOURNAL_VERSION,
        "lineage": state.lineage,
        "serial": state.serial,
        "salt": state.salt,
    }


def _parse_header(line: str) -> tuple[str, int, str]:
    try:
        doc = json.loads(line)
    except ValueError as exc:
        raise JournalDamaged(1, f"the header is not JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != JOURNAL_FORMAT:
        raise JournalDamaged(1, "the header is not a provisioner journal header")
    if doc.get("version") != JOURNAL_VERSION:
        raise JournalDamaged(1, f"journal format version {doc.get('version')!r} is not supported")
    lineage, serial, salt = doc.get("lineage"), doc.get("serial"), doc.get("salt")
    if not (isinstance(lineage, str) and isinstance(salt, str) and type(serial) is int):
        raise JournalDamaged(1, "the header lacks lineage, serial or salt")
    return lineage, serial, salt


def _parse_record(number: int, line: str) -> tuple[str, Key, StateEntry | None]:
    try:
        doc = json.loads(line)
    except ValueError as exc:
        raise JournalDamaged(number, f"not JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("op") not in ("put", "rm"):
        raise JournalDamaged(number, "not a put or rm record")
    org, sandbox, address = doc.get("org"), doc.get("sandbox"), doc.get("address")
    if not (isinstance(org, str) and isinstance(sandbox, str) and isinstance(address, str)) or not (
        org and sandbox and address
    ):
        raise JournalDamaged(number, "the record lacks org, sandbox or address")
    if doc["op"] == "rm":
        return "rm", (org, sandbox, address), None
    try:
        entry = codec.decode_entry(doc.get("entry"), org, sandbox, address)
    except codec.Invalid as exc:
        raise JournalDamaged(number, exc.problems[0]) from None
    return "put", (org, sandbox, address), entry


def parse(data: bytes) -> Journal | None:
    """A journal's bytes read back, or None if not even its header was written whole."""
    text = data.decode("utf-8", errors="replace")
    lines = text.split("\n")
    # The part after the last newline is a record cut short by a kill mid-write: ignored.
    complete = lines[:-1]
    if not complete:
        return None
    lineage, serial, salt = _parse_header(complete[0])
    records = tuple(
        _parse_record(number, line)
        for number, line in enumerate(complete[1:], start=2)
        if line.strip()
    )
    return Journal(lineage=lineage, serial=serial, salt=salt, records=records)


def read(path: Path) -> Journal | None:
    """The journal at `path`, or None if there is none (or not even its header was written)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    return parse(data)


def parse_header(first: bytes) -> tuple[str, int] | None:
    """(lineage, serial) from a journal's first line; None if it was not written whole."""
    if not first.endswith(b"\n"):
        return None
    lineage, serial, _salt = _parse_header(first.decode("utf-8", errors="replace"))
    return lineage, serial


def read_header(path: Path) -> tuple[str, int] | None:
    """(lineage, serial) of the journal at `path`, reading only its first line; None if the
    header was not even written whole."""
    try:
        with path.open("rb") as fh:
            first = fh.readline()
    except FileNotFoundError:
        return None
    return parse_header(first)


def header_line(state: State) -> bytes:
    """The journal's first line for a writer continuing `state`."""
    return codec.dumps_line(_header(state)).encode("utf-8")


class Sink(Protocol):
    """Where a StateWriter's records go: a local file, or journal objects in S3."""

    name: str  # for messages: the file or the object prefix

    def append(self, data: bytes) -> None:
        """Make `data` (whole lines) durable; thread-safe. OSError/StateError if it cannot."""
        ...

    def close(self) -> None: ...


class FileSink:
    """`<state>.journal`: opened without following a symlink, one write() per record."""

    def __init__(self, path: Path, header: bytes, count: Callable[[int], None]) -> None:
        self.name = str(path)
        self._path = path
        self._count = count
        self._lock = threading.Lock()
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0)
        self._fd = os.open(path, flags, 0o666)
        try:
            self._write(header)
            os.fsync(self._fd)
        except BaseException:
            os.close(self._fd)
            raise
        fsync_dir(path.parent)
        self._synced = time.monotonic()

    def _write(self, data: bytes) -> None:
        write_all(self._fd, data)
        self._count(len(data))

    def append(self, data: bytes) -> None:
        with self._lock:
            self._write(data)
            now = time.monotonic()
            if now - self._synced >= FSYNC_INTERVAL:
                os.fsync(self._fd)
                self._synced = now

    def close(self) -> None:
        with self._lock:
            try:
                os.fsync(self._fd)
            finally:
                os.close(self._fd)


class StateWriter:
    """Records results as they arrive: put/remove append one journal record each (thread-safe).

    Made by StateStore.writer(); the store folds the journal into the state when the `with`
    block ends, however it ends. `state` is a snapshot of the state so far (an O(n) copy).

    When the journal cannot be written (a full disk, a read-only file, a lost S3 permission),
    the result is still kept in memory, so the state saved at the end holds every id known;
    `failure` then names the journal and the cause, and the caller must start no new change.
    """

    def __init__(self, sink: Sink, base: State) -> None:
        self._sink = sink
        self._base = base
        self._entries: dict[Key, StateEntry] = dict(base.entries)
        self._lock = threading.Lock()
        self._closed = False
        self.failure: str | None = None

    def _append(self, record: dict[str, Any]) -> None:
        self._write(codec.dumps_line(record).encode("utf-8"))

    def _write(self, data: bytes) -> None:
        if self._closed:
            raise RuntimeError("this state writer is closed")
        if self.failure is not None:
            return  # the journal is broken: the result lives in memory until the final save
        try:
            self._sink.append(data)
        except OSError as exc:
            self._fail(f"cannot write the journal {self._sink.name} ({exc.strerror or exc})")
        except StateError as exc:
            self._fail(str(exc))

    def _fail(self, why: str) -> None:
        with self._lock:
            if self.failure is None:
                self.failure = why

    def put(self, entry: StateEntry) -> None:
        """Record `entry` (added or replaced). Once this returns, a crash cannot lose it,
        unless `failure` is set: then it is kept in memory for the final save."""
        if not isinstance(entry, StateEntry):
            raise TypeError("put() takes a StateEntry")
        self._write(codec.put_line(entry).encode("utf-8"))
        with self._lock:
            self._entries[entry.key] = entry

    def remove(self, org: str, sandbox: str, address: str) -> bool:
        """Forget an entry; False (and nothing written) if the state did not hold it."""
        key = (org, sandbox, address)
        with self._lock:
            if key not in self._entries:
                return False
        self._append({"op": "rm", "org": org, "sandbox": sandbox, "address": address})
        with self._lock:
            self._entries.pop(key, None)
        return True

    def get(self, org: str, sandbox: str, address: str) -> StateEntry | None:
        with self._lock:
            return self._entries.get((org, sandbox, address))

    def finish(self, saved: State) -> None:
        """Called by the store after compaction: from now on `state` is the state as saved."""
        with self._lock:
            self._base = saved
            self._entries = dict(saved.entries)

    @property
    def state(self) -> State:
        with self._lock:
            return State(
                lineage=self._base.lineage,
                serial=self._base.serial,
                salt=self._base.salt,
                entries=self._entries,
            )

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        try:
            self._sink.close()
        except OSError:
            pass  # every record was written with its own write(); only the last fsync failed
