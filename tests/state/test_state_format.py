"""The state file's content: deterministic JSON, byte stability, atomic save with backup."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from state_helpers import ORG, SENTINEL, assert_no_sentinel, make_entry, state_with

from provisioner.errors import StateError
from provisioner.secrets import Secret
from provisioner.state import State, StateEntry, StateStore, fingerprint


def test_fingerprint_is_hmac_sha256_of_the_value_keyed_by_the_salt() -> None:
    # RFC-style known vector: HMAC-SHA256(key="key", "The quick brown fox jumps over the lazy dog")
    expected = "hmac-sha256:f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
    assert fingerprint("key", "The quick brown fox jumps over the lazy dog") == expected
    assert fingerprint("key", Secret("The quick brown fox jumps over the lazy dog")) == expected
    assert fingerprint("other-salt", "x") != fingerprint("key", "x")


def test_a_missing_file_loads_as_a_new_empty_state_and_writes_nothing(tmp_path: Path) -> None:
    store = StateStore("provisioner.state.json")
    a, b = store.load(), store.load()
    assert a.serial == 0 and not a.entries
    assert a.lineage != b.lineage  # fresh each time: nothing was written
    assert len(a.salt) == 32 and int(a.salt, 16) >= 0
    assert list(tmp_path.iterdir()) == []


def test_the_file_is_sorted_indented_json_with_a_trailing_newline() -> None:
    store = StateStore("provisioner.state.json")
    state = store.load()
    entry = make_entry(1, salt=state.salt, description="Exportations du café ☕", protect=True)
    saved = store.save(state.with_entry(entry))
    text = Path("provisioner.state.json").read_text(encoding="utf-8")
    doc = json.loads(text)
    assert text == json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    assert "café ☕" in text  # not \u-escaped: diffs stay readable
    assert doc == {
        "version": 1,
        "lineage": state.lineage,
        "serial": 1,
        "salt": state.salt,
        "resources": {
            ORG: {
                "prod": {
                    "conn-1": {
                        "id": "id-prod-1",
                        "etag": '"etag-1"',
                        "name": "Connection 1",
                        "description": "Exportations du café ☕",
                        "type": "amazon-s3",
                        "connectionSpec": {
                            "id": "ecadc60c-7455-4d87-84dc-2a0e293d997b",
                            "version": "1.0",
                        },
                        "auth": {
                            "specName": "Access Key",
                            "params": {"bucketName": "acme", "s3AccessKey": "AKIA1"},
                            "secretFingerprints": {
                                "s3SecretKey": fingerprint(state.salt, SENTINEL)
                            },
                        },
                        "protect": True,
                    }
                }
            }
        },
    }
    assert saved.serial == 1
    assert store.load() == saved


def test_the_same_content_gives_the_same_bytes_whatever_the_insertion_order() -> None:
    base = State(lineage="6f1c2f43-59a4-4c55-9d2c-3e2f1f9f7b10", serial=0, salt="ab" * 16)
    entries = [
        make_entry(i, salt=base.salt, sandbox=sb) for i in range(5) for sb in ("dev", "prod")
    ]
    one, two = StateStore("one.json"), StateStore("two.json")
    one.save(base.with_changes(put=entries))
    two.save(base.with_changes(put=list(reversed(entries))))
    assert Path("one.json").read_bytes() == Path("two.json").read_bytes()


def test_saving_unchanged_content_writes_nothing(tmp_path: Path) -> None:
    store = StateStore("provisioner.state.json")
    first = store.save(state_with(store.load(), 3))
    second = store.save(first.with_entry(make_entry(9, salt=first.salt)))
    assert second.serial == 2
    state_file, backup = Path("provisioner.state.json"), Path("provisioner.state.json.backup")
    before = (state_file.read_bytes(), backup.read_bytes())
    stats = (os.stat(state_file), os.stat(backup))
    written = store.bytes_written

    again = store.save(store.load())
    rebuilt = store.save(
        store.load().with_changes(put=[make_entry(i, salt=first.salt) for i in (0, 1, 2, 9)])
    )

    assert again.serial == rebuilt.serial == 2
    assert (state_file.read_bytes(), backup.read_bytes()) == before
    assert (os.stat(state_file).st_ino, os.stat(backup).st_ino) == (
        stats[0].st_ino,
        stats[1].st_ino,
    )
    assert (os.stat(state_file).st_mtime_ns, os.stat(backup).st_mtime_ns) == (
        stats[0].st_mtime_ns,
        stats[1].st_mtime_ns,
    )
    assert store.bytes_written == written
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "provisioner.state.json",
        "provisioner.state.json.backup",
    ]


def test_each_write_bumps_the_serial_and_keeps_the_previous_file_as_backup() -> None:
    store = StateStore("provisioner.state.json")
    s1 = store.save(state_with(store.load(), 1))
    assert not Path("provisioner.state.json.backup").exists()  # nothing to back up yet
    v1 = Path("provisioner.state.json").read_bytes()
    s2 = store.save(s1.with_entry(make_entry(2, salt=s1.salt)))
    assert Path("provisioner.state.json.backup").read_bytes() == v1
    v2 = Path("provisioner.state.json").read_bytes()
    s3 = store.save(s2.without((ORG, "prod", "conn-0")))
    assert Path("provisioner.state.json.backup").read_bytes() == v2
    assert [s1.serial, s2.serial, s3.serial] == [1, 2, 3]
    assert {e.lineage for e in (s1, s2, s3)} == {s1.lineage}
    assert sorted(e.address for e in store.load()) == ["conn-2"]
    # No temp files are left behind by the atomic writes.
    assert sorted(p.name for p in Path().iterdir()) == [
        "provisioner.state.json",
        "provisioner.state.json.backup",
    ]


def test_saving_over_a_file_another_run_changed_is_refused() -> None:
    store = StateStore("provisioner.state.json")
    base = store.save(state_with(store.load(), 1))
    store.save(base.with_entry(make_entry(5, salt=base.salt)))  # someone else's write
    with pytest.raises(StateError) as err:
        store.save(base.with_entry(make_entry(6, salt=base.salt)))
    assert str(err.value) == (
        "the state file provisioner.state.json changed since this run read it (now lineage "
        f"{base.lineage} serial 2, expected lineage {base.lineage} serial 1); another run "
        "wrote it, so nothing was saved: run again"
    )
    assert "conn-6" not in Path("provisioner.state.json").read_text()


def test_state_helpers_scope_and_lookup() -> None:
    state = State.new().with_changes(
        put=[
            make_entry(i, sandbox=sb, org=org)
            for i in range(3)
            for sb in ("prod", "dev")
            for org in (ORG, "OTHER@AdobeOrg")
        ]
    )
    assert [e.address for e in state.in_scope(ORG, "dev")] == ["conn-0", "conn-1", "conn-2"]
    assert {e.sandbox for e in state.in_scope(ORG, "dev")} == {"dev"}
    assert state.get(ORG, "prod", "conn-1") == make_entry(1, org=ORG)
    assert state.get(ORG, "stage", "conn-1") is None
    assert state.by_id("id-dev-2") is not None
    smaller = state.without((ORG, "dev", "conn-0"))
    assert len(smaller) == len(state) - 1 and state.get(ORG, "dev", "conn-0") is not None


def test_an_entry_refuses_to_carry_a_secret() -> None:
    with pytest.raises(ValueError, match="'s3SecretKey' looks secret") as err:
        make_entry(1, params={"s3AccessKey": "AK", "s3SecretKey": SENTINEL})
    assert SENTINEL not in str(err.value)
    with pytest.raises(ValueError, match="not an hmac-sha256 fingerprint") as err:
        make_entry(1, secret_fingerprints={"s3SecretKey": SENTINEL})
    assert SENTINEL not in str(err.value)


def test_entries_are_frozen_and_compare_by_value() -> None:
    entry = make_entry(1)
    with pytest.raises(AttributeError):
        entry.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        entry.document["auth"]["params"]["bucketName"] = "other"  # type: ignore[index]
    assert entry == make_entry(1) and hash(entry) == hash(make_entry(1))
    assert entry != make_entry(1, params={"s3AccessKey": "AKIA1", "bucketName": "other"})
    assert isinstance(entry, StateEntry)


def test_no_secret_reaches_the_state_or_its_backup(tmp_path: Path) -> None:
    store = StateStore("provisioner.state.json")
    state = store.save(state_with(store.load(), 3))
    store.save(state.with_entry(make_entry(7, salt=state.salt)))
    assert_no_sentinel(tmp_path)


def test_temp_files_of_killed_writers_are_swept_on_save(spawn: Any) -> None:
    dead = spawn("pass")
    dead.wait(timeout=30)
    leftovers = [
        Path(f".provisioner.state.json.{dead.pid}.0a1b2c3d.tmp"),
        Path(f".provisioner.state.json.backup.{dead.pid}.0a1b2c3d.tmp"),
    ]
    live = Path(f".provisioner.state.json.{os.getpid()}.0a1b2c3d.tmp")
    for path in [*leftovers, live]:
        path.write_text("{")
    store = StateStore("provisioner.state.json")
    store.save(state_with(store.load(), 1))
    assert [p.exists() for p in leftovers] == [False, False]
    assert live.exists()
