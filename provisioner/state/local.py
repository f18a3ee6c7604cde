"""The local state: a file and its companions `<path>.backup`, `<path>.journal`, `<path>.lock`.

Writes are atomic (temp file, fsync, rename); the state file itself may be a symlink (a state
kept on a shared volume: written where it points), its companions are never written through one.
"""

from __future__ import annotations

import errno
import hashlib
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path

from provisioner.errors import StateError
from provisioner.state import journal
from provisioner.state import lock as locking
from provisioner.state.backend import Segment, Stored
from provisioner.state.files import atomic_write, fsync_dir, sweep_temp_files
from provisioner.state.lock import LockInfo


class LocalBackend:
    salvage_stale_journals = False  # one journal file, truncated by each writer

    def __init__(self, path: str | Path) -> None:
        self.name = str(path)
        self.path = Path(path)
        self.backup_path = Path(f"{path}.backup")
        self.journal_path = Path(f"{path}.journal")
        self.lock_path = locking.lock_path(path)
        self.backup_name = str(self.backup_path)
        self.journal_name = str(self.journal_path)
        self.lock_name = str(self.lock_path)
        self.bytes_written = 0

    def _count(self, n: int) -> None:
        self.bytes_written += n

    # -- the state -------------------------------------------------------------------------

    def read(self) -> Stored | None:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except IsADirectoryError:
            raise StateError(
                f"the state file {self.name} is a directory; choose a file with --state"
            ) from None
        except OSError as exc:
            raise StateError(
                f"cannot read the state file {self.name} ({exc.strerror}); check its permissions"
            ) from None
        return Stored(data, hashlib.sha256(data).hexdigest())

    def exists(self) -> bool:
        return self.path.exists()

    def backup_exists(self) -> bool:
        return self.backup_path.exists()

    def check_writable(self) -> None:
        return None  # the lock file is ours until we remove it

    def write(self, data: bytes, replaces: Stored | None) -> None:
        try:
            if replaces is not None:
                atomic_write(self.backup_path, replaces.data, follow_symlink=False)
                self._count(len(replaces.data))
            atomic_write(self.path, data)
            self._count(len(data))
        except FileNotFoundError:
            raise StateError(
                f"cannot write the state file {self.name}: its directory does not exist; "
                "create it or choose another --state"
            ) from None
        except OSError as exc:
            raise StateError(
                f"cannot write the state file {self.name} ({exc.strerror}); the previous "
                "version is unchanged"
            ) from None

    def sweep(self) -> None:
        sweep_temp_files(self.path, locking.pid_alive)

    # -- the journal -----------------------------------------------------------------------

    def journal_exists(self) -> bool:
        return self.journal_path.exists() or self.journal_path.is_symlink()

    def _refuse_link(self) -> None:
        if self.journal_path.is_symlink():
            raise StateError(
                f"the journal {self.journal_path} is a symbolic link; provisioner never reads "
                "or writes a companion file through a link: remove it, then run again"
            )

    def journal_segments(self) -> list[Segment]:
        self._refuse_link()
        try:
            data = self.journal_path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise StateError(
                f"cannot read the journal {self.journal_path} ({exc.strerror}); check its "
                "permissions"
            ) from None
        return [Segment(str(self.journal_path), data)]

    def journal_open(self, header: bytes) -> journal.Sink:
        self._refuse_link()
        try:
            return journal.FileSink(self.journal_path, header, self._count)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                self._refuse_link()
            if exc.errno == errno.EISDIR:
                raise StateError(
                    f"cannot write the journal {self.journal_path}: it is a directory; move "
                    "it away, then run again"
                ) from None
            raise StateError(
                f"cannot write the journal {self.journal_path} ({exc.strerror}); check the "
                "permissions of its directory"
            ) from None

    def journal_drop(
        self, lineage: str, serial: int, segments: Sequence[Segment], own: bool
    ) -> None:
        """Remove the journal if the state (lineage, serial) includes it."""
        if self.journal_path.is_symlink() or not self.journal_path.is_file():
            return  # never ours: load() or the writer reports it
        try:
            pending = journal.read_header(self.journal_path)  # the records do not matter here
        except (journal.JournalDamaged, OSError):
            return  # load() reports it; never delete what we cannot read
        if pending is None or (pending[0] == lineage and pending[1] <= serial):
            self.journal_path.unlink(missing_ok=True)
            fsync_dir(self.journal_path.parent)

    # -- the lock --------------------------------------------------------------------------

    def lock(
        self, command: str, timeout: float, on_wait: Callable[[LockInfo], None] | None
    ) -> AbstractContextManager[LockInfo]:
        return locking.hold(self.name, command, timeout, on_wait)

    def lock_info(self) -> LockInfo | None:
        return locking.lock_info(self.name)

    def remove_lock(self, expected: LockInfo | None) -> bool:
        return locking.remove_lock(self.name, expected)

    def unlock_command(self) -> str:
        return locking.unlock_command(self.name)
