"""Each manifest file read, parsed and checked on its own, on more than one core when it pays.

    Parsing.start(names, environ, resolve_env) -> Parsing   (forks at most one helper per core)
    parsing.take(names, environ, resolve_env) -> [OneFile for each name, in order]

One file's outcome (`one_file`) depends only on its bytes, the environment and resolve_env,
so files can be parsed anywhere and put back in order: the outcome is the same as parsing
them one after the other here. On Linux with two or more cores, and only while this process
runs no other thread (a fork copies only the thread that forks), `start` forks copies of this
process that each parse a share of the files and send back what they found; this process
parses the rest meanwhile. A helper that fails, dies or takes far longer than this process
took for its own share is killed, and its files are parsed here instead. Each process (this
one and every helper) gets at least MIN_BYTES of files: below twice that in all, nothing is
forked (a fork and the transfer would cost more than they save).

What crosses the pipe is a pickle made with a dispatch table of its own: it carries the
resolved `Secret`s, which refuse any other pickling. The pipe is private to this process and
its own fork.
"""

from __future__ import annotations

import io
import logging
import os
import select
import signal
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Self

from provisioner import interrupts
from provisioner.errors import Problem
from provisioner.manifest import checks, yamltree
from provisioner.manifest import files as _files
from provisioner.secrets import Secret

# The least bytes of manifests a process is given: for less, a fork and the transfer cost more
# than they save (2000 connections of the benchmark's shape are 0.6 MB, parsed and checked in
# about 0.15 s).
MIN_BYTES = 256 * 1024
# This process also answers the reads started beside it and unpickles the helpers' outcome:
# its own share is sized as if its bytes weighed this much more.
_OWN_WEIGHT = 1.3
# A helper may take this long, plus this many times what this process took per byte of its
# own share, before it is taken to be stuck.
_GRACE_S = 10.0
_SLOWER = 4.0

log = logging.getLogger("provisioner.manifest")


@dataclass(frozen=True)
class OneFile:
    """One file: its bytes, the problems that kept it from being checked (reading, decoding,
    YAML), and what the checks found (None when it could not be parsed far enough)."""

    data: bytes
    problems: tuple[Problem, ...]
    checked: checks.Checked | None


def one_file(name: str, environ: Mapping[str, str], resolve_env: bool) -> OneFile:
    data, trouble = _files.read(name)
    if trouble is None:
        text, trouble = _files.decode(name, data)
    if trouble is not None:
        return OneFile(data, (trouble,), None)
    tree, tree_problems = yamltree.parse(text)
    problems = tuple(
        Problem(name, p.line, p.column, checks.format_path(p.path), p.message)
        for p in tree_problems
    )
    if not tree.complete or (tree.empty and tree_problems):
        return OneFile(data, problems, None)
    return OneFile(
        data, problems, checks.check_file(name, tree, environ=environ, resolve_env=resolve_env)
    )


def _secret(value: Secret) -> tuple[type[Secret], tuple[str]]:
    return Secret, (value.reveal(),)


