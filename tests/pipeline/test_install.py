"""`pip install .` (not editable) into a fresh virtual environment gives a working provisioner."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.install


def clean_env(**extra: str) -> dict[str, str]:
    # Nothing may lead the installed tool back to the checkout.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the project installed from a wheel built out of this checkout.

    A plain install with its dependencies: that is what proves pyproject declares them all and
    ships the schemas (a few seconds with a warm pip cache).
    """
    root = tmp_path_factory.mktemp("install")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    r = subprocess.run(
        [str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(REPO)],
        capture_output=True, text=True, timeout=600, env=clean_env(), cwd=root,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    return venv


def test_installed_package_is_not_the_checkout(venv: Path, tmp_path: Path) -> None:
    code = (
        "import provisioner, provisioner.schemas_loader as s;"
        "print(provisioner.__file__); print(s.path('manifest.schema.json')); print(s.path('plan.schema.json'))"
    )
    r = subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True,
                       env=clean_env(), cwd=tmp_path, timeout=60)
    assert r.returncode == 0, r.stderr
    package, manifest_schema, plan_schema = r.stdout.split()
    for path in (package, manifest_schema, plan_schema):
        assert Path(path).is_relative_to(venv), path
        assert Path(path).exists()
    assert Path(manifest_schema).read_bytes() == (REPO / "schemas" / "manifest.schema.json").read_bytes()


def test_console_script_version_and_help(venv: Path, tmp_path: Path) -> None:
    exe = str(venv / "bin" / "provisioner")
    r = subprocess.run([exe, "--version"], capture_output=True, text=True, env=clean_env(), cwd=tmp_path, timeout=60)
    assert r.returncode == 0 and r.stdout.startswith("provisioner ")
    r = subprocess.run([exe, "plan", "--help"], capture_output=True, text=True, env=clean_env(), cwd=tmp_path, timeout=60)
    assert r.returncode == 0 and "--markdown" in r.stdout


def test_validate_examples_outside_the_repository(venv: Path, tmp_path: Path) -> None:
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    exe = str(venv / "bin" / "provisioner")
    r = subprocess.run([exe, "validate", "examples/"], capture_output=True, text=True,
                       env=clean_env(), cwd=tmp_path, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    # and a broken manifest is refused by the packaged schema, with its location
    (tmp_path / "bad.yaml").write_text("version: 1\nconnections:\n  ok:\n    type: amazon-s3\n    nmae: typo\n")
    r = subprocess.run([exe, "validate", "bad.yaml"], capture_output=True, text=True,
                       env=clean_env(), cwd=tmp_path, timeout=60)
    assert r.returncode == 1
    assert "bad.yaml:" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.skipif(shutil.which("pipx") is None, reason="pipx is not installed on this machine")
def test_pipx_install(tmp_path: Path) -> None:
    env = clean_env(PIPX_HOME=str(tmp_path / "pipx"), PIPX_BIN_DIR=str(tmp_path / "bin"))
    r = subprocess.run(["pipx", "install", str(REPO)], capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run([str(tmp_path / "bin" / "provisioner"), "--version"], capture_output=True,
                       text=True, env=env, cwd=tmp_path, timeout=60)
    assert r.returncode == 0 and r.stdout.startswith("provisioner ")
