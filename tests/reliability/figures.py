"""Run the reliability suite and print its figures: python tests/reliability/figures.py [PYTEST ARGS]."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        sink = Path(tmp) / "figures.jsonl"
        env = dict(os.environ, RELIABILITY_FIGURES=str(sink))
        started = time.monotonic()
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "tests/reliability",
                *argv,
            ],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        elapsed = time.monotonic() - started
        rows = [json.loads(line) for line in sink.read_text().splitlines()] if sink.exists() else []
    for row in rows:
        test = row.pop("test")
        print(f"{test:18} " + ", ".join(f"{k}={v}" for k, v in row.items()))
    summary = [line for line in proc.stdout.splitlines() if " passed" in line or " failed" in line]
    print(f"{'pytest':18} {summary[-1] if summary else proc.stdout[-500:]} (wall {elapsed:.0f} s)")
    if proc.returncode != 0:
        print(proc.stdout[-4000:], proc.stderr[-2000:], sep="\n", file=sys.stderr)
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
