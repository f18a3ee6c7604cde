"""`.pre-commit-hooks.yaml` as shipped: `pre-commit try-repo` installs this repository into a hook
environment and runs the validate hook on a repository holding the example manifest."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.pipeline.test_editor_schema import BAD

REPO = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed"),
]


def git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd, check=True, capture_output=True, text=True, timeout=60,
    )


def try_repo(cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(PRE_COMMIT_HOME=str(home), GIT_CONFIG_NOSYSTEM="1", HOME=str(home))
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(REPO), "provisioner-validate",
         "--all-files", "--color", "never"],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False,
    )


def test_try_repo_runs_the_validate_hook(tmp_path: Path) -> None:
    repo = tmp_path / "manifests"
    repo.mkdir()
    git(repo, "init", "--quiet")
    # The hook's default path is the repository root.
    shutil.copy(REPO / "examples" / "connections.yaml", repo / "connections.yaml")
    git(repo, "add", ".")
    git(repo, "commit", "--quiet", "-m", "manifests")
    home = tmp_path / "home"

    r = try_repo(repo, home)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "provisioner validate" in out and "Passed" in out, out

    (repo / "bad.yaml").write_text(BAD.replace("../schemas/", "schemas/"))
    git(repo, "add", ".")
    r = try_repo(repo, home)
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert "Failed" in out and "bad.yaml:" in out, out
    assert "a-literal-secret" not in out  # the literal secret is refused without being repeated
