"""`pip install .` and `pipx install .` from a clone give a working `provisioner` command.

The distribution is called aep-provisioner (the name `provisioner` on the package index belongs
to an unrelated project); the command and the import package are `provisioner`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.install, pytest.mark.slow]

DISTRIBUTION = "aep-provisioner"


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
        capture_output=True, text=True, timeout=600, env=clean_env(), cwd=root, check=False,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    return venv


def test_installed_package_is_not_the_checkout(venv: Path, tmp_path: Path) -> None:
    code = (
        "import provisioner, provisioner.schemas_loader as s;"
        "print(provisioner.__file__); print(s.path('manifest.schema.json')); print(s.path('plan.schema.json'))"
    )
    r = subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True,
                       env=clean_env(), cwd=tmp_path, timeout=60, check=False)
    assert r.returncode == 0, r.stderr
    package, manifest_schema, plan_schema = r.stdout.split()
    for path in (package, manifest_schema, plan_schema):
        assert Path(path).is_relative_to(venv), path
        assert Path(path).exists()
    assert Path(manifest_schema).read_bytes() == (REPO / "schemas" / "manifest.schema.json").read_bytes()


def test_console_script_version_and_help(venv: Path, tmp_path: Path) -> None:
    exe = str(venv / "bin" / "provisioner")
    r = subprocess.run([exe, "--version"], capture_output=True, text=True, env=clean_env(), cwd=tmp_path, timeout=60, check=False)
    assert r.returncode == 0 and r.stdout.startswith("provisioner ")
    r = subprocess.run([exe, "plan", "--help"], capture_output=True, text=True, env=clean_env(), cwd=tmp_path, timeout=60, check=False)
    assert r.returncode == 0 and "--markdown" in r.stdout


def test_validate_examples_outside_the_repository(venv: Path, tmp_path: Path) -> None:
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    exe = str(venv / "bin" / "provisioner")
    r = subprocess.run([exe, "validate", "examples/"], capture_output=True, text=True,
                       env=clean_env(), cwd=tmp_path, timeout=60, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    # and a broken manifest is refused by the packaged schema, with its location
    (tmp_path / "bad.yaml").write_text("version: 1\nconnections:\n  ok:\n    type: amazon-s3\n    nmae: typo\n")
    r = subprocess.run([exe, "validate", "bad.yaml"], capture_output=True, text=True,
                       env=clean_env(), cwd=tmp_path, timeout=60, check=False)
    assert r.returncode == 1
    assert "bad.yaml:" in r.stderr and "Traceback" not in r.stderr


def test_distribution_name_and_metadata(venv: Path, tmp_path: Path) -> None:
    code = (
        "import importlib.metadata as m, provisioner;"
        f"d = m.distribution({DISTRIBUTION!r});"
        "print(d.metadata['Name'], d.version, provisioner.__version__);"
        "print(sorted(e.name for e in d.entry_points if e.group == 'console_scripts'))"
    )
    r = subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True,
                       env=clean_env(), cwd=tmp_path, timeout=60, check=False)
    assert r.returncode == 0, r.stderr
    first, scripts = r.stdout.splitlines()
    name, dist_version, package_version = first.split()
    assert name == DISTRIBUTION
    assert dist_version == package_version
    assert scripts == "['provisioner']"


def pipx_command() -> list[str]:
    """pipx as the test extra installs it: into this interpreter's environment, even when that
    environment's bin directory is not on PATH."""
    import importlib.util

    if importlib.util.find_spec("pipx") is None:
        pytest.fail("pipx is not installed: pip install -e '.[test]' installs it")
    return [sys.executable, "-m", "pipx"]


def test_pipx_install(tmp_path: Path) -> None:
    env = clean_env(
        PIPX_HOME=str(tmp_path / "pipx"),
        PIPX_BIN_DIR=str(tmp_path / "bin"),
        PIPX_MAN_DIR=str(tmp_path / "man"),
        HOME=str(tmp_path / "home"),
    )
    r = subprocess.run([*pipx_command(), "install", str(REPO)], capture_output=True, text=True,
                       env=env, timeout=600, cwd=tmp_path, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run([str(tmp_path / "bin" / "provisioner"), "--version"], capture_output=True,
                       text=True, env=env, cwd=tmp_path, timeout=60, check=False)
    assert r.returncode == 0 and r.stdout.startswith("provisioner "), r.stdout + r.stderr
    r = subprocess.run([*pipx_command(), "list", "--short"], capture_output=True, text=True,
                       env=env, timeout=120, cwd=tmp_path, check=False)
    assert r.returncode == 0 and r.stdout.startswith(DISTRIBUTION + " "), r.stdout + r.stderr
