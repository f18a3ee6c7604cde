"""Run in a fresh single-threaded process by test_parsing.py: load manifests one after the other
in this process, then with forked helpers, and print what happened as one JSON line.

    python parsing_probe.py MODE PATH...

MODE: same (helpers as they are), crash (a helper dies), raise (a helper's parse raises),
garbage (a helper sends what is not a pickle), hang (a helper never answers), interrupt (Ctrl-C
in this process while a helper parses), signal (Ctrl-C right after a fork, before the helper is
recorded), thread (another thread runs: no fork).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from typing import Any

from provisioner import interrupts, manifest
from provisioner.manifest import parsing
from provisioner.secrets import Secret

MODE, PATHS = sys.argv[1], sys.argv[2:]
PARENT = os.getpid()
interrupts.install()  # as the CLI does: Ctrl-C and SIGTERM as KeyboardInterrupt
# The fork is tested on any machine: two cores, and no size too small.
os.sched_getaffinity = lambda pid: {0, 1}  # type: ignore[assignment]
parsing.MIN_BYTES = 1

forked: list[int] = []
_fork = parsing._fork


def counted_fork(*args: Any) -> Any:
    made = _fork(*args)
    if made is not None:
        forked.append(made[0])
        if MODE == "signal":  # Ctrl-C between the fork and the record of the helper
            signal.raise_signal(signal.SIGINT)
    return made


parsing._fork = counted_fork  # type: ignore[assignment]

here: list[str] = []  # the files this process parsed itself
_one_file = parsing.one_file


def one_file(name: str, *args: Any) -> Any:
    if os.getpid() == PARENT:
        here.append(name)
        if MODE == "interrupt" and forked:
            raise KeyboardInterrupt
    elif MODE == "crash":
        os._exit(7)
    elif MODE == "raise":
        raise RuntimeError("a bug in the helper")
    elif MODE == "hang":
        time.sleep(3600)
    return _one_file(name, *args)


parsing.one_file = one_file  # type: ignore[assignment]
if MODE == "garbage":
    parsing._dumps = lambda outcome: b"not a pickle"  # type: ignore[assignment]
if MODE == "hang":
    parsing._GRACE_S, parsing._SLOWER = 0.5, 0.0


def outcome() -> Any:
    try:
        m = manifest.load(PATHS, sandbox_override=None, default_sandbox="prod")
    except manifest.InvalidManifests as e:
        return ("invalid", e.problems, e.warnings)
    return ("ok", m.resources, m.files, m.digest, m.warnings, dict(m.moved))


def secrets(result: Any) -> list[str]:
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, Secret):
            found.append(value.reveal())
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    if result[0] == "ok":
        for resource in result[1]:
            walk(resource.document)
    return found


saved = parsing.MIN_BYTES
parsing.MIN_BYTES = 1 << 60  # first one after the other, here
alone = outcome()
parsing.MIN_BYTES = saved
here.clear()
report: dict[str, Any] = {}
if MODE == "thread":
    stop = threading.Event()
    threading.Thread(target=stop.wait, daemon=True).start()
started = time.monotonic()
try:
    helped = outcome()
except KeyboardInterrupt:
    helped = None
    report["interrupted"] = True
report["seconds"] = round(time.monotonic() - started, 2)
report["forked"] = len(forked)
report["parsed_here"] = len(here)
report["files"] = len(alone[2]) if alone[0] == "ok" else None
report["same"] = helped == alone
report["kind"] = alone[0]
report["problems"] = [str(p) for p in alone[1]] if alone[0] == "invalid" else []
report["secrets_alone"] = secrets(alone)
report["secrets_helped"] = secrets(helped) if helped is not None else []
try:  # every helper has been reaped: no child of this process is left
    os.waitpid(-1, os.WNOHANG)
    report["children_left"] = True
except ChildProcessError:
    report["children_left"] = False
print(json.dumps(report))
