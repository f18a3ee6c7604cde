"""Real runs as a subprocess: plan --detailed-exitcode 0/1/2, --markdown and $GITHUB_STEP_SUMMARY."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from provisioner.render import markdown
from tests.aep import s3, write_manifest
from tests.pipeline.conftest import SECRET, subprocess_env


@pytest.mark.slow
def test_detailed_exitcode_0_1_2(env: Any, run_cli: Any, tmp_path: Path) -> None:
    write_manifest(tmp_path / "m.yaml", {"alpha": s3("Alpha")})
    r = run_cli("plan", "m.yaml", "--detailed-exitcode")
    assert r.returncode == 2, r.stderr
    assert "Plan: 1 to create" in r.stdout
    assert run_cli("plan", "m.yaml").returncode == 0  # without the flag, changes are a success
    assert run_cli("apply", "m.yaml", "--auto-approve").returncode == 0
    r = run_cli("plan", "m.yaml", "--detailed-exitcode")
    assert r.returncode == 0 and "No changes." in r.stdout
    # errors are 1, with or without the flag, and never a traceback
    (tmp_path / "bad.yaml").write_text("version: 1\nconnections: [\n")
    r = run_cli("plan", "bad.yaml", "--detailed-exitcode")
    assert r.returncode == 1 and "bad.yaml:" in r.stderr and "Traceback" not in r.stderr
    unset = {k: v for k, v in subprocess_env().items() if k != "TEST_S3_SECRET"}
    r = run_cli("plan", "m.yaml", "--detailed-exitcode", env=unset)
    assert r.returncode == 1 and "TEST_S3_SECRET" in r.stderr
    r = run_cli("plan", "m.yaml", "--detailed-exitcode", env=subprocess_env(AEP_PLATFORM_URL="http://127.0.0.1:9", AEP_IMS_URL="http://127.0.0.1:9"))
    assert r.returncode == 1 and "Traceback" not in r.stderr


def test_markdown_goes_to_stdout_and_the_step_summary(env: Any, run_cli: Any, tmp_path: Path) -> None:
    write_manifest(tmp_path / "m.yaml", {"alpha": s3("Alpha", description="first"), "beta": s3("Beta")})
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    r = run_cli("plan", "m.yaml", "--markdown", "--out", "plan.bin", "--detailed-exitcode",
                env=subprocess_env(GITHUB_STEP_SUMMARY=str(summary)))
    assert r.returncode == 2, r.stderr
    comment = r.stdout
    assert comment.startswith(markdown.MARKER + "\n### provisioner plan\n")
    assert "**Plan: 2 to create, 0 to update, 0 to delete, 0 to adopt.**" in comment
    assert comment.count("<details>") == 2
    assert "+ auth.params.s3SecretKey = (sensitive)" in comment
    assert SECRET not in comment + r.stderr
    # stdout is the comment alone; where the plan was saved goes to stderr
    assert "provisioner apply plan.bin" in r.stderr and "provisioner apply" not in comment
    # appended, not overwritten
    assert summary.read_text() == "earlier step\n" + comment.rstrip("\n") + "\n\n"
    assert (tmp_path / "plan.bin").exists()


def test_markdown_without_step_summary_writes_no_file(env: Any, run_cli: Any, tmp_path: Path) -> None:
    write_manifest(tmp_path / "m.yaml", {"alpha": s3("Alpha")})
    before = sorted(p.name for p in tmp_path.iterdir())
    r = run_cli("plan", "m.yaml", "--markdown")
    assert r.returncode == 0 and "<details>" in r.stdout
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != ".provisioner") == before


@pytest.mark.slow
def test_unwritable_step_summary_is_a_warning(env: Any, run_cli: Any, tmp_path: Path) -> None:
    write_manifest(tmp_path / "m.yaml", {"alpha": s3("Alpha")})
    r = run_cli("plan", "m.yaml", "--markdown", env=subprocess_env(GITHUB_STEP_SUMMARY=str(tmp_path / "no" / "dir")))
    assert r.returncode == 0
    assert "Warning: could not append the plan to GITHUB_STEP_SUMMARY" in r.stderr
    assert "<details>" in r.stdout
