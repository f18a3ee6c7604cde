"""The performance benchmark (docs/performance.md): provisioner against the round-trip bound and a naive client.

    python tests/benchmarks/bench.py            # N = 10, 100, 1000, 5000 (about 6 minutes)
    python tests/benchmarks/bench.py --quick    # N = 10, 100, 1000 (about 1 minute)

Everything runs as real processes: the emulator (tests/benchmarks/counting_emulator.py, the real
emulator plus a request counter, --latency-ms 20), the real CLI (`python -m provisioner`, with AEP_*
pointing at the emulator) and the naive client (tests/benchmarks/naive.py). Requests are counted
by the emulator, so retries and token exchanges are included whoever sends them.

Bounds (page size 100): plan = (1 token + ceil(N/100) listing calls) x latency;
apply = ceil(N/parallelism) x latency. Target: wall <= 1.5 x bound + 0.5 s.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
PAGE = 100
CLIENT = {
    "AEP_CLIENT_ID": "bench-client",
    "AEP_CLIENT_SECRET": "bench-secret",
    "AEP_ORG_ID": "EMULATOR0000000000000000@AdobeOrg",
}

# Runs the real CLI, and at exit writes the bytes every StateStore wrote (state, backup,
# journal) to the file named by the first argument.
_COUNT_STATE_BYTES = """
import atexit, sys
from provisioner.state import store
stores = []
_init = store.StateStore.__init__
def _tracking(self, *args, **kwargs):
    _init(self, *args, **kwargs)
    stores.append(self)