def _dumps(outcome: list[OneFile]) -> bytes:
    import copyreg
    import pickle  # here: only a helper and its collector need it

    out = io.BytesIO()
    pickler = pickle.Pickler(out, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = {**copyreg.dispatch_table, Secret: _secret}
    pickler.dump(outcome)
    return out.getvalue()


@dataclass
class _Helper:
    pid: int
    fd: int
    indexes: list[int]  # of the names it parses
    size: int  # their bytes


class Parsing:
    """Files being parsed: the shares forked to helpers, and the rest, parsed by `take`."""

    def __init__(
        self,
        names: Sequence[str],
        environ: Mapping[str, str],
        resolve_env: bool,
        helpers: list[_Helper],
    ) -> None:
        self.names = list(names)
        self.environ = environ
        self.resolve_env = resolve_env
        self.helpers = helpers

    @classmethod
    def start(cls, names: Sequence[str], environ: Mapping[str, str], resolve_env: bool) -> Parsing:
        helpers: list[_Helper] = []
        try:
            for indexes, size in _shares(names):
                # A Ctrl-C between the fork and this record would leave a helper untracked.
                with interrupts.deferred():
                    made = _fork([names[i] for i in indexes], environ, resolve_env)
                    if made is not None:
                        helpers.append(_Helper(made[0], made[1], indexes, size))
                if made is None:
                    break
                log.debug("a forked helper parses %d of %d manifest files", len(indexes), len(names))
        except BaseException:
            for helper in helpers:
                _end(helper)
            raise
        return cls(names, environ, resolve_env, helpers)

    def take(
        self, names: Sequence[str], environ: Mapping[str, str], resolve_env: bool
    ) -> list[OneFile]:
        """Every file's outcome, in the order of `names`. Shares parsed ahead are used only
        for the same files, environment and resolve_env they were started with (and once)."""
        if list(names) != self.names or environ != self.environ or resolve_env != self.resolve_env:
            self.close()
        helpers, self.helpers = self.helpers, []
        try:
            theirs = {i for h in helpers for i in h.indexes}
            out: list[OneFile | None] = [None] * len(names)
            started = time.monotonic()
            own = 0
            for i, name in enumerate(names):
                if i not in theirs:
                    one = out[i] = one_file(name, environ, resolve_env)
                    own += len(one.data)
            per_byte = (time.monotonic() - started) / max(own, 1)
            for helper in helpers:
                wait = _GRACE_S + _SLOWER * per_byte * helper.size
                found = _collect(helper, time.monotonic() + wait)
                _end(helper)
                if found is None:
                    log.debug(
                        "a helper failed or took over %.1f s: its files are parsed here", wait
                    )
                for n, i in enumerate(helper.indexes):
                    out[i] = (
                        found[n] if found is not None else one_file(names[i], environ, resolve_env)
                    )
        finally:
            for helper in helpers:
                _end(helper)
        return [one for one in out if one is not None]

    def close(self) -> None:
        """Stop the helpers not yet collected (their files are then parsed by `take`)."""
        helpers, self.helpers = self.helpers, []
        for helper in helpers:
            _end(helper)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _shares(names: Sequence[str]) -> list[tuple[list[int], int]]:
    """The files each helper parses (by index) and their bytes; none when it does not pay or a
    fork is not safe here."""
    if sys.platform != "linux" or len(names) < 2 or threading.active_count() > 1:
        return []
    try:
        cores = len(os.sched_getaffinity(0))
        sizes = [os.stat(name).st_size for name in names]
    except OSError:
        return []
    total = sum(sizes)
    processes = min(cores, len(names), total // MIN_BYTES)
    if processes < 2:
        return []
    # The largest file first, each to the least loaded; this process is bin 0.
    loads = [0] * processes
    bins: list[list[int]] = [[] for _ in range(processes)]
    for i in sorted(range(len(names)), key=lambda i: -sizes[i]):
        weighed = [load * (_OWN_WEIGHT if b == 0 else 1.0) for b, load in enumerate(loads)]
        b = min(range(processes), key=lambda b: (weighed[b], b == 0))
        loads[b] += sizes[i]
        bins[b].append(i)
    return [(sorted(share), loads[b]) for b, share in enumerate(bins) if b and share]


def _fork(
    names: list[str], environ: Mapping[str, str], resolve_env: bool
) -> tuple[int, int] | None:
    """(pid, read end of its pipe) of a helper parsing `names`; None if it cannot be made."""
    try:
        read_end, write_end = os.pipe()
    except OSError:
        return None
    try:
        pid = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        return None
    if pid == 0:  # the helper: never returns
        status = 1
        try:
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.close(read_end)
            payload = memoryview(_dumps([one_file(n, environ, resolve_env) for n in names]))
            while payload:
                payload = payload[os.write(write_end, payload) :]
            status = 0
        except BaseException:  # noqa: BLE001, S110 (the parent parses these files itself)
            pass
        finally:
            os._exit(status)
    os.close(write_end)
    return pid, read_end


def _collect(helper: _Helper, deadline: float) -> list[OneFile] | None:
    """The helper's outcome; None if it failed, died or missed the deadline."""
    chunks: list[bytes] = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([helper.fd], [], [], left)[0]:
            return None
        chunk = os.read(helper.fd, 1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
    _, status = os.waitpid(helper.pid, 0)
    helper.pid = 0
    if os.waitstatus_to_exitcode(status) != 0:
        return None
    import pickle

    try:
        outcome = pickle.loads(b"".join(chunks))
    except Exception:  # noqa: BLE001 (the parent parses these files itself)
        return None
    if not (isinstance(outcome, list) and len(outcome) == len(helper.indexes)):
        return None
    return outcome


def _end(helper: _Helper) -> None:
    """Close the pipe; kill and reap the helper if it still runs."""
    if helper.fd >= 0:
        os.close(helper.fd)
        helper.fd = -1
    if helper.pid:
        try:
            os.kill(helper.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(helper.pid, 0)
        helper.pid = 0
