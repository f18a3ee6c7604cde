"""Per-result writes: the journal survives SIGKILL, is replayed, compacted in one save, linear."""

from __future__ import annotations

import json
import shutil
import signal
import threading
from pathlib import Path
from typing import Any

import pytest
from state_helpers import ORG, assert_no_sentinel, make_entry, read_line, state_with

from provisioner.errors import StateError
from provisioner.state import StateStore

STATE = Path("provisioner.state.json")
JOURNAL = Path("provisioner.state.json.journal")

# A child that records results in a loop and reports each one after put()/remove() returned:
# op i is "put conn-i", and every 7th op also removes the entry put 5 ops earlier.
WRITER_CHILD = """
import sys
from state_helpers import make_entry
from provisioner.state import StateStore

store = StateStore(sys.argv[1])
state = store.load()
limit = int(sys.argv[2])
with store.writer(state) as w:
    for i in range(limit):
        w.put(make_entry(i, salt=state.salt))
        if i % 7 == 6:
            w.remove(make_entry(i - 5).org, "prod", f"conn-{i - 5}")
        print(i, flush=True)
    print("closing", flush=True)
print("closed", flush=True)
"""


def expected_after(ops: int) -> set[str]:
    """The addresses present after the child's first `ops` ops completed."""
    present: set[str] = set()
    for i in range(ops):
        present.add(f"conn-{i}")
        if i % 7 == 6:
            present.discard(f"conn-{i - 5}")
    return present


def possible_after(reported: int) -> list[set[str]]:
    """What a reload may hold: every reported op, plus maybe all or part of the op in flight."""
    in_flight = expected_after(reported) | {f"conn-{reported}"}  # its put, not yet its remove
    return [expected_after(reported), in_flight, expected_after(reported + 1)]


def run_child_and_kill(spawn: Any, after: int, limit: int = 1_000_000) -> int:
    """Start the writer child, SIGKILL it once it reported op `after`; how many ops it reported."""
    proc = spawn(WRITER_CHILD, str(STATE), str(limit))
    reported = 0
    while True:
        line = read_line(proc)
        if line == "closing":
            break
        reported = int(line) + 1
        if reported >= after:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    rest = proc.stdout.read().split()  # lines it printed before the kill landed
    reported += sum(1 for token in rest if token.isdigit())
    assert proc.returncode == -signal.SIGKILL
    return reported


@pytest.mark.slow
@pytest.mark.parametrize("existing", [False, True], ids=["first-apply", "existing-state"])
@pytest.mark.parametrize("after", [1, 40, 700])
def test_a_sigkilled_writer_loses_nothing_it_reported(
    spawn: Any, tmp_path: Path, existing: bool, after: int
) -> None:
    store = StateStore(STATE)
    if existing:
        base = store.save(state_with(store.load(), 3, sandbox="dev"))
    reported = run_child_and_kill(spawn, after)
    assert JOURNAL.exists()

    state = store.load()
    addresses = {e.address for e in state if e.sandbox == "prod"}
    # Every reported op is there; at most the one op in flight at the kill is there too.
    assert addresses in possible_after(reported)
    assert reported >= after
    if existing:
        assert state.lineage == base.lineage and state.serial == base.serial
        assert {e.address for e in state if e.sandbox == "dev"} == {"conn-0", "conn-1", "conn-2"}
    else:
        assert not STATE.exists() and state.serial == 0
    assert_no_sentinel(tmp_path)

    # The next run folds the journal in and goes on: nothing lost, nothing duplicated.
    with store.writer(state) as w:
        w.put(make_entry("next", salt=state.salt))
    final = store.load()
    assert {e.address for e in final if e.sandbox == "prod"} == addresses | {"conn-next"}
    assert final.lineage == state.lineage
    assert not JOURNAL.exists()
    assert len({e.id for e in final}) == len(final)


