"""A state file that is damaged, hand-edited into nonsense or newer than us is refused, clearly."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from state_helpers import ORG, SENTINEL, make_entry, state_with

from provisioner.errors import StateError
from provisioner.state import StateStore

STATE = Path("provisioner.state.json")
BACKUP = Path("provisioner.state.json.backup")
RESTORE = "restore it from provisioner.state.json.backup (or repair it by hand), then run again"
WHERE = f"resources.{ORG}.prod"


@pytest.fixture
def saved_twice() -> bytes:
    """A valid state saved twice (so a backup exists); returns the backup's bytes."""
    store = StateStore(STATE)
    state = store.save(state_with(store.load(), 2))
    store.save(state.with_entry(make_entry(2, salt=state.salt)))
    return BACKUP.read_bytes()


def edit(change: Callable[[dict[str, Any]], None]) -> None:
    doc = json.loads(STATE.read_text())
    change(doc)
    STATE.write_text(json.dumps(doc, indent=2))


def refusal() -> str:
    with pytest.raises(StateError) as err:
        StateStore(STATE).load()
    return str(err.value)


def test_a_truncated_file_is_refused_and_the_backup_left_intact(saved_twice: bytes) -> None:
    STATE.write_bytes(STATE.read_bytes()[:120])
    assert refusal() == (
        "the state file provisioner.state.json is not valid JSON (Expecting property name "
        "enclosed in double quotes at line 5, column 7); it looks truncated or damaged: "
        f"{RESTORE}"
    )
    assert BACKUP.read_bytes() == saved_twice


def test_an_empty_file_is_refused(saved_twice: bytes) -> None:
    STATE.write_bytes(b"")
    assert refusal() == (
        "the state file provisioner.state.json is not valid JSON (Expecting value at line 1, "
        f"column 1); it looks truncated or damaged: {RESTORE}"
    )


def test_without_a_backup_the_advice_is_to_repair_or_move_it_away() -> None:
    STATE.write_text('{"version": 1,')
    assert refusal() == (
        "the state file provisioner.state.json is not valid JSON (Expecting property name "
        "enclosed in double quotes at line 1, column 15); it looks truncated or damaged: repair "
        "it by hand, or move it away and run plan, which adopts the existing connections by name"
    )


def test_a_file_that_is_not_utf8_is_refused(saved_twice: bytes) -> None:
    STATE.write_bytes(b"\xff\xfe{}")
    assert refusal() == (
        f"the state file provisioner.state.json is not UTF-8 text; it looks damaged: {RESTORE}"
    )


def test_a_newer_format_is_refused_with_upgrade_advice(saved_twice: bytes) -> None:
    edit(lambda d: d.update(version=2, resources="a shape we do not know"))
    assert refusal() == (
        "the state file provisioner.state.json was written by a newer provisioner (format "
        "version 2; this one reads version 1); upgrade provisioner to use it"
    )
    assert BACKUP.read_bytes() == saved_twice


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d.update(serial="3"), "serial must be a whole number, 0 or more"),
        (lambda d: d.update(serial=True), "serial must be a whole number, 0 or more"),
        (lambda d: d.pop("lineage"), "lineage is missing"),
        (lambda d: d.update(lineage="not-a-uuid"), "lineage must be a UUID"),
        (lambda d: d.update(version=0), "version must be a whole number from 1 to 1"),
        (lambda d: d.update(salt="xyz"), "salt must be 16 to 128 lower-case hex digits"),
        (lambda d: d.update(resources=[]), "resources must be an object"),
        (lambda d: d.update(extra=1), "the top level has an unknown key 'extra'"),
        (
            lambda d: d["resources"][ORG]["prod"]["conn-0"].update(protect="yes"),
            f"{WHERE}.conn-0.protect must be true or false",
        ),
        (
            lambda d: d["resources"][ORG]["prod"]["conn-0"].update(id=""),
            f"{WHERE}.conn-0.id must not be empty",
        ),
        (
            lambda d: d["resources"][ORG]["prod"]["conn-0"].update(name=42),
            f"{WHERE}.conn-0.name must be a string",
        ),
        (
            lambda d: d["resources"][ORG]["prod"].update(
                {"Bad Address": d["resources"][ORG]["prod"].pop("conn-0")}
            ),
            (
                f"{WHERE}.Bad Address: 'Bad Address' is not an address (a lower-case letter, then "
                "up to 62 lower-case letters, digits, '_' or '-')"
            ),
        ),
        (
            lambda d: d["resources"][ORG]["prod"]["conn-0"]["auth"]["secretFingerprints"].update(
                s3SecretKey="plain-text"
            ),
            (
                f"{WHERE}.conn-0.auth.secretFingerprints.s3SecretKey is not a fingerprint "
                '("hmac-sha256:" and 64 hex digits)'
            ),
        ),
        (
            lambda d: d["resources"][ORG]["prod"]["conn-1"].update(id="id-prod-0"),
            f"connection id id-prod-0 is recorded twice, at {WHERE}.conn-0 and {WHERE}.conn-1",
        ),
    ],
)
def test_hand_edited_nonsense_is_refused(
    saved_twice: bytes, change: Callable[[dict[str, Any]], None], problem: str
) -> None:
    edit(change)
    assert refusal() == (
        f"the state file provisioner.state.json fails its checks: {problem}; {RESTORE}"
    )
    assert BACKUP.read_bytes() == saved_twice


def test_every_problem_is_counted(saved_twice: bytes) -> None:
    def misspell(d: dict[str, Any]) -> None:
        entry = d["resources"][ORG]["prod"]["conn-0"]
        entry["protected"] = entry.pop("protect")

    edit(misspell)
    assert refusal() == (
        "the state file provisioner.state.json fails its checks: "
        f"{WHERE}.conn-0 has an unknown key 'protected' (and 1 more problem); {RESTORE}"
    )


def test_a_secret_put_into_the_state_by_hand_is_refused_without_echoing_it(
    saved_twice: bytes,
) -> None:
    edit(
        lambda d: d["resources"][ORG]["prod"]["conn-0"]["auth"]["params"].update(
            s3SecretKey=SENTINEL
        )
    )
    message = refusal()
    assert message == (
        "the state file provisioner.state.json fails its checks: "
        f"{WHERE}.conn-0.auth.params.s3SecretKey is a secret parameter, which a state file "
        f"must never hold (only its fingerprint, under secretFingerprints); {RESTORE}"
    )
    assert SENTINEL not in message


def test_the_same_key_twice_in_an_object_is_refused(saved_twice: bytes) -> None:
    text = STATE.read_text().replace('"serial": 2,', '"serial": 2,\n  "serial": 3,')
    STATE.write_text(text)
    assert refusal() == (
        "the state file provisioner.state.json fails its checks: it holds the key 'serial' "
        f"twice in one object; {RESTORE}"
    )


def test_the_cli_refuses_with_one_sentence_and_releases_its_lock(
    saved_twice: bytes, cli: Any
) -> None:
    STATE.write_bytes(b'{"version": 1, "lin')
    for argv in (("state", "list"), ("state", "rm", "conn-0"), ("show",), ("show", "--json")):
        result = cli(*argv)
        assert result.code == 1, argv
        assert result.out == ""
        assert result.err.startswith("Error: the state file provisioner.state.json is not valid")
        assert result.err.endswith(f"{RESTORE}\n")
        assert result.err.count("\n") == 1 and "Traceback" not in result.err
    assert BACKUP.read_bytes() == saved_twice
    assert not Path("provisioner.state.json.lock").exists()
