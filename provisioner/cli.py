"""The command line: builds the parser, dispatches to commands/, turns errors into exit codes.

Each command is `provisioner.commands.<module>.run(*, console, **options) -> int`, where the
options are exactly the argparse destinations of its subparser. Command modules import their
heavy dependencies inside `run`, so `provisioner --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import math
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from provisioner import __version__, helptext
from provisioner.console import Console
from provisioner.errors import ManifestError, ProvisionerError, UsageError
from provisioner.render import escape

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2
EXIT_INTERRUPTED = 130

# command name -> module under provisioner.commands
_MODULES = {
    "validate": "validate",
    "plan": "plan",
    "apply": "apply",
    "refresh": "refresh",
    "import": "import_",
    "destroy": "destroy",
    "show": "show",
    "state": "state",
    "force-unlock": "force_unlock",
    "emulator": "emulator",
}

_GLOBAL_DESTS = ("command", "debug", "no_color")


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
    g.add_argument(
        "--state",
        default="provisioner.state.json",
        metavar="FILE",
        help="state file (default: provisioner.state.json)",
    )
    g.add_argument(
        "--sandbox",
        metavar="NAME",
        help="sandbox for every manifest (overrides the manifest's sandbox: and AEP_SANDBOX)",
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


def _run_options(p: argparse.ArgumentParser) -> None:
    """The options of commands that change connections: apply, destroy."""
    p.add_argument("--auto-approve", action="store_true", help="do not ask for confirmation")
    p.add_argument(
        "--parallelism",
        type=_positive_int,
        default=32,
        metavar="N",
        help=(
            "the most requests in flight at once (default 32); fewer while the service "
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
    p.add_argument("--state", default="provisioner.state.json", metavar="FILE", help="state file")

    p = command("state", "inspect or forget state entries (nothing remote changes)")
    state_sub = p.add_subparsers(
        dest="state_command", metavar="SUBCOMMAND", parser_class=_Parser, required=True
    )
    for name, help_ in (
        ("list", "list the addresses in the state"),
        ("show", "show one state entry"),
        ("rm", "forget an entry (the connection itself is left alone)"),
    ):
        sp = state_sub.add_parser(
            name,
            help=help_,
            description=help_[0].upper() + help_[1:] + ".",
            epilog=helptext.epilog(f"state {name}"),
            parents=[parent],
        )
        if name != "list":
            sp.add_argument("address", metavar="ADDRESS")
        sp.add_argument(
            "--state", default="provisioner.state.json", metavar="FILE", help="state file"
        )
        sp.add_argument("--sandbox", metavar="NAME", help="only entries of this sandbox")
        if name == "rm":
            sp.add_argument(
                "--lock-timeout",
                type=_non_negative_float,
                default=0.0,
                metavar="SECONDS",
                help="wait this long for the state lock",
            )

    p = command("force-unlock", "remove a state lock left by a dead process")
    p.add_argument("--state", default="provisioner.state.json", metavar="FILE", help="state file")
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


_DEBUG_HANDLER = "provisioner-debug"


def _configure_logging(debug: bool) -> None:
    log = logging.getLogger("provisioner")
    # main() may run more than once in a process (tests, wrappers): a handler left by an
    # earlier --debug run would log twice, or into a stream that is closed by now.
    for old in [h for h in log.handlers if h.get_name() == _DEBUG_HANDLER]:
        log.removeHandler(old)
    if not debug:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_DEBUG_HANDLER)
    handler.setFormatter(logging.Formatter("DEBUG %(name)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)


def _sigterm_as_interrupt() -> None:
    """A pipeline that cancels a run sends SIGTERM: unwind like Ctrl-C (locks released,
    the state journal folded in) instead of dying where we stand."""
    import signal
    import threading

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handler)


def _debug_from_environment() -> bool:
    """PROVISIONER_LOG=debug is the environment's --debug (for CI, where flags are fixed)."""
    import os

    value = os.environ.get("PROVISIONER_LOG", "").strip().lower()
    if value in ("", "debug"):
        return value == "debug"
    raise UsageError(
        f"PROVISIONER_LOG={os.environ['PROVISIONER_LOG']!r} is not understood; set "
        "PROVISIONER_LOG=debug for tracebacks and the HTTP log, or unset it"
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if argv is None:
        _sigterm_as_interrupt()
    debug = "--debug" in args
    console = Console(no_color="--no-color" in args, debug=debug)
    try:
        debug = debug or _debug_from_environment()
        console = Console(no_color="--no-color" in args, debug=debug)
        parser = build_parser()
        ns = parser.parse_args(args)
        if ns.command is None:
            parser.print_help(sys.stderr)
            return EXIT_ERROR
        debug = bool(getattr(ns, "debug", False)) or debug
        console = Console(no_color=bool(getattr(ns, "no_color", False)), debug=debug)
        _configure_logging(debug)
        options: dict[str, Any] = {k: v for k, v in vars(ns).items() if k not in _GLOBAL_DESTS}
        module = importlib.import_module(f"provisioner.commands.{_MODULES[ns.command]}")
        return int(module.run(console=console, **options))
    except ManifestError as exc:
        for problem in exc.problems:
            console.err(escape.plain(str(problem)))
        n = len(exc.problems)
        console.err(
            console.style(f"Error: {n} problem{'s' if n != 1 else ''} found.", "red", stream="err")
        )
        return EXIT_ERROR
    except ProvisionerError as exc:
        if debug:
            import traceback

            console.err(traceback.format_exc().rstrip())  # via Console: any text is printable
        console.err(console.style("Error: ", "red", "bold", stream="err") + str(exc))
        return EXIT_ERROR
    except KeyboardInterrupt:
        console.err("Interrupted.")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_ERROR
    except Exception as exc:  # noqa: BLE001 - a bug: still one sentence, the traceback only with --debug
        if debug:
            import traceback

            console.err(traceback.format_exc().rstrip())  # via Console: any text is printable
        console.err(
            f"Error: internal error ({type(exc).__name__}); this is a bug in provisioner. "
            "Run again with --debug for the traceback and report it."
        )
        return EXIT_ERROR
