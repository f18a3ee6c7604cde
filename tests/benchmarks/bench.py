"""The performance benchmark (docs/performance.md): provisioner against the round-trip bound and a naive client.

    python tests/benchmarks/bench.py            # every case, 3 runs per cell (about 15 minutes)
    python tests/benchmarks/bench.py --quick    # N up to 1000 at 20 ms, 150 ms and the chain

Everything runs as real processes: the emulator (tests/benchmarks/counting_emulator.py, the real
emulator plus a request counter, in its own process), the real CLI (`python -m provisioner`, with
AEP_* pointing at it, bytecode compiled first) and the naive client (tests/benchmarks/naive.py).
Requests are counted by the emulator, so retries and token exchanges are included whoever sends
them. Every cell is the min and the median of --runs runs (default 3).

Bounds (page size 100): plan = (1 token + ceil(N/100) listing calls) x latency, the sequential
paging bound; apply = ceil(N/10) x latency, the bound of the old fixed 10 lanes.
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
MANIFEST = "manifest"  # the directory of manifest files in each scenario's work directory
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
    tool: list[Run]
    naive: list[Run] | None
    latency: float = 20.0


def wall_min(runs: list[Run]) -> float:
    return min(r.wall for r in runs)


def wall_median(runs: list[Run]) -> float:
    return statistics.median(r.wall for r in runs)


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


PER_FILE = 2000  # connections per manifest file (a file may hold at most 5 MB)


def write_manifest(path: Path, n: int) -> None:
    """N connections in `path`, a directory of manifest files of PER_FILE connections each."""
    path.mkdir(exist_ok=True)
    for first in range(0, max(n, 1), PER_FILE):
        lines = ["version: 1", "connections:"]
        for i in range(first, min(n, first + PER_FILE)):
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
        (path / f"part{first // PER_FILE:03d}.yaml").write_text("\n".join(lines) + "\n")


def tool_apply(emu: CountingEmulator, work: Path, parallelism: int, log: str = "apply") -> Run:
    bytes_file = work / f"{log}.state-bytes"
    cmd = [
        sys.executable,
        "-c",
        _COUNT_STATE_BYTES,
        str(bytes_file),
        "apply",
        MANIFEST,
        "--auto-approve",
        f"--parallelism={parallelism}",
    ]
    run = measured(emu, cmd, work, log)
    run.state_bytes = int(bytes_file.read_text())
    return run


def scenario(
    n: int, latency: float, parallelism: int, naive: bool, root: Path, runs: int, apply_cell: bool
) -> list[Row]:
    """Apply N from empty (`runs` times, each in a fresh emulator), then plan with nothing to
    change (`runs` times, against the last apply's emulator and state)."""
    applies: list[Run] = []
    plans: list[Run] = []
    for r in range(runs if apply_cell else 1):
        work = root / f"n{n}-{latency:g}ms-{r}"
        work.mkdir()
        write_manifest(work / "manifest", n)
        with emulator(latency) as emu:
            applies.append(tool_apply(emu, work, parallelism))
            if r == (runs - 1 if apply_cell else 0):
                for p in range(runs):
                    plans.append(
                        measured(emu, cli("plan", MANIFEST, "--detailed-exitcode"), work, f"plan{p}")
                    )
    naive_apply: list[Run] | None = None
    naive_plan: list[Run] | None = None
    if naive:
        naive_apply, naive_plan = [], []
        for r in range(runs):
            work = root / f"naive{n}-{latency:g}ms-{r}"
            work.mkdir()
            ids = str(work / "naive-ids.json")
            with emulator(latency) as emu:
                naive_apply.append(measured(
                    emu,
                    [sys.executable, str(HERE / "naive.py"), "apply", emu.url, "prod", str(n), ids],
                    work,
                    "naive-apply",
                ))
                naive_plan.append(measured(
                    emu,
                    [sys.executable, str(HERE / "naive.py"), "plan", emu.url, "prod", str(n), ids],
                    work,
                    "naive-plan",
                ))
    s = latency / 1000
    rows = [Row("plan", n, (1 + math.ceil(n / PAGE)) * s, plans, naive_plan, latency)]
    if apply_cell:
        rows.append(Row("apply", n, math.ceil(n / 10) * s, applies, naive_apply, latency))
    return rows


def write_chain(path: Path, flows: int) -> None:
    """One base connection and dataset, and `flows` sources, targets and dataflows (each with
    its mapping set): the ingestion chain at scale."""
    lines = [
        "version: 1",
        "sandbox: prod",
        "connections:",
        "  landing:",
        "    type: amazon-s3",
        "    name: Bench landing bucket",
        "    auth:",
        "      specName: Access Key",
        "      params:",
        "        s3AccessKey: ${env:BENCH_S3_ACCESS_KEY}",
        "        s3SecretKey: ${env:BENCH_S3_SECRET_KEY}",
        "        bucketName: acme-marketing",
        "datasets:",
        "  events:",
        "    name: Campaign events",
        "sources:",
    ]
    for i in range(flows):
        lines += [
            f"  src{i:04d}:",
            "    type: amazon-s3",
            "    connection: landing",
            f"    name: bench source {i:04d}",
            "    path: /acme-marketing/exports/*.csv",
            "    format: delimited",
            '    delimiter: ","',
        ]
    lines.append("targets:")
    for i in range(flows):
        lines += [
            f"  dst{i:04d}:",
            "    type: data-lake",
            f"    name: bench target {i:04d}",
            "    dataset: events",
        ]
    lines.append("dataflows:")
    for i in range(flows):
        lines += [
            f"  flow{i:04d}:",
            f"    name: bench flow {i:04d}",
            f"    source: src{i:04d}",
            f"    target: dst{i:04d}",
            "    mapping:",
            "      - {source: email, destination: personalEmail.address}",
            "      - {source: first, destination: person.name.firstName}",
            '    schedule: {frequency: hour, interval: 1, start: "2026-12-01T00:00:00Z"}',
            "    enabled: false",
        ]
    path.write_text("\n".join(lines) + "\n")


def chain(flows: int, latency: float, parallelism: int, root: Path, runs: int) -> list[Row]:
    """The chain of `flows` dataflows: apply from empty, then plan with nothing to change."""
    applies: list[Run] = []
    plans: list[Run] = []
    for r in range(runs):
        work = root / f"chain{flows}-{r}"
        work.mkdir()
        (work / MANIFEST).mkdir()
        write_chain(work / MANIFEST / "chain.yaml", flows)
        with emulator(latency) as emu:
            applies.append(tool_apply(emu, work, parallelism))
            if r == runs - 1:
                for p in range(runs):
                    plans.append(
                        measured(emu, cli("plan", MANIFEST, "--detailed-exitcode"), work, f"plan{p}")
                    )
    s = latency / 1000
    items = 1 + 4 * flows  # connection, and per flow: source, target, mapping set, flow
    # plan bound: token, the dataset look-up, and one page per 100 items of each collection
    plan_bound = (2 + 4 * math.ceil(flows / PAGE) + 1) * s
    return [
        Row("plan", flows, plan_bound, plans, None, latency),
        Row("apply", flows, math.ceil(items / 10) * s, applies, None, latency),
    ]


def startup(root: Path, repeat: int) -> dict[str, float]:
    work = root / "startup"
    work.mkdir()
    write_manifest(work / MANIFEST, 10)
    env = _env()
    out = {}
    for name, args in (("--help", ["--help"]), ("validate (10)", ["validate", MANIFEST])):
        timed(cli(*args), work, env, "warm")  # compiled bytecode in place, files cached
        out[name] = statistics.median(timed(cli(*args), work, env, "s")[0] for _ in range(repeat))
    return out


def rate_limited(
    root: Path, latency: float, rate: float, n: int, parallelism: int, runs: int
) -> list[Run]:
    out: list[Run] = []
    for r in range(runs):
        work = root / f"rate{n}-{r}"
        work.mkdir()
        write_manifest(work / "manifest", n)
        with emulator(latency, rate) as emu:
            run = tool_apply(emu, work, parallelism)
            listed = measured(emu, cli("plan", MANIFEST, "--detailed-exitcode"), work, "plan")
        run.counts["plan_requests"] = listed.requests
        out.append(run)
    return out


# -- report -----------------------------------------------------------------------------------


def _mb(n: float) -> str:
    return f"{n / 1e6:.2f} MB"


def table(rows: list[Row]) -> list[str]:
    head = (
        f"{'':5} {'N':>5} {'lat':>6} | {'requests':>8} {'min s':>6} {'med s':>6} {'bound s':>7} "
        f"{'ratio':>6} | {'naive req':>9} {'naive med':>9} | notes"
    )
    out = [head, "-" * len(head)]
    for r in rows:
        t = r.tool
        med = wall_median(t)
        naive = (
            f"{r.naive[-1].requests:>9} {wall_median(r.naive):>9.2f}"
            if r.naive
            else f"{'-':>9} {'-':>9}"
        )
        last = t[-1]
        if r.op == "plan":
            note = f"peak RSS {last.rss_mb:.0f} MB"
        else:
            b = last.state_bytes or 0
            note = f"state writes {_mb(b)}"
        out.append(
            f"{r.op:5} {r.n:>5} {r.latency:>4g}ms | {last.requests:>8} {wall_min(t):>6.2f} "
            f"{med:>6.2f} {r.bound:>7.2f} {med / r.bound:>5.1f}x | {naive} | {note}"
        )
    return out


def _shown(rows: list[Row]) -> list[Row]:
    """The rows, also printed to stderr as soon as they are measured."""
    for line in table(rows)[2:]:
        print("   ", line, file=sys.stderr, flush=True)
    return rows


def _ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v]


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="provisioner's performance benchmark (see the module docstring)")
    p.add_argument("--quick", action="store_true", help="N up to 1000, no N=5000/20000 cells")
    p.add_argument("--sizes", help="N with plan and apply cells at 20 ms (default 10,100,1000,5000)")
    p.add_argument("--plan-sizes", help="N with a plan cell only at 20 ms (default 20000)")
    p.add_argument("--slow-sizes", help="N with plan and apply cells at --slow-ms (default 500)")
    p.add_argument("--naive-sizes", help="N the naive client also runs (default 10,100,1000)")
    p.add_argument("--chain-flows", type=int, default=200, help="dataflows of the chain case (0: none)")
    p.add_argument("--latency-ms", type=float, default=20.0)
    p.add_argument("--slow-ms", type=float, default=150.0, help="the Adobe-like latency")
    p.add_argument("--runs", type=int, default=3, help="runs per cell (min and median shown)")
    p.add_argument("--parallelism", type=int, default=64, help="apply's --parallelism (maximum)")
    p.add_argument("--rate-limit", type=float, default=20.0, help="RPS of the rate-limit run")
    p.add_argument("--rate-n", type=int, default=500, help="creates in the rate-limit run")
    p.add_argument("--startup-runs", type=int, default=7)
    args = p.parse_args(argv)
    if args.runs < 1:
        p.error("--runs must be at least 1")
    default_sizes = "10,100,1000" if args.quick else "10,100,1000,5000"
    sizes = _ints(args.sizes if args.sizes is not None else default_sizes)  # "": none
    plan_sizes = _ints(args.plan_sizes if args.plan_sizes is not None else ("" if args.quick else "20000"))
    slow_sizes = _ints(args.slow_sizes if args.slow_sizes is not None else "500")
    naive_sizes = set(_ints(args.naive_sizes if args.naive_sizes is not None else "10,100,1000"))
    # Compiled once, as an installed copy would be (the environment may say not to write them).
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(REPO / "provisioner")], check=True,
        env={k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
    )
    print(
        f"provisioner benchmark: page size {PAGE}, apply --parallelism {args.parallelism}, "
        f"{args.runs} runs per cell, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}",
        flush=True,
    )
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="provisioner-bench-") as tmp:
        root = Path(tmp)
        for n in sizes:
            print(f"  N={n} at {args.latency_ms:g} ms ...", file=sys.stderr, flush=True)
            rows += _shown(scenario(
                n, args.latency_ms, args.parallelism, n in naive_sizes, root, args.runs, True
            ))
        for n in plan_sizes:
            print(f"  N={n} at {args.latency_ms:g} ms (plan) ...", file=sys.stderr, flush=True)
            rows += _shown(
                scenario(n, args.latency_ms, args.parallelism, False, root, args.runs, False)
            )
        for n in slow_sizes:
            print(f"  N={n} at {args.slow_ms:g} ms ...", file=sys.stderr, flush=True)
            rows += _shown(scenario(
                n, args.slow_ms, args.parallelism, n in naive_sizes, root, args.runs, True
            ))
        chain_rows: list[Row] = []
        if args.chain_flows:
            print(f"  chain of {args.chain_flows} flows ...", file=sys.stderr, flush=True)
            chain_rows = _shown(
                chain(args.chain_flows, args.latency_ms, args.parallelism, root, args.runs)
            )
        print("  start-up ...", file=sys.stderr, flush=True)
        starts = startup(root, args.startup_runs)
        rates: list[Run] = []
        if args.rate_n > 0:  # --rate-n 0: no rate-limit run
            print(f"  rate limit {args.rate_limit:g} RPS ...", file=sys.stderr, flush=True)
            rates = rate_limited(
                root, args.slow_ms, args.rate_limit, args.rate_n, args.parallelism, args.runs
            )
    print()
    for line in table(rows):
        print(line)
    if chain_rows:
        print()
        print(f"chain of {args.chain_flows} dataflows (1 connection, 1 dataset; per flow a source, "
              "a target, a mapping set and the flow):")
        for line in table(chain_rows)[2:]:
            print(line)
    print()
    for name, seconds in starts.items():
        print(
            f"start-up: provisioner {name}: {seconds:.3f} s median of {args.startup_runs} "
            f"(target < 0.3 s: {'yes' if seconds < 0.3 else 'NO'})"
        )
    if rates:
        print(
            f"rate limit: apply of {args.rate_n} at --rate-limit {args.rate_limit:g}, "
            f"{args.slow_ms:g} ms, --parallelism {args.parallelism}, {args.runs} runs:"
        )
    for rate in rates:
        c = rate.counts
        created = c.get("status_201", 0)
        window = (c["last_create"] or 0) - (c["first_create"] or 0)
        server_rate = (created - 1) / window if window > 0 else float("nan")
        wall_rate = created / rate.wall
        print(
            f"  {created} created, {args.rate_n - created} failed, {c.get('status_429', 0)} "
            f"answered 429, {c.get('requests', 0)} requests, {rate.wall:.2f} s wall, "
            f"{wall_rate:.1f}/s = {wall_rate / args.rate_limit:.0%} of the limit over the whole "
            f"run, {server_rate / args.rate_limit:.0%} first to last create; a plan afterwards: "
            f"{c['plan_requests']} requests"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
