"""The command line: parses (parser.py), dispatches to commands/, turns errors into exit codes.

Each command is `provisioner.commands.<module>.run(*, console, ...) -> int` with typed keyword
options; `dispatch` calls it with exactly those. Command modules import their heavy
dependencies inside `run`, so `provisioner --help` stays fast.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Any

from provisioner.console import Console
from provisioner.errors import ManifestError, ProvisionerError, UsageError
from provisioner.parser import COMMANDS, build_parser
from provisioner.render import escape

__all__ = ["COMMANDS", "build_parser", "dispatch", "main"]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2
EXIT_INTERRUPTED = 130


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
    the state journal folded in) instead of dying where we stand; both are held back where
    the main thread must not be cut off (provisioner.interrupts)."""
    from provisioner import interrupts

    interrupts.install()


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


def dispatch(ns: argparse.Namespace, console: Console) -> int:
    """Call the command's `run` with its typed options (each module is imported only when its
    command runs, so `provisioner --help` stays fast)."""
    c = ns.command
    # The options every API command shares.
    api: dict[str, Any] = {"state": getattr(ns, "state", ""), "sandbox": getattr(ns, "sandbox", None)}
    if c == "validate":
        from provisioner.commands import validate

        return validate.run(console=console, paths=ns.paths, quiet=ns.quiet)
    if c == "plan":
        from provisioner.commands import plan

        return plan.run(
            console=console,
            paths=ns.paths,
            out=ns.out,
            json=ns.json,
            markdown=ns.markdown,
            detailed_exitcode=ns.detailed_exitcode,
            verify=ns.verify,
            lock_timeout=ns.lock_timeout,
            emulator=ns.emulator,
            allow_delete=ns.allow_delete,
            parallelism=ns.parallelism,
            **api,
        )
    if c == "apply":
        from provisioner.commands import apply

        return apply.run(
            console=console,
            paths=ns.paths,
            auto_approve=ns.auto_approve,
            parallelism=ns.parallelism,
            allow_delete=ns.allow_delete,
            verify=ns.verify,
            lock_timeout=ns.lock_timeout,
            emulator=ns.emulator,
            json=ns.json,
            **api,
        )
    if c == "refresh":
        from provisioner.commands import refresh

        return refresh.run(
            console=console,
            paths=ns.paths,
            lock_timeout=ns.lock_timeout,
            emulator=ns.emulator,
            **api,
        )
    if c == "import":
        from provisioner.commands import import_

        return import_.run(
            console=console,
            address=ns.address,
            connection_id=ns.connection_id,
            paths=ns.paths,
            lock_timeout=ns.lock_timeout,
            emulator=ns.emulator,
            **api,
        )
    if c == "destroy":
        from provisioner.commands import destroy

        return destroy.run(
            console=console,
            paths=ns.paths,
            auto_approve=ns.auto_approve,
            parallelism=ns.parallelism,
            lock_timeout=ns.lock_timeout,
            emulator=ns.emulator,
            **api,
        )
    if c == "show":
        from provisioner.commands import show

        return show.run(console=console, planfile=ns.planfile, json=ns.json, state=ns.state)
    if c == "state":
        from provisioner.commands import state

        return state.run(
            console=console,
            state_command=ns.state_command,
            state=ns.state,
            sandbox=getattr(ns, "sandbox", None),
            address=getattr(ns, "address", None),
            new_address=getattr(ns, "new_address", None),
            lock_timeout=getattr(ns, "lock_timeout", 0.0),
            file=getattr(ns, "file", None),
            force=getattr(ns, "force", False),
        )
    if c == "force-unlock":
        from provisioner.commands import force_unlock

        return force_unlock.run(console=console, state=ns.state, force=ns.force)
    if c == "status":
        from provisioner.commands import status

        return status.run(
            console=console,
            paths=ns.paths,
            json=ns.json,
            runs=ns.runs,
            emulator=ns.emulator,
            **api,
        )
    if c == "graph":
        from provisioner.commands import graph

        return graph.run(console=console, paths=ns.paths, format=ns.format, sandbox=ns.sandbox)
    if c == "emulator":
        from provisioner.commands import emulator

        return emulator.run(
            console=console,
            host=ns.host,
            port=ns.port,
            db=ns.db,
            sandboxes=ns.sandboxes,
            max_page_size=ns.max_page_size,
            clients=ns.clients,
            s3_credentials=ns.s3_credentials,
            datasets=ns.datasets,
            latency_ms=ns.latency_ms,
            rate_limit=ns.rate_limit,
            fail_rate=ns.fail_rate,
            commit_fail_rate=ns.commit_fail_rate,
            token_ttl=ns.token_ttl,
            seed=ns.seed,
        )
    raise UsageError(f"unknown command {c!r} (see 'provisioner --help')")


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
        return dispatch(ns, console)
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