@pytest.mark.slow
def test_a_writer_killed_while_compacting_loses_nothing(spawn: Any) -> None:
    reported = run_child_and_kill(spawn, after=10**9, limit=3000)
    assert reported == 3000
    state = StateStore(STATE).load()
    assert {e.address for e in state} == expected_after(3000)


def test_the_writer_compacts_into_one_save_and_removes_the_journal(tmp_path: Path) -> None:
    store = StateStore(STATE)
    base = store.save(state_with(store.load(), 2))
    with store.writer(base) as w:
        assert JOURNAL.exists()
        w.put(make_entry(5, salt=base.salt))
        assert w.remove(ORG, "prod", "conn-0") is True
        assert w.remove(ORG, "prod", "no-such") is False
        assert w.get(ORG, "prod", "conn-5") == make_entry(5, salt=base.salt)
        assert {e.address for e in w.state} == {"conn-1", "conn-5"}
        assert STATE.read_bytes() == Path("provisioner.state.json").read_bytes()
        assert store.load().serial == base.serial  # not written until the block ends
    assert w.state.serial == base.serial + 1
    assert store.load() == w.state
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "provisioner.state.json",
        "provisioner.state.json.backup",
    ]
    with pytest.raises(RuntimeError):
        w.put(make_entry(6))


def test_a_writer_with_no_changes_writes_no_state() -> None:
    store = StateStore(STATE)
    base = store.save(state_with(store.load(), 2))
    before = STATE.read_bytes()
    with store.writer(base) as w:
        w.put(make_entry(1, salt=base.salt))  # the same entry again
    assert w.state.serial == base.serial
    assert STATE.read_bytes() == before
    assert not JOURNAL.exists()


def test_results_are_saved_even_when_the_block_fails() -> None:
    store = StateStore(STATE)
    state = store.load()
    with pytest.raises(KeyboardInterrupt), store.writer(state) as w:
        w.put(make_entry(1, salt=state.salt))
        raise KeyboardInterrupt
    assert [e.address for e in store.load()] == ["conn-1"]
    assert not JOURNAL.exists()


