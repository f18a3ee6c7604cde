"""Terminal manners: colour only on a TTY (NO_COLOR, --no-color), --version, --help, usage errors."""

from __future__ import annotations

import argparse
import os
import pty
import select
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from provisioner import __version__
from provisioner.cli import COMMANDS, build_parser

ESC = "\x1b["


def run_on_tty(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str]:
    """Run the CLI with stdin, stdout and stderr on a pseudo-terminal; return (code, output)."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "provisioner", *argv],
        stdin=follower, stdout=follower, stderr=follower, env=env, cwd=cwd, close_fds=True,
    )
    os.close(follower)
    chunks: list[bytes] = []
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        if not ready:
            proc.kill()
            break
        try:
            data = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    return proc.wait(timeout=60), b"".join(chunks).decode("utf-8", "replace")


@pytest.fixture
def tty_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TERM")}
    env["TERM"] = "xterm-256color"
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    return env


def test_colour_on_a_terminal(tty_env: dict[str, str], tmp_path: Path) -> None:
    code, out = run_on_tty(["show", "missing.plan"], tty_env, tmp_path)
    assert code == 1
    assert ESC + "31;1mError: " + ESC + "0m" in out
    assert "missing.plan does not exist" in out


def test_no_color_variable_is_honoured(tty_env: dict[str, str], tmp_path: Path) -> None:
    code, out = run_on_tty(["show", "missing.plan"], {**tty_env, "NO_COLOR": "1"}, tmp_path)
    assert code == 1 and "Error: " in out
    assert ESC not in out


def test_no_color_flag_is_honoured_before_and_after_the_command(tty_env: dict[str, str], tmp_path: Path) -> None:
    for argv in (["--no-color", "show", "missing.plan"], ["show", "missing.plan", "--no-color"]):
        code, out = run_on_tty(argv, tty_env, tmp_path)
        assert code == 1 and "Error: " in out
        assert ESC not in out, argv


def test_no_colour_when_piped(run_cli: Any, tty_env: dict[str, str], tmp_path: Path) -> None:
    r = run_cli("show", "missing.plan", env=tty_env, cwd=tmp_path)
    assert r.returncode == 1 and "Error: " in r.stderr
    assert ESC not in r.stderr + r.stdout


def test_version(run_cli: Any) -> None:
    r = run_cli("--version")
    assert r.returncode == 0
    assert r.stdout.strip() == f"provisioner {__version__}"


def _commands() -> list[list[str]]:
    names = [[name] for name in COMMANDS]
    return names + [["state", sub] for sub in ("list", "show", "rm")]


@pytest.mark.slow
@pytest.mark.parametrize("command", _commands(), ids=" ".join)
def test_help_on_every_command(run_cli: Any, command: list[str]) -> None:
    r = run_cli(*command, "--help")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"usage: provisioner {' '.join(command)}")
    assert r.stderr == ""


def _subparsers(parser: argparse.ArgumentParser, prefix: str = "") -> list[tuple[str, argparse.ArgumentParser]]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.append((f"{prefix}{name}", sub))
                found += _subparsers(sub, f"{prefix}{name} ")
    return found


def test_every_command_and_option_is_described() -> None:
    """--help is only helpful if every command says what it does and every option what it means."""
    parser = build_parser()
    subs = _subparsers(parser)
    assert {name for name, _ in subs} >= set(COMMANDS)
    for name, sub in subs:
        assert sub.description, f"{name} has no description"
        for action in sub._actions:
            if isinstance(action, argparse._SubParsersAction) or action.dest == "help":
                continue
            if action.option_strings:
                assert action.help, f"{name} {action.option_strings[0]} has no help text"


@pytest.mark.slow
@pytest.mark.parametrize(
    "argv, fragment",
    [
        ([], "usage: provisioner"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["plan", "--bogus"], "unrecognized arguments: --bogus"),
        (["apply", "--parallelism", "0"], "'0' must be at least 1"),
        (["plan", "--json", "--markdown"], "not allowed with argument"),
        (["import", "only-an-address"], "the following arguments are required: CONNECTION_ID"),
        (["state"], "the following arguments are required: SUBCOMMAND"),
    ],
)
def test_usage_errors_exit_1(run_cli: Any, argv: list[str], fragment: str) -> None:
    r = run_cli(*argv)
    assert r.returncode == 1
    assert fragment in r.stderr
    assert "Traceback" not in r.stderr
    assert r.stdout == ""


@pytest.mark.slow
def test_plan_is_coloured_on_a_terminal_only(tty_env: dict[str, str], tmp_path: Path, run_cli: Any) -> None:
    from tests.aep import s3, write_manifest

    write_manifest(tmp_path / "m.yaml", {"alpha": s3("Alpha")})
    env = {**tty_env, "TEST_S3_KEY": "AKIATTY", "TEST_S3_SECRET": "tty-secret"}
    code, out = run_on_tty(["plan", "m.yaml", "--emulator"], env, tmp_path)
    assert code == 0, out
    assert ESC + "32m" in out and "Plan: 1 to create" in out
    code, out = run_on_tty(["plan", "m.yaml", "--emulator"], {**env, "NO_COLOR": "1"}, tmp_path)
    assert code == 0 and "Plan: 1 to create" in out and ESC not in out
    r = run_cli("plan", "m.yaml", "--emulator", env=env, cwd=tmp_path)
    assert r.returncode == 0 and "Plan: 1 to create" in r.stdout and ESC not in r.stdout
