"""The real emulator in its own process, counting every request it answers (for the benchmark).

Run: `python tests/benchmarks/counting_emulator.py --latency-ms 20 [--rate-limit RPS]`. It prints
its URL on the first line of stdout, then serves until killed. `GET /__bench__/counts` answers
the counts so far (that request itself is not counted and not delayed): requests by kind, 429s,
and the times of the first and last successful create.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from provisioner.emulator import Emulator, EmulatorConfig
from provisioner.emulator.app import Request, Response
from provisioner.emulator.errors import HttpError

COUNTS_PATH = "/__bench__/counts"


def _kind(req: Request) -> str:
    if req.path.rstrip("/").endswith("/ims/token/v3"):
        return "token"
    if req.path.rstrip("/").endswith("/connections"):
        return "list" if req.method == "GET" else "create"
    return req.method.lower()  # get / patch / delete of one connection


def install_counter(emulator: Emulator) -> None:
    """Wrap the emulator's request handler: count first, then answer as usual."""
    app = emulator.app
    handle = app.handle
    lock = threading.Lock()
    counts: Counter[str] = Counter()
    creates: list[float] = []

    def counting(req: Request) -> Response:
        if req.path == COUNTS_PATH:
            with lock:
                body: dict[str, Any] = dict(counts)
                body["first_create"] = creates[0] if creates else None
                body["last_create"] = creates[-1] if creates else None
            return Response(200, body)
        kind = _kind(req)
        with lock:
            counts["requests"] += 1
            counts[kind] += 1
        try:
            response = handle(req)
        except HttpError as exc:
            with lock:
                counts[f"status_{exc.status}"] += 1
            raise
        with lock:
            counts[f"status_{response.status}"] += 1
        if kind == "create" and response.status == 201:
            now = time.time()
            with lock:
                if not creates:
                    creates.append(now)
                creates[1:] = [now]
        return response

    app.handle = counting  # type: ignore[method-assign]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--rate-limit", type=float, default=0.0)
    parser.add_argument("--max-page-size", type=int, default=100)
    parser.add_argument("--sandboxes", default="prod,dev")
    args = parser.parse_args()
    emulator = Emulator(
        EmulatorConfig(
            port=0,
            latency_ms=args.latency_ms,
            rate_limit=args.rate_limit,
            max_page_size=args.max_page_size,
            sandboxes=tuple(args.sandboxes.split(",")),
        )
    )
    install_counter(emulator)
    print(emulator.url, flush=True)
    try:
        emulator.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
