"""StateStore: loads (replaying a crashed apply's journal), saves atomically, writes per result, locks."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from provisioner.errors import StateError
from provisioner.state import codec, journal
from provisioner.state import lock as locking
from provisioner.state.files import atomic_write, fsync_dir, sweep_temp_files
from provisioner.state.journal import StateWriter
from provisioner.state.lock import LockInfo
from provisioner.state.model import FORMAT_VERSION, State


class StateStore:
    """One state file and its companions: `<path>.backup`, `<path>.journal`, `<path>.lock`.

    The store does not take the lock itself: a command that may write holds `store.lock(...)`
    around its load, changes and save.
    """

    def __init__(self, path: str | Path) -> None:
        self.name = str(path)
        self.path = Path(path)
        self.backup_path = Path(f"{path}.backup")
        self.journal_path = Path(f"{path}.journal")
        self.lock_path = locking.lock_path(path)
        self.bytes_written = 0  # every byte this store wrote (state, backup, journal)

    def _count(self, n: int) -> None:
        self.bytes_written += n

    # -- reading ---------------------------------------------------------------------------

    def _advice(self) -> str:
        if self.backup_path.exists():
            return f"restore it from {self.backup_path} (or repair it by hand), then run again"
        return (
            "repair it by hand, or move it away and run plan, which adopts the existing "
            "connections by name"
        )

    def _read(self) -> bytes | None:
        try:
            return self.path.read_bytes()
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

    def _decode(self, raw: bytes) -> State:
        try:
            doc = codec.loads(raw.decode("utf-8-sig"))  # a BOM (an editor's) is not damage
        except UnicodeDecodeError:
            raise StateError(
                f"the state file {self.name} is not UTF-8 text; it looks damaged: {self._advice()}"
            ) from None
        except codec.DuplicateKey as exc:
            raise StateError(
                f"the state file {self.name} fails its checks: it holds the key {exc.key!r} "
                f"twice in one object; {self._advice()}"
            ) from None
        except json.JSONDecodeError as exc:
            raise StateError(
                f"the state file {self.name} is not valid JSON ({exc.msg} at line {exc.lineno}, "
                f"column {exc.colno}); it looks truncated or damaged: {self._advice()}"
            ) from None
        try:
            return codec.decode(doc)
        except codec.TooNew as exc:
            raise StateError(
                f"the state file {self.name} was written by a newer provisioner (format "
                f"version {exc.version}; this one reads version {FORMAT_VERSION}); upgrade "
                "provisioner to use it"
            ) from None
        except codec.Invalid as exc:
            more = len(exc.problems) - 1
            also = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
            raise StateError(
                f"the state file {self.name} fails its checks: {exc.problems[0]}{also}; "
                f"{self._advice()}"
            ) from None

    def _journal(self) -> journal.Journal | None:
        try:
            return journal.read(self.journal_path)
        except journal.JournalDamaged as exc:
            raise StateError(
                f"the journal {self.journal_path} (results of an interrupted apply) is damaged "
                f"at line {exc.line}: {exc.reason}; move it away to go on without it (plan then "
                "adopts those connections by name)"
            ) from None
        except OSError as exc:
            raise StateError(
                f"cannot read the journal {self.journal_path} ({exc.strerror}); check its "
                "permissions"
            ) from None

    def load(self) -> State:
        """The state, with a crashed apply's journal replayed; a new empty State if none exists.

        Reading writes nothing: a replayed journal is folded into the file by the next save.
        """
        raw = self._read()
        state = None if raw is None else self._decode(raw)
        pending = self._journal()
        if pending is None:
            return state if state is not None else State.new()
        if state is None:
            if pending.serial != 0:
                raise StateError(
                    f"the state file {self.name} is missing but its journal "
                    f"{self.journal_path} continues serial {pending.serial}; restore "
                    f"{self.name} from {self.backup_path}, or move the journal away to start "
                    "over (plan then adopts the existing connections by name)"
                )
            state = State(lineage=pending.lineage, serial=0, salt=pending.salt)
        elif pending.lineage != state.lineage:
            raise StateError(
                f"the journal {self.journal_path} belongs to another state (lineage "
                f"{pending.lineage}, but {self.name} has lineage {state.lineage}); move the "
                "journal away if that state is gone, then run again"
            )
        elif pending.serial < state.serial:
            return state  # compacted already; the next save removes it
        elif pending.serial > state.serial:
            raise StateError(
                f"the journal {self.journal_path} continues serial {pending.serial} but "
                f"{self.name} is at serial {state.serial} (restored from a backup?); restore "
                "the newer state, or move the journal away (plan then adopts those connections "
                "by name)"
            )
        replayed = pending.replay(state)
        try:
            codec.check_unique_ids(replayed)
        except codec.Invalid as exc:
            raise StateError(
                f"the journal {self.journal_path} conflicts with {self.name}: "
                f"{exc.problems[0]}; move the journal away, then run again"
            ) from None
        return replayed

    # -- writing ---------------------------------------------------------------------------

    def save(self, state: State) -> State:
        """Write `state` as serial+1, atomically, keeping the previous file as the backup.

        Returns the state as saved. When the content equals the file's, nothing is written
        and `state` is returned unchanged. Refuses if the file changed since `state` was read.
        """
        current = self._read()
        saved = State(
            lineage=state.lineage, serial=state.serial + 1, salt=state.salt, entries=state.entries
        )
        data = codec.encode(saved)
        # Encoding is the costly part at thousands of entries: `state` as it would be written
        # differs from `saved` only in its top-level serial line, so encode once.
        unchanged = _with_serial(data, saved.serial, state.serial) or codec.encode(state)
        # The same content with a BOM or CRLF line ends (an editor's) is the same state.
        same = current is not None and current.removeprefix(b"\xef\xbb\xbf").replace(
            b"\r\n", b"\n"
        ) == unchanged
        if current is not None and not same:
            self._check_base(current, state)
        if same:
            self._drop_journal(state)
            return state
        try:
            if current is not None:
                atomic_write(self.backup_path, current)
                self._count(len(current))
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
        self._drop_journal(state)
        sweep_temp_files(self.path, locking.pid_alive)
        return saved

    def _check_base(self, current: bytes, state: State) -> None:
        try:
            doc = json.loads(current)
            lineage, serial = doc["lineage"], doc["serial"]
        except (ValueError, TypeError, KeyError):
            self._decode(current)  # raises the precise reason
            raise StateError(f"the state file {self.name} fails its checks") from None
        if lineage != state.lineage or serial != state.serial:
            raise StateError(
                f"the state file {self.name} changed since this run read it (now lineage "
                f"{lineage} serial {serial}, expected lineage {state.lineage} serial "
                f"{state.serial}); another run wrote it, so nothing was saved: run again"
            )

    def _drop_journal(self, state: State) -> None:
        """Remove a journal that `state` includes (it was replayed by load, or just compacted)."""
        if not self.journal_path.exists():
            return
        try:
            pending = journal.read_header(self.journal_path)  # the records do not matter here
        except (journal.JournalDamaged, OSError):
            return  # load() reports it; never delete what we cannot read
        if pending is None or (pending[0] == state.lineage and pending[1] <= state.serial):
            self.journal_path.unlink(missing_ok=True)
            fsync_dir(self.journal_path.parent)

    @contextmanager
    def _writer(self, state: State) -> Iterator[StateWriter]:
        if self.journal_path.exists():
            # A crashed apply's journal, replayed into `state` by load(): fold it into the file
            # first, or the new journal (which replaces it) would lose those results.
            state = self.save(state)
        try:
            w = StateWriter(self.journal_path, state, self._count)
        except OSError as exc:
            raise StateError(
                f"cannot write the journal {self.journal_path} ({exc.strerror}); check the "
                "permissions of its directory"
            ) from None
        try:
            yield w
        finally:
            w.close()
            w.finish(self.save(w.state))

    def writer(self, state: State) -> AbstractContextManager[StateWriter]:
        """Per-result writes: `with store.writer(state) as w: w.put(entry)` from any thread.

        Each put/remove appends one line to `<path>.journal`; when the block ends, however it
        ends, the journal is compacted into the state file with one atomic save and removed.
        After the block, `w.state` is the state as saved. Pass a state from load().
        """
        return self._writer(state)

    # -- locking ---------------------------------------------------------------------------

    def lock(
        self,
        command: str,
        timeout: float = 0.0,
        on_wait: Callable[[LockInfo], None] | None = None,
    ) -> AbstractContextManager[LockInfo]:
        """Hold `<path>.lock` for a `with` block; LockError naming the holder if it is taken.

        Waits up to `timeout` seconds (calling `on_wait(holder)` once when it starts waiting).
        """
        return locking.hold(self.name, command, timeout, on_wait)

    def lock_info(self) -> LockInfo | None:
        return locking.lock_info(self.name)


def _with_serial(data: bytes, serial: int, new: int) -> bytes | None:
    """Encoded state `data` with its top-level serial changed, or None if the line is not found.

    The encoding is deterministic (sorted keys, 2-space indent, strings escaped), so the
    top-level serial is exactly one line, followed by "version".
    """
    line = b'\n  "serial": %d,\n' % serial
    if data.count(line) != 1:
        return None
    return data.replace(line, b'\n  "serial": %d,\n' % new)
