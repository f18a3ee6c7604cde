"""StateStore on s3:// against SeaweedFS: conditional writes, journal objects, broken locks,
bytes per apply. In-process, through the same API the commands use."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from provisioner.errors import LockError, UsageError
from provisioner.state import StateStore
from provisioner.state.backend import StateConflict
from tests.reliability.helpers import figure
from tests.state.state_helpers import SENTINEL, make_entry


def test_every_state_write_is_conditional_on_the_etag_read(aws_env: Any, remote: Any) -> None:
    store = StateStore(remote.url)
    with store.lock("test"):
        first = store.save(store.load().with_changes(put=[make_entry(1)], remove=[]))
    stale = store.backend.read()
    assert stale is not None
    with store.lock("test"):
        store.save(first.with_changes(put=[make_entry(2)], remove=[]))
    # A writer holding the older etag can never overwrite the newer state.
    with pytest.raises(StateConflict, match="changed since this run read it"):
        store.backend.write(b"{}", stale)
    # Nor create one where one exists.
    with pytest.raises(StateConflict):
        store.backend.write(b"{}", None)
    assert len(StateStore(remote.url).load()) == 2
    assert remote.get(".backup") is not None


def test_the_lock_is_exclusive_and_names_its_holder(aws_env: Any, remote: Any) -> None:
    one, two = StateStore(remote.url), StateStore(remote.url)
    with one.lock("apply"):
        with (
            pytest.raises(LockError, match=r"is locked by 'apply' \(user .*pid \d+ on host"),
            two.lock("destroy"),
        ):
            pass
        holder = two.lock_info()
        assert holder is not None and holder.command == "apply" and holder.where
    assert remote.get(".lock") is None
    with two.lock("destroy"):  # free again
        pass


@pytest.mark.slow
def test_lock_timeout_waits_with_backoff_until_the_holder_releases(
    aws_env: Any, remote: Any
) -> None:
    one, two = StateStore(remote.url), StateStore(remote.url)
    waited: list[str] = []
    taken = threading.Event()

    def hold_briefly() -> None:
        with one.lock("apply"):
            taken.set()
            threading.Event().wait(1.5)

    holder = threading.Thread(target=hold_briefly)
    holder.start()
    taken.wait(30)
    with two.lock("plan", timeout=60, on_wait=lambda h: waited.append(h.command)):
        assert remote.get(".lock") is not None
    holder.join()
    assert waited == ["apply"]


def test_a_run_whose_lock_was_broken_keeps_its_results_for_the_next_run(
    aws_env: Any, remote: Any
) -> None:
    a = StateStore(remote.url)
    a_lock = a.lock("apply A")
    a_lock.__enter__()
    base = a.load()
    with (
        pytest.raises(StateConflict, match="was removed while this run held it"),
        a.writer(base) as wa,
    ):
        wa.put(make_entry(1, salt=base.salt))
        wa.put(make_entry(2, salt=base.salt))
        # Someone breaks A's lock; B applies meanwhile, folding what A wrote so far.
        b = StateStore(remote.url)
        assert b.remove_lock()
        with b.lock("apply B"):
            state_b = b.load()
            assert {e.address for e in state_b} == {"conn-1", "conn-2"}
            with b.writer(state_b) as wb:
                wb.put(make_entry(3, salt=base.salt))
        # A goes on: these results exist only in A's journal objects.
        wa.put(make_entry(4, salt=base.salt))
        wa.put(make_entry(5, salt=base.salt))
    a_lock.__exit__(None, None, None)
    after_b = StateStore(remote.url).load()
    assert remote.journal_keys()  # A's later results wait in S3
    assert {e.address for e in after_b} == {f"conn-{i}" for i in (1, 2, 3, 4, 5)}
    c = StateStore(remote.url)
    with c.lock("apply C"):
        state_c = c.load()
        with c.writer(state_c) as wc:
            pass
    assert {e.address for e in wc.state} == {f"conn-{i}" for i in (1, 2, 3, 4, 5)}
    assert not remote.journal_keys()  # folded, then removed
    for key in remote.objects():
        assert SENTINEL.encode() not in (remote.get(key) or b"")


@pytest.mark.slow
def test_bytes_written_per_apply_are_linear(aws_env: Any, remote: Any) -> None:
    def apply(n: int, key: str) -> tuple[int, int]:
        store = StateStore(f"s3://state/{remote.key}-{key}")
        with store.lock("apply"):
            state = store.load()
            store.bytes_written = 0
            with store.writer(state) as w:
                lanes = [
                    threading.Thread(
                        target=lambda lane=lane: [
                            w.put(make_entry(i, salt=state.salt)) for i in range(lane, n, 4)
                        ]
                    )
                    for lane in range(4)
                ]
                for t in lanes:
                    t.start()
                for t in lanes:
                    t.join()
        return store.bytes_written, store.backend.journal_objects_written  # type: ignore[attr-defined]

    small, _ = apply(100, "small")
    large, large_pieces = apply(400, "large")
    # 4x the results: about 4x the bytes (never the 16x of a full-state PUT per result).
    assert 3.0 < large / small < 5.0, (small, large)
    figure(
        "remote-state bytes per apply",
        results_100=small,
        results_400=large,
        per_result=round(large / 400),
        journal_objects_400=large_pieces,
    )


def test_a_state_url_without_a_key_is_one_sentence() -> None:
    with pytest.raises(UsageError, match="names no key"):
        StateStore("s3://bucket-only")
    with pytest.raises(UsageError, match="names a folder"):
        StateStore("s3://bucket/folder/")
