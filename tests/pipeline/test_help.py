"""`--help` of every command: purpose, arguments, examples, exit codes, environment; no option
abbreviations; usage errors point at the command's own help; validate --quiet; PROVISIONER_LOG."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from provisioner import helptext
from provisioner.cli import main
from tests.pipeline.conftest import REPO

COMMANDS = helptext.commands()


def help_of(command: str, capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exit_:
        main([*command.split(), "--help"])
    assert exit_.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("command", COMMANDS)
def test_every_help_has_purpose_examples_exit_codes_and_environment(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    text = help_of(command, capsys)
    usage, purpose = text.split("\n\n")[:2]
    assert usage.startswith(f"usage: provisioner {command}")
    assert purpose.strip().endswith(".") and "\n" not in purpose.strip()  # one line
    for heading in ("examples:", "exit codes:", "environment:"):
        assert f"\n{heading}\n" in text, (command, heading)
    examples = text.split("\nexamples:\n")[1].split("\n\n")[0]
    assert 1 <= examples.count(f"provisioner {command.split()[0]}") <= 2
    assert "PROVISIONER_LOG" in text and "NO_COLOR" in text


def test_every_command_of_the_parser_has_a_help_text(capsys: pytest.CaptureFixture[str]) -> None:
    import argparse

    from provisioner.cli import build_parser

    def names(parser: argparse.ArgumentParser, prefix: str = "") -> list[str]:
        found = []
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    found.append(prefix + name)
                    found += names(sub, prefix + name + " ")
        return found

    assert sorted(names(build_parser())) == sorted(COMMANDS)
    with pytest.raises(SystemExit):
        main(["--help"])
    top = capsys.readouterr().out
    assert "exit codes:" in top and "PROVISIONER_LOG=debug" in top


@pytest.mark.parametrize(
    ("command", "variables"),
    [
        ("plan", ("AEP_CLIENT_ID", "AEP_CLIENT_SECRET", "AEP_ORG_ID", "AEP_SANDBOX",
                  "GITHUB_STEP_SUMMARY")),
        ("apply", ("AEP_CLIENT_ID", "AEP_ACCESS_TOKEN", "AEP_PLATFORM_URL", "AEP_IMS_URL")),
        ("validate", ("AEP_SANDBOX",)),
    ],
)
def test_the_environment_a_command_reads_is_listed(
    command: str, variables: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    env = help_of(command, capsys).split("\nenvironment:\n")[1]
    for name in variables:
        assert f"  {name} " in env, (command, name)


def test_apply_help_mentions_planfile(capsys: pytest.CaptureFixture[str]) -> None:
    text = help_of("apply", capsys)
    assert "PLANFILE" in text.split("\n\n")[0]  # in the usage line
    assert "provisioner apply plan.bin" in text


@pytest.mark.parametrize(
    ("argv", "unknown", "points_at"),
    [
        (["apply", "--auto", "examples/"], "--auto", "provisioner apply --help"),
        (["plan", "--detailed"], "--detailed", "provisioner plan --help"),
        (["destroy", "--auto-app"], "--auto-app", "provisioner destroy --help"),
        (["state", "rm", "x", "--lock"], "--lock", "provisioner state rm --help"),
        (["--no-colour", "validate"], "--no-colour", "provisioner validate --help"),
    ],
)
def test_abbreviations_are_refused_and_point_at_the_commands_help(
    cli: Callable[..., Any], argv: list[str], unknown: str, points_at: str
) -> None:
    r = cli(*argv)
    assert r.code == 1
    assert r.out == ""
    assert r.err.strip() == f"Error: unrecognized arguments: {unknown} (see '{points_at}')"


def test_auto_is_not_auto_approve_even_with_a_terminal_free_run(
    cli: Callable[..., Any], tmp_path: Path
) -> None:
    """The dangerous one: `destroy --auto` must not destroy; it is a usage error, nothing runs."""
    r = cli("destroy", "--auto")
    assert r.code == 1 and "unrecognized arguments: --auto " in r.err
    assert not (tmp_path / "provisioner.state.json.lock").exists()


def test_validate_quiet_prints_errors_only(cli: Callable[..., Any], tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "c.yaml").write_text((REPO / "examples" / "connections.yaml").read_text())
    loud = cli("validate", "m")
    assert loud.code == 0 and "Warning: " in loud.err and "Success!" in loud.out
    quiet = cli("validate", "--quiet", "m")
    assert (quiet.code, quiet.out, quiet.err) == (0, "", "")
    (tmp_path / "m" / "bad.yaml").write_text("version: 1\nconnections:\n  ok:\n    nmae: x\n")
    bad = cli("validate", "-q", "m")
    assert bad.code == 1 and bad.out == ""
    assert "m/bad.yaml:" in bad.err and "Warning" not in bad.err


def test_provisioner_log_debug_is_the_environment_twin_of_debug(
    cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A failing plan with no credentials: --debug adds the traceback, and so does the variable.
    plain = cli("plan", "nowhere.yaml")
    flagged = cli("--debug", "plan", "nowhere.yaml")
    monkeypatch.setenv("PROVISIONER_LOG", "debug")
    by_env = cli("plan", "nowhere.yaml")
    assert plain.code == flagged.code == by_env.code == 1
    assert "Traceback" not in plain.err
    assert "Traceback" in flagged.err and "Traceback" in by_env.err


@pytest.mark.parametrize("value", ["verbose", "1", "trace"])
def test_an_unknown_provisioner_log_value_is_one_sentence(
    cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("PROVISIONER_LOG", value)
    r = cli("validate")
    assert r.code == 1
    assert r.err.strip() == (
        f"Error: PROVISIONER_LOG={value!r} is not understood; set PROVISIONER_LOG=debug for "
        "tracebacks and the HTTP log, or unset it"
    )


def test_an_empty_provisioner_log_is_off(
    cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROVISIONER_LOG", "")
    r = cli("plan", "nowhere.yaml")
    assert r.code == 1 and "Traceback" not in r.err
