"""Where a state lives: the storage protocol StateStore runs on, and the choice by name.

A backend deals in bytes and versions only; it knows nothing of entries, so the records'
encoding (codec, model) can change without touching it. Two exist:

    local.LocalBackend   provisioner.state.json (+ .backup, .journal, .lock): files
    s3.S3Backend         s3://BUCKET/KEY (+ KEY.backup, KEY.journal/..., KEY.lock): objects

Every state write names the version it replaces; a backend refuses (StateConflict) when the
stored state is no longer that version, so a run can never overwrite a newer state.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from provisioner.errors import StateError
from provisioner.state.journal import Sink
from provisioner.state.lock import LockInfo

S3_SCHEME = "s3://"


class StateConflict(StateError):
    """The stored state is not the version this run read: another run wrote it."""


@dataclass(frozen=True)
class Stored:
    """A state as read: its bytes and an opaque version (a file digest, an S3 etag)."""

    data: bytes
    version: str


@dataclass(frozen=True)
class Segment:
    """One journal piece as read: a whole journal (header line, then records) and its id."""

    id: str
    data: bytes


class Backend(Protocol):
    name: str  # the state as the user named it
    backup_name: str
    journal_name: str
    lock_name: str
    salvage_stale_journals: bool  # older-serial journal pieces may hold results never folded
    bytes_written: int

    def read(self) -> Stored | None: ...

    def exists(self) -> bool: ...

    def backup_exists(self) -> bool: ...

    def write(self, data: bytes, replaces: Stored | None) -> None:
        """Store `data`, keeping `replaces` as the backup; StateConflict if it moved on."""
        ...

    def check_writable(self) -> None:
        """StateError if this run may no longer write (its lock was broken); else nothing."""
        ...

    def journal_segments(self) -> list[Segment]: ...

    def journal_exists(self) -> bool: ...

    def journal_open(self, header: bytes) -> Sink: ...

    def journal_drop(
        self, lineage: str, serial: int, segments: Sequence[Segment], own: bool
    ) -> None:
        """Remove journal pieces the state (lineage, serial) includes: `segments` (as read by
        load) and, with `own`, every piece this run's sink wrote."""
        ...

    def sweep(self) -> None:
        """Remove leftovers of writes killed half-way (temp files); may do nothing."""
        ...

    def lock(
        self, command: str, timeout: float, on_wait: Callable[[LockInfo], None] | None
    ) -> AbstractContextManager[LockInfo]: ...

    def lock_info(self) -> LockInfo | None: ...

    def remove_lock(self, expected: LockInfo | None) -> bool: ...

    def unlock_command(self) -> str: ...


def is_remote(name: str) -> bool:
    return name.startswith(S3_SCHEME)