store.StateStore.__init__ = _tracking
out = sys.argv.pop(1)
atexit.register(lambda: open(out, "w").write(str(sum(s.bytes_written for s in stores))))
from provisioner.cli import main
sys.argv[0] = "provisioner"
raise SystemExit(main())
"""


@dataclass
class Run:
    wall: float
    requests: int = 0
    rss_mb: float = 0.0
    state_bytes: int | None = None
    counts: dict[str, Any] = field(default_factory=dict)


@dataclass
class Row:
    op: str
    n: int
    bound: float
    tool: Run
    naive: Run | None


# -- processes ------------------------------------------------------------------------------


class CountingEmulator:
    def __init__(self, url: str, proc: subprocess.Popen[str]) -> None:
        self.url = url
        self.proc = proc

    def counts(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/__bench__/counts", timeout=30) as resp:
            return json.loads(resp.read())  # type: ignore[no-any-return]


@contextmanager
def emulator(latency_ms: float, rate_limit: float = 0.0) -> Iterator[CountingEmulator]:
    cmd = [
        sys.executable,
        str(HERE / "counting_emulator.py"),
        f"--latency-ms={latency_ms}",
        f"--rate-limit={rate_limit}",
        f"--max-page-size={PAGE}",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=_env())
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        if not url.startswith("http"):
            raise SystemExit(f"the emulator did not start (said {url!r})")
        yield CountingEmulator(url, proc)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _env(url: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AEP_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["NO_COLOR"] = "1"
    env["BENCH_S3_ACCESS_KEY"] = "AKIABENCHMARKEXAMPLE"
    env["BENCH_S3_SECRET_KEY"] = "bench-secret-value-example"
    if url:
        env.update(CLIENT, AEP_PLATFORM_URL=url, AEP_IMS_URL=url, AEP_SANDBOX="prod")
    return env


def timed(cmd: Sequence[str], cwd: Path, env: dict[str, str], log: str) -> tuple[float, float]:
    """Run to completion; (wall seconds, peak RSS in MB of that process alone)."""
    with open(cwd / f"{log}.out", "w") as out, open(cwd / f"{log}.err", "w") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(list(cmd), cwd=cwd, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        tail = (cwd / f"{log}.err").read_text()[-2000:]
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode} in {cwd}:\n{tail}")
    return wall, usage.ru_maxrss / 1024


def measured(emu: CountingEmulator, cmd: Sequence[str], cwd: Path, log: str) -> Run:
    before = emu.counts()
    wall, rss = timed(cmd, cwd, _env(emu.url), log)
    after = emu.counts()
    counts = {k: after.get(k, 0) - before.get(k, 0) for k in after if isinstance(after[k], int)}
    counts["first_create"], counts["last_create"] = after["first_create"], after["last_create"]
    return Run(wall, counts.get("requests", 0), rss, counts=counts)


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "provisioner", *args]


# -- scenarios --------------------------------------------------------------------------------


def write_manifest(path: Path, n: int) -> None:
    lines = ["version: 1", "connections:"]
    for i in range(n):
        lines += [
            f"  c{i:05d}:",
            "    type: amazon-s3",
            f"    name: bench connection {i:05d}",
            f"    description: benchmark connection {i}",
            "    auth:",
            "      specName: Access Key",
            "      params:",
            "        s3AccessKey: ${env:BENCH_S3_ACCESS_KEY}",
            "        s3SecretKey: ${env:BENCH_S3_SECRET_KEY}",
            f"        bucketName: bench-bucket-{i:05d}",
        ]
    path.write_text("\n".join(lines) + "\n")


def tool_apply(emu: CountingEmulator, work: Path, parallelism: int, log: str = "apply") -> Run:
    bytes_file = work / f"{log}.state-bytes"
    cmd = [
        sys.executable,
        "-c",
        _COUNT_STATE_BYTES,
        str(bytes_file),
        "apply",
        "manifest.yaml",
        "--auto-approve",
        f"--parallelism={parallelism}",
    ]
    run = measured(emu, cmd, work, log)
    run.state_bytes = int(bytes_file.read_text())
    return run


def scenario(n: int, latency: float, parallelism: int, naive: bool, root: Path) -> list[Row]:
    work = root / f"n{n}"
    work.mkdir()
    write_manifest(work / "manifest.yaml", n)
    with emulator(latency) as emu:
        apply = tool_apply(emu, work, parallelism)
        plan = measured(emu, cli("plan", "manifest.yaml", "--detailed-exitcode"), work, "plan")
    naive_apply = naive_plan = None
    if naive:
        ids = str(work / "naive-ids.json")
        with emulator(latency) as emu:
            naive_apply = measured(
                emu,
                [sys.executable, str(HERE / "naive.py"), "apply", emu.url, "prod", str(n), ids],
                work,
                "naive-apply",
            )
            naive_plan = measured(
                emu,
                [sys.executable, str(HERE / "naive.py"), "plan", emu.url, "prod", str(n), ids],
                work,
                "naive-plan",
            )
    s = latency / 1000
    return [
        Row("plan", n, (1 + math.ceil(n / PAGE)) * s, plan, naive_plan),
        Row("apply", n, math.ceil(n / parallelism) * s, apply, naive_apply),
    ]


def startup(root: Path, repeat: int) -> dict[str, float]:
    work = root / "startup"
    work.mkdir()
    write_manifest(work / "manifest.yaml", 10)
    env = _env()
    out = {}
    for name, args in (("--help", ["--help"]), ("validate (10)", ["validate", "manifest.yaml"])):
        timed(cli(*args), work, env, "warm")  # compiled bytecode in place, files cached
        out[name] = statistics.median(timed(cli(*args), work, env, "s")[0] for _ in range(repeat))
    return out


def rate_limited(root: Path, latency: float, rate: float, n: int, parallelism: int) -> Run:
    work = root / f"rate{n}"
    work.mkdir()
    write_manifest(work / "manifest.yaml", n)
    with emulator(latency, rate) as emu:
        run = tool_apply(emu, work, parallelism)
        listed = measured(emu, cli("plan", "manifest.yaml", "--detailed-exitcode"), work, "plan")
    run.counts["plan_requests"] = listed.requests
    return run


# -- report -----------------------------------------------------------------------------------


def _mb(n: float) -> str:
    return f"{n / 1e6:.2f} MB"


def table(rows: list[Row]) -> list[str]:
    head = (
        f"{'':5} {'N':>5} | {'requests':>8} {'wall s':>7} {'bound s':>7} {'ratio':>6} "
        f"{'target s':>8} {'ok':>3} | {'naive req':>9} {'naive s':>8} {'ratio':>6} | notes"
    )
    out = [head, "-" * len(head)]
    for r in rows:
        target = 1.5 * r.bound + 0.5
        t = r.tool
        ok = "yes" if t.wall <= target else "NO"
        naive = (
            f"{r.naive.requests:>9} {r.naive.wall:>8.2f} {r.naive.wall / r.bound:>5.1f}x"
            if r.naive
            else f"{'-':>9} {'-':>8} {'-':>6}"
        )
        if r.op == "plan":
            note = f"peak RSS {t.rss_mb:.0f} MB"
        else:
            b = t.state_bytes or 0
            note = f"state writes {_mb(b)} ({b / r.n:.0f} B/conn)"
        out.append(
            f"{r.op:5} {r.n:>5} | {t.requests:>8} {t.wall:>7.2f} {r.bound:>7.2f} "
            f"{t.wall / r.bound:>5.1f}x {target:>8.2f} {ok:>3} | {naive} | {note}"
        )
    return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="provisioner's performance benchmark (see the module docstring)")
    p.add_argument("--quick", action="store_true", help="N up to 1000 only")
    p.add_argument("--sizes", help="comma-separated N (default 10,100,1000,5000)")
    p.add_argument("--latency-ms", type=float, default=20.0)
    p.add_argument("--parallelism", type=int, default=10)
    p.add_argument("--no-naive", action="store_true", help="skip the naive client")
    p.add_argument("--rate-limit", type=float, default=50.0, help="RPS of the rate-limit run")
    p.add_argument("--rate-n", type=int, default=500, help="creates in the rate-limit run")
    p.add_argument("--startup-runs", type=int, default=7)
    args = p.parse_args(argv)
    sizes = [
        int(s)
        for s in (args.sizes or ("10,100,1000" if args.quick else "10,100,1000,5000")).split(",")
    ]
    print(
        f"provisioner benchmark: emulator --latency-ms {args.latency_ms:g}, page size {PAGE}, "
        f"parallelism {args.parallelism}, {os.cpu_count()} CPUs, Python "
        f"{sys.version.split()[0]}",
        flush=True,
    )
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="provisioner-bench-") as tmp:
        root = Path(tmp)
        for n in sizes:
            print(f"  N={n} ...", file=sys.stderr, flush=True)
            rows += scenario(n, args.latency_ms, args.parallelism, not args.no_naive, root)
        print("  start-up ...", file=sys.stderr, flush=True)
        starts = startup(root, args.startup_runs)
        print(f"  rate limit {args.rate_limit:g} RPS ...", file=sys.stderr, flush=True)
        rate = rate_limited(root, args.latency_ms, args.rate_limit, args.rate_n, args.parallelism)
    print()
    for line in table(rows):
        print(line)
    print()
    for name, seconds in starts.items():
        print(
            f"start-up: provisioner {name}: {seconds:.3f} s median of {args.startup_runs} "
            f"(target < 0.3 s: {'yes' if seconds < 0.3 else 'NO'})"
        )
    c = rate.counts
    created = c.get("status_201", 0) or c.get("create", 0) - c.get("status_429", 0)
    window = (c["last_create"] or 0) - (c["first_create"] or 0)
    server_rate = (created - 1) / window if window > 0 else float("nan")
    wall_rate = created / rate.wall
    failed = args.rate_n - created
    print(
        f"rate limit: apply of {args.rate_n} at --rate-limit {args.rate_limit:g}, parallelism "
        f"{args.parallelism}: {created} created, {failed} failed, {c.get('status_429', 0)} "
        f"answered 429, {c.get('requests', 0)} requests, {rate.wall:.2f} s wall"
    )
    print(
        f"  {wall_rate:.1f} creates/s over the whole run = {wall_rate / args.rate_limit:.0%} of "
        f"the limit (target >= 90%: {'yes' if wall_rate >= 0.9 * args.rate_limit else 'NO'}); "
        f"{server_rate:.1f}/s from first to last create; a plan afterwards: "
        f"{c['plan_requests']} requests, no changes"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
