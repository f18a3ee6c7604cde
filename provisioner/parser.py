"""The command line's parser: every command, its arguments, and their help texts.

cli.py dispatches what this parses; helptext.py holds the examples, exit codes and environment
each command's --help ends with.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Sequence
from typing import Any, NoReturn

from provisioner import __version__, helptext
from provisioner.errors import UsageError

COMMANDS = (
    "validate",
    "plan",
    "apply",
    "refresh",
    "import",
    "destroy",
    "show",
    "state",
    "force-unlock",
    "emulator",
    "status",
    "graph",
)



class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is a UsageError (exit 1) instead of exit 2, options are never
    abbreviated (`--auto` is not `--auto-approve`: this tool deletes things), and the texts
    after the options (examples, exit codes, environment) are printed as written."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["allow_abbrev"] = False
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> argparse.Namespace:
        # An unknown option is only found once every subparser has run, by the top parser:
        # point at the help of the command it was given to, not at the top-level help.
        ns, extras = self.parse_known_args(args, namespace)
        if extras:
            words = [getattr(ns, "command", None), getattr(ns, "state_command", None)]
            prog = " ".join([self.prog, *(w for w in words if w)])
            raise UsageError(f"unrecognized arguments: {' '.join(extras)} (see '{prog} --help')")
        return ns


def _globals_parent() -> _Parser:
    # SUPPRESS so a global flag given before the command is not reset by the subparser.
    parent = _Parser(add_help=False)
    parent.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show tracebacks and a redacted HTTP log on stderr",
    )
    parent.add_argument(
        "--no-color",
        action="store_true",
        default=argparse.SUPPRESS,
        help="never colour the output (NO_COLOR is honoured too)",
    )
    return parent


def _paths(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="manifest files or directories (default: the current directory)",
    )


def _api_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("state and target")
    _state_option(g)
    g.add_argument(
        "--sandbox",
        type=_sandbox_name,
        metavar="NAME",
        help="sandbox of the manifests that name none (one that names another is an error)",
    )
    g.add_argument(
        "--lock-timeout",
        type=_non_negative_float,
        default=0.0,
        metavar="SECONDS",
        help="wait this long for the state lock (default 0: fail at once if locked)",
    )
    g.add_argument(
        "--emulator",
        action="store_true",
        help="run against a local emulator started in-process (data under .provisioner/)",
    )


def _state_option(p: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """--state FILE or s3://BUCKET/KEY; the default comes from PROVISIONER_STATE."""
    env = os.environ.get("PROVISIONER_STATE", "")
    p.add_argument(
        "--state",
        default=env or "provisioner.state.json",
        metavar="STATE",
        help="state file, or s3://BUCKET/KEY for a remote state (default: $PROVISIONER_STATE, "
        f"else provisioner.state.json{'; now ' + env if env else ''})",
    )


def _run_options(p: argparse.ArgumentParser) -> None:
    """The options of commands that change connections: apply, destroy."""
    p.add_argument("--auto-approve", action="store_true", help="do not ask for confirmation")
    _parallelism(p)


def _parallelism(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--parallelism",
        type=_positive_int,
        default=64,
        metavar="N",
        help=(
            "the most requests in flight at once (default 64); fewer while the service "
            "answers slowly or with 429/503"
        ),
    )


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):  # NaN would make every comparison false: a wait without end
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must not be negative")
    return value


