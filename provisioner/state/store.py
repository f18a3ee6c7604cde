"""StateStore: loads (replaying a crashed apply's journal), saves atomically, writes per result, locks.

The storage itself is a backend (state.backend): a local file, or an object in S3. The store
holds everything that understands the state's content, so both behave the same.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from provisioner.errors import StateError
from provisioner.gcpause import gc_paused
from provisioner.state import codec, journal
from provisioner.state.backend import Backend, Segment, Stored, is_remote
from provisioner.state.journal import StateWriter
from provisioner.state.lock import LockInfo
from provisioner.state.model import FORMAT_VERSION, Key, State, StateEntry


class StateStore:
    """One state and its companions: `<state>.backup`, `<state>.journal`, `<state>.lock`.

    `StateStore("provisioner.state.json")` keeps them as files, `StateStore("s3://B/KEY")` as
    objects (state.s3). The store does not take the lock itself: a command that may write holds
    `store.lock(...)` around its load, changes and save.
    """

    def __init__(self, path: str | Path) -> None:
        self.name = str(path)
        self.remote = is_remote(self.name)
        self.noun = "state object" if self.remote else "state file"
        self.backend: Backend = open_backend(self.name)
        self._segments: list[Segment] = []  # the journal pieces the last load() replayed

    # Local paths, for callers and tests that look at the files themselves.
    @property
    def path(self) -> Path:
        return Path(self.name)

    @property
    def backup_path(self) -> Path:
        return Path(self.backend.backup_name)

    @property
    def journal_path(self) -> Path:
        return Path(self.backend.journal_name)

    @property
    def lock_path(self) -> Path:
        return Path(self.backend.lock_name)

    @property
    def bytes_written(self) -> int:
        """Every byte this store wrote (state, backup, journal)."""
        return self.backend.bytes_written

    @bytes_written.setter
    def bytes_written(self, value: int) -> None:
        self.backend.bytes_written = value

    def exists(self) -> bool:
        """True when a state is stored (a file, or an object)."""
        return self.backend.exists()

    def journal_pending(self) -> bool:
        """True when an interrupted apply's journal waits to be folded in."""
        return self.backend.journal_exists()

    # -- reading ---------------------------------------------------------------------------

    def _advice(self) -> str:
        if self.backend.backup_exists():
            return (
                f"restore it from {self.backend.backup_name} (or repair it by hand), then run again"
            )
        return (
            "repair it by hand, or move it away and run plan, which adopts the existing "
            "connections by name"
        )

    def _read(self) -> Stored | None:
        return self.backend.read()

    def _decode(self, raw: bytes) -> State:
        try:
            doc = codec.loads(raw.decode("utf-8-sig"))  # a BOM (an editor's) is not damage
        except UnicodeDecodeError:
            raise StateError(
                f"the {self.noun} {self.name} is not UTF-8 text; it looks damaged: {self._advice()}"
            ) from None
        except codec.DuplicateKey as exc:
            raise StateError(
                f"the {self.noun} {self.name} fails its checks: it holds the key {exc.key!r} "
                f"twice in one object; {self._advice()}"
            ) from None
        except json.JSONDecodeError as exc:
            raise StateError(
                f"the {self.noun} {self.name} is not valid JSON ({exc.msg} at line {exc.lineno}, "
                f"column {exc.colno}); it looks truncated or damaged: {self._advice()}"
            ) from None
        try:
            return codec.decode(doc)
        except codec.TooNew as exc:
            raise StateError(
                f"the {self.noun} {self.name} was written by a newer provisioner (format "
                f"version {exc.version}; this one reads version {FORMAT_VERSION}); upgrade "
                "provisioner to use it"
            ) from None
        except codec.Invalid as exc:
            more = len(exc.problems) - 1
            also = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
            raise StateError(
                f"the {self.noun} {self.name} fails its checks: {exc.problems[0]}{also}; "
                f"{self._advice()}"
            ) from None

    def _parse_segment(self, segment: Segment) -> journal.Journal | None:
        try:
            return journal.parse(segment.data)
        except journal.JournalDamaged as exc:
            raise StateError(
                f"the journal {segment.id} (results of an interrupted apply) is damaged "
                f"at line {exc.line}: {exc.reason}; move it away to go on without it (plan then "
                "adopts those connections by name)"
            ) from None

    def load(self) -> State:
        """The state, with a crashed apply's journal replayed; a new empty State if none exists.

        Reading writes nothing: a replayed journal is folded into the state by the next save.
        """
        with gc_paused():  # thousands of entries: see provisioner.gcpause
            return self._load()

    def _load(self) -> State:
        stored = self._read()
        state = None if stored is None else self._decode(stored.data)
        segments = self.backend.journal_segments()
        self._segments = segments
        pendings = [(s, p) for s in segments if (p := self._parse_segment(s)) is not None]
        if not pendings:
            return state if state is not None else State.new()
        if state is None:
            first = pendings[0][1]
            if first.serial != 0:
                raise StateError(
                    f"the {self.noun} {self.name} is missing but its journal "
                    f"{pendings[0][0].id} continues serial {first.serial}; restore "
                    f"{self.name} from {self.backend.backup_name}, or move the journal away to "
                    "start over (plan then adopts the existing connections by name)"
                )
            state = State(lineage=first.lineage, serial=0, salt=first.salt)
        for segment, pending in pendings:
            state = self._replay(state, segment, pending)
        try:
            codec.check_unique_ids(state)
        except codec.Invalid as exc:
            raise StateError(
                f"the journal {self.backend.journal_name} conflicts with {self.name}: "
                f"{exc.problems[0]}; move the journal away, then run again"
            ) from None
        return state

    def _replay(self, state: State, segment: Segment, pending: journal.Journal) -> State:
        if pending.lineage != state.lineage:
            raise StateError(
                f"the journal {segment.id} belongs to another state (lineage "
                f"{pending.lineage}, but {self.name} has lineage {state.lineage}); move the "
                "journal away if that state is gone, then run again"
            )
        if pending.serial < state.serial:
            # Compacted already (the next save removes it), or, in S3, the results of a run
            # whose lock was broken and whose state write was refused: keep what it alone knew.
            return _salvage(state, pending) if self.backend.salvage_stale_journals else state
        if pending.serial > state.serial:
            raise StateError(
                f"the journal {segment.id} continues serial {pending.serial} but "
                f"{self.name} is at serial {state.serial} (restored from a backup?); restore "
                "the newer state, or move the journal away (plan then adopts those connections "
                "by name)"
            )
        return pending.replay(state)

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
        same = current is not None and current.data.removeprefix(b"\xef\xbb\xbf").replace(
            b"\r\n", b"\n"
        ) == unchanged
        if same:
            self._drop_journal(state)
            return state
        self.backend.check_writable()
        if current is not None:
            self._check_base(current.data, state)
        self.backend.write(data, current)
        self._drop_journal(state)
        self.backend.sweep()
        return saved

    def overwrite(self, state: State, base: State) -> None:
        """Store `state` exactly as it is (its lineage and serial), replacing `base`, the state
        as load() returned it (refused if another run wrote since). For state push/pull."""
        current = self._read()
        self.backend.check_writable()
        if current is not None:
            self._check_base(current.data, base)
        self.backend.write(codec.encode(state), current)
        self._drop_journal(base)

    def _check_base(self, current: bytes, state: State) -> None:
        try:
            doc = json.loads(current)
            lineage, serial = doc["lineage"], doc["serial"]
        except (ValueError, TypeError, KeyError):
            self._decode(current)  # raises the precise reason
            raise StateError(f"the {self.noun} {self.name} fails its checks") from None
        if lineage != state.lineage or serial != state.serial:
            raise StateError(
                f"the {self.noun} {self.name} changed since this run read it (now lineage "
                f"{lineage} serial {serial}, expected lineage {state.lineage} serial "
                f"{state.serial}); another run wrote it, so nothing was saved{self._kept()}"
            )

    def _kept(self) -> str:
        if not self.remote:
            return ": run again"
        return (
            f"; this run's results are kept in the journal objects under "
            f"{self.backend.journal_name}, which the next run folds in: run again"
        )

    def _drop_journal(self, state: State) -> None:
        """Remove the journal pieces that `state` includes (replayed by load, or this run's)."""
        self.backend.journal_drop(state.lineage, state.serial, self._segments, True)
        self._segments = []

    @contextmanager
    def _writer(self, state: State) -> Iterator[StateWriter]:
        if self.backend.journal_exists():
            # A crashed apply's journal, replayed into `state` by load(): fold it into the state
            # first, or the new journal (which replaces it) would lose those results.
            state = self.save(state)
        w = StateWriter(self.backend.journal_open(journal.header_line(state)), state)
        try:
            yield w
        finally:
            w.close()
            try:
                saved = self.save(w.state)
            except StateError as exc:
                if w.failure is None:
                    raise
                raise StateError(
                    f"{w.failure}, and then {exc}; the results recorded before the journal "
                    f"failed stay in {self.backend.journal_name}, which the next run replays, "
                    "and the next plan adopts the others by name"
                ) from None
            w.finish(saved)

    def writer(self, state: State) -> AbstractContextManager[StateWriter]:
        """Per-result writes: `with store.writer(state) as w: w.put(entry)` from any thread.

        Each put/remove appends one record to the journal; when the block ends, however it
        ends, the journal is compacted into the state with one atomic save and removed.
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
        return self.backend.lock(command, timeout, on_wait)

    def lock_info(self) -> LockInfo | None:
        return self.backend.lock_info()

    def remove_lock(self, expected: LockInfo | None = None) -> bool:
        """Remove the lock; with `expected`, only if it still names that holder."""
        return self.backend.remove_lock(expected)

    def unlock_command(self) -> str:
        return self.backend.unlock_command()


def open_backend(name: str) -> Backend:
    """The backend for a --state value: s3://BUCKET/KEY, or a file path."""
    if is_remote(name):
        from provisioner.state.s3 import S3Backend

        return S3Backend(name)
    from provisioner.state.local import LocalBackend

    return LocalBackend(name)


def _salvage(state: State, pending: journal.Journal) -> State:
    """Add the entries a stale journal put that `state` knows nothing of (neither the address
    nor the id): ids created by a run whose state write was refused. Never reverts newer data."""
    puts: dict[Key, StateEntry | None] = {}
    for _op, key, entry in pending.records:
        puts[key] = entry
    ids = {e.id for e in state.entries.values()}
    new = [
        e for k, e in puts.items() if e is not None and k not in state.entries and e.id not in ids
    ]
    return state.with_changes(put=new, remove=[]) if new else state


def _with_serial(data: bytes, serial: int, new: int) -> bytes | None:
    """Encoded state `data` with its top-level serial changed, or None if the line is not found.

    The encoding is deterministic (sorted keys, 2-space indent, strings escaped), so the
    top-level serial is exactly one line, followed by "version".
    """
    line = b'\n  "serial": %d,\n' % serial
    if data.count(line) != 1:
        return None
    return data.replace(line, b'\n  "serial": %d,\n' % new)
