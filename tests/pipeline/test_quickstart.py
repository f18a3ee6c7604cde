"""The README's quickstart, run as written in a temporary copy of the repository, so it cannot rot."""

from __future__ import annotations

import os
import re
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SECTION = re.compile(r"<!-- section:quickstart -->(.*?)<!-- /section:quickstart -->", re.DOTALL)
FENCE = re.compile(r"^```(?:sh|bash|shell|console)[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)


def quickstart_script(readme: str) -> str:
    """The sh blocks of the quickstart section, in order, with any `$ ` prompts removed."""
    m = SECTION.search(readme)
    if m is None:
        pytest.fail("README.md has no <!-- section:quickstart --> ... <!-- /section:quickstart --> markers")
    blocks = FENCE.findall(m.group(1))
    if not blocks:
        pytest.fail("the README's quickstart section holds no ```sh block to run")
    lines = []
    for block in blocks:
        for line in block.splitlines():
            lines.append(line.removeprefix("$ "))
    return "\n".join(lines) + "\n"


def test_parser_reads_the_sh_blocks_of_the_section() -> None:
    readme = (
        "intro\n```sh\nnot this\n```\n<!-- section:quickstart -->\ntext\n```sh\n$ echo one\n"
        "echo two\n```\nmore\n```bash\necho three\n```\n```yaml\nkey: no\n```\n"
        "<!-- /section:quickstart -->\n```sh\nnor this\n```\n"
    )
    assert quickstart_script(readme) == "echo one\necho two\necho three\n"


def _ignore(directory: str, names: list[str]) -> set[str]:
    skip = {".git", ".venv", "__pycache__", ".provisioner", ".pytest_cache", ".mypy_cache",
            ".ruff_cache", ".hypothesis", "build", "dist"}
    return {n for n in names if n in skip or n.startswith("provisioner.state.json") or n.endswith(".egg-info")}


@pytest.mark.slow
@pytest.mark.install
def test_quickstart_runs_as_written(tmp_path: Path) -> None:
    script = quickstart_script((REPO / "README.md").read_text(encoding="utf-8"))
    work = tmp_path / "provisioner"
    shutil.copytree(REPO, work, ignore=_ignore)
    # A fresh venv on PATH, so that `pip install .` in the quickstart installs there and nowhere
    # else; it sees this interpreter's packages (through a .pth) so nothing needs downloading.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    purelib = next((venv / "lib").glob("python*/site-packages"))
    (purelib / "_host_packages.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(
        PATH=f"{venv / 'bin'}{os.pathsep}{env['PATH']}",
        VIRTUAL_ENV=str(venv),
        HOME=str(tmp_path / "home"),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    r = subprocess.run(
        ["bash", "-e", "-x", "-c", script], cwd=work, env=env, capture_output=True, text=True,
        timeout=600, stdin=subprocess.DEVNULL, check=False,
    )
    assert r.returncode == 0, f"the README quickstart failed:\n{script}\n--- output ---\n{r.stdout}\n{r.stderr}"