def _sandbox_name(text: str) -> str:
    from provisioner.config import SANDBOX_NAME

    if not SANDBOX_NAME.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a sandbox name: Adobe's are all lowercase letters, digits and "
            f"hyphens; give it as {text.lower()!r}"
        )
    return text


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def _probability(text: str) -> float:
    value = _non_negative_float(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be between 0 and 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    parent = _globals_parent()
    parser = _Parser(
        prog="provisioner",
        description="Declarative provisioning of Adobe Experience Platform Flow Service "
        "Amazon S3 source connections: validate, plan, apply.",
        parents=[parent],
        epilog=helptext.TOP_EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"provisioner {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def command(name: str, help_: str) -> argparse.ArgumentParser:
        return sub.add_parser(
            name,
            help=help_,
            description=help_[0].upper() + help_[1:] + ".",
            epilog=helptext.epilog(name),
            parents=[parent],
        )

    p = command("validate", "check manifests offline: YAML, schema, references, duplicates, secrets")
    _paths(p)
    p.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        help="print errors only: no warnings (e.g. unset ${env:NAME}), no success line",
    )

    p = command("plan", "compare manifests, state and Flow Service, and print the plan")
    _paths(p)
    p.add_argument("--out", metavar="FILE", help="save the plan for 'apply FILE'")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print the plan as JSON")
    fmt.add_argument("--markdown", action="store_true", help="print the plan as a PR comment")
    p.add_argument(
        "--detailed-exitcode",
        action="store_true",
        help="exit 0 when there are no changes, 2 when there are, 1 on error",
    )
    p.add_argument(
        "--verify", action="store_true", help="also test each connection's credentials"
    )
    p.add_argument(
        "--allow-delete",
        action="store_true",
        help="plan deletes and replaces to run (recorded in a plan saved with --out)",
    )
    _parallelism(p)
    _api_options(p)

    p = command("apply", "apply a fresh plan of the manifests, or a PLANFILE saved by 'plan --out'")
    p.add_argument(
        "paths",
        nargs="*",
        metavar="PATH | PLANFILE",
        help="manifest files or directories (default: the current directory), or one PLANFILE "
        "saved by 'plan --out' to apply exactly that plan without asking",
    )
    _run_options(p)
    p.add_argument(
        "--allow-delete",
        action="store_true",
        help="perform planned deletes of owned connections no longer declared",
    )
    p.add_argument(
        "--verify", action="store_true", help="test each connection's credentials afterwards"
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="print one JSON event per line (NDJSON, schemas/apply-events.schema.json) instead "
        "of text; needs --auto-approve or a PLANFILE",
    )
    _api_options(p)

    p = command("refresh", "update the state from Flow Service and report drift")
    _paths(p)
    _api_options(p)

    p = command("import", "adopt an existing connection into the state under an address")
    p.add_argument("address", metavar="ADDRESS", help="a declared address")
    p.add_argument("connection_id", metavar="CONNECTION_ID", help="the connection's id")
    _paths(p)
    _api_options(p)

    p = command("destroy", "delete every connection the state owns, except protected ones")
    _paths(p)
    _run_options(p)
    _api_options(p)

    p = command("show", "print the state, or a saved plan")
    p.add_argument("planfile", nargs="?", metavar="PLANFILE", help="a plan saved by 'plan --out'")
    p.add_argument("--json", action="store_true", help="print JSON")
    _state_option(p)

    p = command("state", "inspect, forget or move state (nothing in Flow Service changes)")
    state_sub = p.add_subparsers(
        dest="state_command", metavar="SUBCOMMAND", parser_class=_Parser, required=True
    )
    for name, help_ in (
        ("list", "list the addresses in the state"),
        ("show", "show one state entry"),
        ("rm", "forget an entry (the connection itself is left alone)"),
        ("push", "copy a local state FILE to --state (e.g. s3://BUCKET/KEY)"),
        ("pull", "copy --state (e.g. s3://BUCKET/KEY) to a local state FILE"),
        ("mv", "give an entry another address (nothing remote changes)"),
    ):
        sp = state_sub.add_parser(
            name,
            help=help_,
            description=help_[0].upper() + help_[1:] + ".",
            epilog=helptext.epilog(f"state {name}"),
            parents=[parent],
        )
        if name in ("show", "rm", "mv"):
            sp.add_argument("address", metavar="ADDRESS")
        if name == "mv":
            sp.add_argument("new_address", metavar="NEW_ADDRESS")
        if name in ("push", "pull"):
            sp.add_argument("file", metavar="FILE", help="the local state file")
            sp.add_argument(
                "--force",
                action="store_true",
                help="overwrite even a state of another lineage, or a newer one",
            )
        _state_option(sp)
        if name not in ("push", "pull"):
            sp.add_argument(
                "--sandbox", type=_sandbox_name, metavar="NAME", help="only entries of this sandbox"
            )
        if name in ("rm", "mv", "push", "pull"):
            sp.add_argument(
                "--lock-timeout",
                type=_non_negative_float,
                default=0.0,
                metavar="SECONDS",
                help="wait this long for the state lock",
            )

    p = command("status", "show each declared dataflow's state and its last runs")
    _paths(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument(
        "--runs", type=_positive_int, default=5, metavar="N", help="runs per dataflow (default 5)"
    )
    g = p.add_argument_group("state and target")
    _state_option(g)
    g.add_argument("--sandbox", metavar="NAME", help="sandbox for every manifest")
    g.add_argument("--emulator", action="store_true", help="ask the local emulator (.provisioner/)")

    p = command("graph", "print the declared resources and their references (Mermaid or DOT)")
    _paths(p)
    p.add_argument(
        "--format", choices=("mermaid", "dot"), default="mermaid", help="default mermaid"
    )
    p.add_argument("--sandbox", metavar="NAME", help="sandbox for every manifest")

    p = command("force-unlock", "remove a state lock left by a dead process")
    _state_option(p)
    p.add_argument(
        "--force", action="store_true", help="remove the lock even if its holder looks alive"
    )

    p = command("emulator", "run the local Flow Service and IMS emulator")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 = any free)")
    p.add_argument("--db", metavar="FILE", help="SQLite file to persist to (default: in memory)")
    p.add_argument(
        "--sandboxes",
        default="prod,dev",
        metavar="A,B,C",
        help="sandbox names that exist (default prod,dev)",
    )
    p.add_argument(
        "--max-page-size",
        type=_positive_int,
        default=100,
        metavar="N",
        help="largest page a listing returns (default 100)",
    )
    p.add_argument("--clients", metavar="FILE", help="JSON file of accepted IMS clients")
    p.add_argument(
        "--s3-credentials",
        metavar="FILE",
        help="JSON file of S3 credentials that pass the connection test",
    )
    p.add_argument(
        "--dataset",
        action="append",
        default=[],
        metavar="NAME",
        dest="datasets",
        help="seed one more Catalog dataset of this name (repeatable)",
    )
    f = p.add_argument_group("faults")
    f.add_argument("--latency-ms", type=_non_negative_float, default=0.0, help="added latency")
    f.add_argument(
        "--rate-limit", type=_non_negative_float, default=0.0, metavar="RPS", help="429 beyond this"
    )
    f.add_argument("--fail-rate", type=_probability, default=0.0, metavar="P", help="5xx, no write")
    f.add_argument(
        "--commit-fail-rate",
        type=_probability,
        default=0.0,
        metavar="P",
        help="write done, then 5xx",
    )
    f.add_argument(
        "--token-ttl", type=_positive_int, default=86399, metavar="SECONDS", help="token lifetime"
    )
    f.add_argument("--seed", type=int, help="seed for the fault dice")
    return parser
