"""Companion files (.backup, .journal) are never written through symlinks, and a journal that
cannot be written stops new changes, names the file and the cause, and keeps every known id."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.aep import RawApi, child_env, s3, write_manifest
from tests.reliability.helpers import SECRET

STATE = "provisioner.state.json"


def cli(*argv: str, cwd: Path, preexec: Any = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "provisioner", *argv],
        cwd=cwd,
        env=child_env({**os.environ, "TEST_S3_KEY": "AKIAEXAMPLEKEY", "TEST_S3_SECRET": SECRET}),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        preexec_fn=preexec,
    )


def manifest(tmp_path: Path, n: int, prefix: str = "Companion") -> dict[str, str]:
    names = {f"c{i:02d}": f"{prefix} {i:02d}" for i in range(n)}
    write_manifest(tmp_path / "m.yaml", {a: s3(name) for a, name in names.items()})
    return names


def test_a_backup_planted_as_a_symlink_is_replaced_not_written_through(
    aep_env: Any, tmp_path: Path
) -> None:
    manifest(tmp_path, 2)
    assert cli("apply", "m.yaml", "--auto-approve", cwd=tmp_path).returncode == 0
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (tmp_path / f"{STATE}.backup").symlink_to(victim)
    manifest(tmp_path, 3)
    applied = cli("apply", "m.yaml", "--auto-approve", cwd=tmp_path)
    assert applied.returncode == 0, applied.stderr
    assert victim.read_text() == "precious\n"
    backup = tmp_path / f"{STATE}.backup"
    assert not backup.is_symlink() and backup.is_file()
    assert json.loads(backup.read_text())["lineage"]


def test_a_journal_planted_as_a_symlink_is_refused_before_any_change(
    aep_env: Any, tmp_path: Path
) -> None:
    api = RawApi(aep_env.url)
    manifest(tmp_path, 3)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (tmp_path / f"{STATE}.journal").symlink_to(victim)
    applied = cli("apply", "m.yaml", "--auto-approve", cwd=tmp_path)
    assert applied.returncode == 1
    assert victim.read_text() == "precious\n"
    assert f"the journal {STATE}.journal is a symbolic link" in applied.stderr
    assert "Traceback" not in applied.stderr and "internal error" not in applied.stderr
    assert api.list() == []  # refused before any change


def test_a_journal_that_is_a_directory_is_refused_naming_it(aep_env: Any, tmp_path: Path) -> None:
    api = RawApi(aep_env.url)
    manifest(tmp_path, 2)
    (tmp_path / f"{STATE}.journal").mkdir()
    applied = cli("apply", "m.yaml", "--auto-approve", cwd=tmp_path)
    assert applied.returncode == 1
    assert f"{STATE}.journal" in applied.stderr and "directory" in applied.stderr
    assert "Traceback" not in applied.stderr and "internal error" not in applied.stderr
    assert api.list() == []


def _file_size_limit(limit: int) -> Any:
    def apply_limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a kill
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply_limit


def test_a_journal_write_failure_stops_new_changes_names_the_cause_and_keeps_ids(
    aep_env: Any, tmp_path: Path
) -> None:
    """A real I/O error: the kernel refuses to grow any file past 4 kB (RLIMIT_FSIZE, EFBIG),
    the way a full disk refuses with ENOSPC, after a few journal records."""
    api = RawApi(aep_env.url)
    n = 30
    names = manifest(tmp_path, n)
    applied = cli(
        "apply",
        "m.yaml",
        "--auto-approve",
        "--parallelism",
        "2",
        cwd=tmp_path,
        preexec=_file_size_limit(4096),
    )
    out = applied.stdout + applied.stderr
    assert applied.returncode == 1, out
    assert "Traceback" not in out and "internal error" not in out
    assert f"cannot write the journal {STATE}.journal (File too large)" in out
    created = [c for c in api.list() if c["name"] in names.values()]
    assert 0 < len(created) < n  # it stopped starting new changes
    assert out.count("not started: cannot write the journal") == n - len(created)

    rerun = cli("apply", "m.yaml", "--auto-approve", cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    remote = [c for c in api.list() if c["name"] in names.values()]
    assert len(remote) == len({c["name"] for c in remote}) == n  # 0 duplicates
    state = json.loads((tmp_path / STATE).read_text())
    ids = {
        a: e["id"]
        for org in state["resources"].values()
        for s in org.values()
        for a, e in s.items()
    }
    by_name = {c["name"]: c["id"] for c in remote}
    assert ids == {a: by_name[name] for a, name in names.items()}  # 0 lost ids
