"""Hostile command lines: any mix of commands, flags and odd values ends in 0, 1 or 2, never a crash."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.aep import s3, write_manifest
from tests.reliability.helpers import figure

COMMANDS = [
    ["validate"],
    ["plan"],
    ["apply"],
    ["refresh"],
    ["import"],
    ["destroy"],
    ["show"],
    ["state", "list"],
    ["state", "show"],
    ["state", "rm"],
    ["force-unlock"],
]
FLAGS = [
    "--json",
    "--markdown",
    "--detailed-exitcode",
    "--verify",
    "--auto-approve",
    "--allow-delete",
    "--force",
    "--debug",
    "--no-color",
    "--state",
    "--sandbox",
    "--lock-timeout",
    "--parallelism",
    "--out",
    "--help",
    "--version",
    "-h",
]
VALUES = st.one_of(
    st.sampled_from(
        [
            "m.yaml",
            "alpha",
            "prod",
            "dev",
            "0",
            "-1",
            "1e9",
            "nan",
            "",
            " ",
            "-",
            "--",
            "x.plan",
            "provisioner.state.json",
            "/",
            "/dev/null",
            ".",
            "..",
            "\udcff",
            "日本",
            "a\nb",
            "%s",
            "{}",
        ]
    ),
    st.text(max_size=12),
)
ARGV = st.tuples(
    st.sampled_from(COMMANDS), st.lists(st.one_of(st.sampled_from(FLAGS), VALUES), max_size=6)
).map(lambda t: [*t[0], *t[1]])

SEEN: dict[int, int] = {}


@pytest.mark.slow
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(argv=ARGV)
def test_any_command_line_is_answered(
    argv: list[str],
    emulator_factory: Any,
    env_for: Any,
    cli: Any,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    if not hasattr(request.node, "_emu"):
        request.node._emu = env_for(emulator_factory())
        write_manifest(tmp_path / "m.yaml", {"alpha": s3("Alpha")})
    try:
        r = cli(*argv)
    except SystemExit as exc:  # --help and --version exit through argparse, with 0
        assert exc.code == 0, argv
        return
    text = r.out + r.err
    assert r.code in (0, 1, 2), (argv, text)
    assert "internal error (" not in text, (argv, text)
    if "--debug" not in argv:
        assert "Traceback" not in text, (argv, text)
    if r.code == 1:
        assert "Error" in r.err or "Apply cancelled" in r.err or r.err.strip(), (argv, text)
    SEEN[r.code] = SEEN.get(r.code, 0) + 1


@pytest.fixture(scope="module", autouse=True)
def _record_figures() -> Iterator[None]:
    """After the module's tests (not a test: it checks nothing): how many argvs gave each exit."""
    yield
    if SEEN:
        figure("argv", **{f"exit{k}": v for k, v in sorted(SEEN.items())})
