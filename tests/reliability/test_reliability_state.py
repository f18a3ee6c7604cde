"""State: a truncated, hand-edited or newer-format state file is refused in one sentence, and nothing moves."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.aep import RawApi, s3, write_manifest
from tests.reliability.helpers import figure

STATE = "provisioner.state.json"


def _truncate(raw: bytes) -> bytes:
    return raw[: len(raw) // 2]


def _edit(change: Callable[[dict[str, Any]], None]) -> Callable[[bytes], bytes]:
    def apply(raw: bytes) -> bytes:
        doc = json.loads(raw)
        change(doc)
        return json.dumps(doc, indent=2).encode()

    return apply


def _first_entry(doc: dict[str, Any]) -> dict[str, Any]:
    org = next(iter(doc["resources"].values()))
    return next(iter(org["prod"].values()))  # type: ignore[no-any-return]


CORRUPTIONS: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    "truncated": (_truncate, "is not valid JSON"),
    "id made a number": (_edit(lambda d: _first_entry(d).update(id=42)), "fails its checks"),
    "serial made text": (_edit(lambda d: d.update(serial="seven")), "fails its checks"),
    "lineage removed": (_edit(lambda d: d.pop("lineage")), "fails its checks"),
    "two entries one id": (
        _edit(
            lambda d: [
                e.update(id=_first_entry(d)["id"])
                for org in d["resources"].values()
                for e in org["prod"].values()
            ]
        ),
        "fails its checks",
    ),
    "newer format": (
        _edit(lambda d: d.update(version=d["version"] + 1)),
        "was written by a newer provisioner",
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("corruption", list(CORRUPTIONS))
def test_a_damaged_state_is_refused_by_every_writer_and_nothing_moves(
    corruption: str, emulator_factory: Any, env_for: Any, cli: Any, tmp_path: Path
) -> None:
    emu = env_for(emulator_factory())
    write_manifest(tmp_path / "m.yaml", {"alpha": s3("Alpha"), "beta": s3("Beta")})
    assert cli("apply", "m.yaml", "--auto-approve").code == 0
    # A second apply that changes something, so a backup exists, and a pending change, so
    # an apply that wrongly went ahead would be seen remotely.
    write_manifest(
        tmp_path / "m.yaml", {"alpha": s3("Alpha"), "beta": s3("Beta"), "gamma": s3("Gamma")}
    )
    assert cli("apply", "m.yaml", "--auto-approve").code == 0
    write_manifest(
        tmp_path / "m.yaml",
        {"alpha": s3("Alpha 2"), "beta": s3("Beta"), "gamma": s3("Gamma"), "delta": s3("Delta")},
    )
    api = RawApi(emu.url)
    remote_before = sorted((c["id"], c["etag"], c["name"]) for c in api.list())
    backup = (tmp_path / f"{STATE}.backup").read_bytes()
    damage, says = CORRUPTIONS[corruption]
    bad = damage((tmp_path / STATE).read_bytes())
    (tmp_path / STATE).write_bytes(bad)

    for argv in (
        ("plan", "m.yaml"),
        ("plan", "m.yaml", "--json"),
        ("apply", "m.yaml", "--auto-approve"),
        ("refresh", "m.yaml"),
        ("destroy", "m.yaml", "--auto-approve"),
    ):
        r = cli(*argv)
        assert r.code == 1, (argv, r.out, r.err)
        lines = r.err.strip().splitlines()
        assert len(lines) == 1, (argv, r.err)  # one sentence, no traceback
        assert lines[0].startswith(f"Error: the state file {STATE} "), (argv, r.err)
        assert says in lines[0], (argv, r.err)
        assert "Traceback" not in r.out + r.err
        assert (tmp_path / STATE).read_bytes() == bad, f"{argv[0]} rewrote the damaged state"
        assert (tmp_path / f"{STATE}.backup").read_bytes() == backup, (
            f"{argv[0]} touched the backup"
        )
        assert not (tmp_path / f"{STATE}.journal").exists()
        assert not (tmp_path / f"{STATE}.lock").exists()
    assert sorted((c["id"], c["etag"], c["name"]) for c in api.list()) == remote_before
    figure("state", corruption=corruption.replace(" ", "-"), commands_refused=5, remote_changes=0)
