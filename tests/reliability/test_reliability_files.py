"""Files: a state or plan reached through a symlink stays a symlink; a device or FIFO is never replaced."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tests.aep import s3, write_manifest


def test_a_symlinked_state_is_written_through_the_link(
    emulator_factory: Any, env_for: Any, cli: Any, tmp_path: Path
) -> None:
    env_for(emulator_factory())
    (tmp_path / "volume").mkdir()
    real = tmp_path / "volume" / "shared.state.json"
    link = tmp_path / "provisioner.state.json"
    write_manifest(tmp_path / "m.yaml", {"alpha": s3("Alpha")})
    assert cli("apply", "m.yaml", "--auto-approve").code == 0
    os.replace(link, real)
    link.symlink_to(real)
    write_manifest(tmp_path / "m.yaml", {"alpha": s3("Alpha"), "beta": s3("Beta")})
    assert cli("apply", "m.yaml", "--auto-approve").code == 0
    assert link.is_symlink(), "the save replaced the symlink with a copy"
    doc = json.loads(real.read_text())
    assert sum(len(a) for org in doc["resources"].values() for a in org.values()) == 2
    assert cli("plan", "m.yaml", "--detailed-exitcode").code == 0


def test_plan_out_through_a_symlink_writes_its_target(
    emulator_factory: Any, env_for: Any, cli: Any, tmp_path: Path
) -> None:
    env_for(emulator_factory())
    write_manifest(tmp_path / "m.yaml", {"alpha": s3("Alpha")})
    real = tmp_path / "plans" / "reviewed.plan"
    real.parent.mkdir()
    real.write_text("old")
    link = tmp_path / "latest.plan"
    link.symlink_to(real)
    assert cli("plan", "m.yaml", "--out", str(link)).code == 0
    assert link.is_symlink()
    assert real.read_text().startswith("{")
    assert cli("apply", str(link)).code == 0


def test_plan_out_never_replaces_a_fifo_or_a_directory(
    emulator_factory: Any, env_for: Any, cli: Any, tmp_path: Path
) -> None:
    env_for(emulator_factory())
    write_manifest(tmp_path / "m.yaml", {"alpha": s3("Alpha")})
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    (tmp_path / "dir").mkdir()
    for target in (fifo, tmp_path / "dir"):
        r = cli("plan", "m.yaml", "--out", str(target))
        assert r.code == 1, r.out + r.err
        assert f"cannot write the plan to {target}" in r.err
        assert "not a regular file" in r.err
    assert fifo.is_fifo() and (tmp_path / "dir").is_dir()
