"""examples/ci/provisioner.yml: its shape, and its plan/apply/commit steps run for real (emulator, git)."""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from provisioner.render.markdown import MARKER
from tests.aep import RawApi
from tests.pipeline.conftest import REPO

WORKFLOW = REPO / "examples" / "ci" / "provisioner.yml"


def workflow() -> dict[Any, Any]:
    doc = yaml.safe_load(WORKFLOW.read_text())
    assert isinstance(doc, dict)
    return doc


def step(job: str, name: str) -> dict[str, Any]:
    (found,) = [s for s in workflow()["jobs"][job]["steps"] if s.get("name") == name]
    return found  # type: ignore[no-any-return]


def test_triggers_and_jobs() -> None:
    doc = workflow()
    on = doc.get("on", doc.get(True))  # YAML 1.1 reads a bare `on` as true
    assert set(on) == {"pull_request", "push"}
    assert on["push"]["branches"] == ["main"]
    assert doc["jobs"]["plan"]["if"] == "github.event_name == 'pull_request'"
    assert doc["jobs"]["apply"]["if"] == "github.event_name == 'push'"
    assert doc["jobs"]["apply"]["concurrency"]["cancel-in-progress"] is False
    plan_run = step("plan", "Plan")["run"]
    assert "provisioner plan" in plan_run and "--out plan.bin" in plan_run and "--markdown" in plan_run
    assert step("plan", "Keep the reviewed plan")["with"]["path"] == "plan.bin"
    assert "plan.md" in step("plan", "Comment on the pull request")["with"]["script"]
    assert MARKER in step("plan", "Comment on the pull request")["with"]["script"]
    assert step("apply", "Apply")["run"].strip() == "provisioner apply plan.bin"
    assert step("apply", "Commit the state")["if"].startswith("always()")


def test_it_installs_aep_provisioner_from_a_git_repository_pinned_to_a_ref() -> None:
    from packaging.requirements import Requirement

    req = Requirement(workflow()["env"]["PROVISIONER"])
    assert req.name == "aep-provisioner"  # not `provisioner`: that name is someone else's
    assert req.url is not None and req.url.startswith("git+https://")
    assert "@" in req.url.removeprefix("git+https://"), "pin the install to a tag or commit"
    for job in ("plan", "apply"):
        assert step(job, "Install provisioner")["run"] == 'python -m pip install "$PROVISIONER"'


def test_every_script_is_valid_bash() -> None:
    for job in workflow()["jobs"].values():
        for s in job["steps"]:
            if "run" in s:
                r = subprocess.run(["bash", "-n"], input=s["run"], capture_output=True, text=True, check=False)
                assert r.returncode == 0, (s.get("name"), r.stderr)


def sh(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # What GitHub runs for `run:` on Linux when no shell is given.
    return subprocess.run(["bash", "-e", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_plan_apply_and_commit_steps_run(aep_env: Any, tmp_path: Path) -> None:
    # A repository like the one the workflow is meant for: connections/ and a remote to push to.
    origin = tmp_path / "origin.git"
    repo = tmp_path / "repo"
    git(tmp_path, "init", "--quiet", "--bare", "--initial-branch=main", str(origin))
    git(tmp_path, "init", "--quiet", "--initial-branch=main", str(repo))
    (repo / "connections").mkdir()
    for example in sorted((REPO / "examples").glob("*.y*ml")):
        shutil.copy(example, repo / "connections" / example.name)
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "add", ".")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "--quiet", "-m", "manifests")
    git(repo, "remote", "add", "origin", str(origin))
    git(repo, "push", "--quiet", "-u", "origin", "main")

    # The runner's Python: a fresh venv first on PATH, as actions/setup-python gives. It sees this
    # interpreter's packages (through a .pth), so installing needs no download.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    purelib = next((venv / "lib").glob("python*/site-packages"))
    (purelib / "_host_packages.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    outputs, summary = tmp_path / "github_output", tmp_path / "step_summary"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(
        PATH=f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        MANIFESTS=workflow()["env"]["MANIFESTS"],
        GITHUB_OUTPUT=str(outputs),
        GITHUB_STEP_SUMMARY=str(summary),
        GITHUB_SHA="0123abc",
        HOME=str(tmp_path),
        GIT_CONFIG_NOSYSTEM="1",
    )
    # The Install step as written, with this checkout standing in for the git URL.
    env["PROVISIONER"] = f"aep-provisioner @ {REPO.as_uri()}"
    r = sh(step("plan", "Install provisioner")["run"], repo, env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert shutil.which("provisioner", path=env["PATH"]) == str(venv / "bin" / "provisioner")

    for name in ("MARKETING", "FINANCE"):
        env[f"EXAMPLE_{name}_S3_ACCESS_KEY"] = f"AKIA{name}EXAMPLE"
        env[f"EXAMPLE_{name}_S3_SECRET_KEY"] = f"{name.lower()}-example-secret"

    r = sh(step("plan", "Plan")["run"], repo, env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert outputs.read_text() == "changes=true\n"
    comment = (repo / "plan.md").read_text()
    assert comment.startswith(MARKER) and "to create" in comment
    assert "marketing-example-secret" not in comment
    assert summary.read_text().startswith(MARKER)
    assert (repo / "plan.bin").exists()

    r = sh(step("apply", "Apply")["run"], repo, env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(RawApi(aep_env.url).list()) >= 1

    r = sh(step("apply", "Commit the state")["run"], repo, env)
    assert r.returncode == 0, r.stdout + r.stderr
    pushed = git(origin, "show", "main:provisioner.state.json")
    assert "marketing-example-secret" not in pushed
    assert "provisioner: state after applying 0123abc" in git(origin, "log", "-1", "--format=%s", "main")

    outputs.write_text("")
    r = sh(step("plan", "Plan")["run"], repo, env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert outputs.read_text() == "changes=false\n"
    # nothing to commit is not an error
    r = sh(step("apply", "Commit the state")["run"], repo, env)
    assert r.returncode == 0, r.stdout + r.stderr