def test_threads_write_concurrently_without_losing_a_record() -> None:
    store = StateStore(STATE)
    state = store.load()

    def work(t: int, w: Any) -> None:
        for i in range(150):
            w.put(make_entry(f"{t}-{i}", salt=state.salt))

    with store.writer(state) as w:
        threads = [threading.Thread(target=work, args=(t, w)) for t in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        lines = JOURNAL.read_text().splitlines()
        assert len(lines) == 1 + 8 * 150
        assert all(json.loads(line) for line in lines)  # no interleaved half-lines
    assert len(store.load()) == 8 * 150


def test_state_writes_grow_linearly_with_the_number_of_results() -> None:
    def bytes_for(n: int, directory: str) -> tuple[int, int]:
        Path(directory).mkdir()
        store = StateStore(f"{directory}/provisioner.state.json")
        state = store.save(state_with(store.load(), 1))
        store.bytes_written = 0
        with store.writer(state) as w:
            for i in range(n):
                w.put(make_entry(i, salt=state.salt, sandbox="dev"))
        return store.bytes_written, w.state.serial - state.serial

    small, small_saves = bytes_for(200, "small")
    large, large_saves = bytes_for(2000, "large")
    assert small_saves == large_saves == 1  # one state write per apply, not one per result
    # Ten times the results: about ten times the bytes (a rewrite per result would be ~100x).
    assert 8 < large / small < 12


def test_a_torn_last_line_is_ignored(spawn: Any) -> None:
    reported = run_child_and_kill(spawn, after=20)
    with JOURNAL.open("a") as f:
        f.write('{"op":"put","org":"' + ORG + '","sandbox":"prod","address":"conn-torn","en')
    addresses = {e.address for e in StateStore(STATE).load()}
    assert "conn-torn" not in addresses
    assert addresses in possible_after(reported)


def test_a_damaged_line_inside_the_journal_is_refused(spawn: Any) -> None:
    run_child_and_kill(spawn, after=20)
    lines = JOURNAL.read_text().split("\n")
    lines[3] = lines[3][:30]
    JOURNAL.write_text("\n".join(lines))
    with pytest.raises(StateError) as err:
        StateStore(STATE).load()
    assert str(err.value).startswith(
        "the journal provisioner.state.json.journal (results of an interrupted apply) is "
        "damaged at line 4: not JSON ("
    )
    assert str(err.value).endswith(
        "; move it away to go on without it (plan then adopts those connections by name)"
    )


def test_a_journal_already_compacted_is_ignored_and_then_removed() -> None:
    store = StateStore(STATE)
    base = store.save(state_with(store.load(), 1))
    with store.writer(base) as w:
        w.put(make_entry(2, salt=base.salt))
        shutil.copy(JOURNAL, "journal.copy")
    # As if killed after the compacting save, before the journal was removed; one more record
    # in it would show up if it were wrongly replayed.
    shutil.copy("journal.copy", JOURNAL)
    with JOURNAL.open("a") as f:
        f.write(JOURNAL.read_text().splitlines()[1].replace("conn-2", "conn-9") + "\n")
    loaded = store.load()
    assert loaded == w.state and loaded.serial == base.serial + 1
    store.save(loaded.with_entry(make_entry(3, salt=base.salt)))
    assert not JOURNAL.exists()


def test_a_journal_of_another_state_is_refused(spawn: Any) -> None:
    run_child_and_kill(spawn, after=5)
    shutil.move(JOURNAL, "journal.copy")
    store = StateStore(STATE)
    other = store.save(state_with(store.load(), 1))
    shutil.move("journal.copy", JOURNAL)
    lineage = json.loads(JOURNAL.read_text().splitlines()[0])["lineage"]
    with pytest.raises(StateError) as err:
        store.load()
    assert str(err.value) == (
        f"the journal provisioner.state.json.journal belongs to another state (lineage "
        f"{lineage}, but provisioner.state.json has lineage {other.lineage}); move the journal "
        "away if that state is gone, then run again"
    )


def test_a_journal_without_its_state_file_is_refused(spawn: Any) -> None:
    store = StateStore(STATE)
    store.save(state_with(store.load(), 1))
    run_child_and_kill(spawn, after=5)
    STATE.unlink()
    with pytest.raises(StateError) as err:
        store.load()
    assert str(err.value) == (
        "the state file provisioner.state.json is missing but its journal "
        "provisioner.state.json.journal continues serial 1; restore provisioner.state.json from "
        "provisioner.state.json.backup, or move the journal away to start over (plan then "
        "adopts the existing connections by name)"
    )


def test_a_journal_ahead_of_a_restored_backup_is_refused(spawn: Any) -> None:
    store = StateStore(STATE)
    first = store.save(state_with(store.load(), 1))
    store.save(first.with_entry(make_entry(1, salt=first.salt)))
    run_child_and_kill(spawn, after=5)
    shutil.copy("provisioner.state.json.backup", STATE)
    with pytest.raises(StateError) as err:
        store.load()
    assert str(err.value) == (
        "the journal provisioner.state.json.journal continues serial 2 but "
        "provisioner.state.json is at serial 1 (restored from a backup?); restore the newer "
        "state, or move the journal away (plan then adopts those connections by name)"
    )


def test_reading_commands_see_a_crashed_apply_without_writing(spawn: Any, cli: Any) -> None:
    reported = run_child_and_kill(spawn, after=30)
    journal_before = JOURNAL.read_bytes()
    listed = cli("state", "list")
    assert listed.code == 0
    assert {line.split()[0] for line in listed.out.splitlines()} in [
        {f"prod/{a}" for a in addresses} for addresses in possible_after(reported)
    ]
    shown = cli("show")
    assert shown.out.splitlines()[0].endswith(
        "resources (includes an interrupted apply's journal, saved by the next run)"
    )
    assert JOURNAL.read_bytes() == journal_before and not STATE.exists()
