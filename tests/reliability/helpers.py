"""Helpers of the reliability suite: the sentinel secret, counted faults, printed figures."""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from pathlib import Path
from typing import Any

SECRET = "SENTINEL-rel-secret-7f3a9c1e5b"
FIGURES_ENV = "RELIABILITY_FIGURES"


def figure(test: str, **values: Any) -> None:
    """Print one line of figures (seen with pytest -s) and append it to $RELIABILITY_FIGURES."""
    print(f"\nFIGURE {test}: " + ", ".join(f"{k}={v}" for k, v in values.items()))
    path = os.environ.get(FIGURES_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"test": test, **values}) + "\n")


def state_ids(path: Path) -> dict[str, str]:
    """address -> connection id of every entry in a state file ({} when there is none)."""
    if not path.exists():
        return {}
    doc = json.loads(path.read_text())
    return {
        addr: entry["id"]
        for org in doc["resources"].values()
        for addresses in org.values()
        for addr, entry in addresses.items()
    }


def spawn_applying(spawn_cli: Any, cwd: Path, *extra: str, until: str | None = "Plan:") -> Any:
    """`apply m.yaml --auto-approve --parallelism 4` as a real, unbuffered process; with
    `until`, return once it has printed a line starting so (the plan is made: writes follow)."""
    proc = spawn_cli(
        "apply",
        "m.yaml",
        "--auto-approve",
        "--parallelism",
        "4",
        *extra,
        cwd=cwd,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    if until is not None:
        assert proc.stdout is not None
        while (line := proc.stdout.readline()) and not line.startswith(until):
            pass
    return proc


class FaultCounter:
    """Counts what an in-process emulator injected and served, by wrapping its fault dice."""

    def __init__(self, emu: Any) -> None:
        self.counts: Counter[str] = Counter()
        self.quiet = False  # set while the test reads the remote side to check it
        self._lock = threading.Lock()
        faults, ims = emu.app.faults, emu.app.ims
        self._wrap(faults, "before", lambda e: f"injected {getattr(e, 'status', '?')}")
        self._wrap(faults, "after_write", lambda e: "injected 500 after write")
        self._wrap(ims, "issue", None, ok="tokens issued")
        self._wrap(emu.app, "handle", None, ok="requests")

    def _wrap(self, obj: Any, name: str, on_error: Any, ok: str | None = None) -> None:
        inner = getattr(obj, name)

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if self.quiet and on_error is not None:
                return None  # the test itself is looking: no dice
            try:
                result = inner(*args, **kwargs)
            except Exception as exc:
                if on_error is not None:
                    self.add(on_error(exc))
                raise
            if ok:
                self.add(ok)
            return result

        setattr(obj, name, wrapped)

    def add(self, key: str) -> None:
        with self._lock:
            self.counts[key] += 1

    def __getitem__(self, key: str) -> int:
        return self.counts[key]

    @property
    def injected_5xx(self) -> int:
        return self["injected 503"] + self["injected 500 after write"]
