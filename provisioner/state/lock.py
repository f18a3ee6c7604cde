"""The state lock: `<state>.lock`, created exclusively, naming its holder (pid, host, command, start)."""

from __future__ import annotations

import json
import os
import secrets
import shlex
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from provisioner.errors import LockError, StateError
from provisioner.state.files import fsync_dir, write_all

DEFAULT_STATE = "provisioner.state.json"
POLL_INTERVAL = 0.1


@dataclass(frozen=True)
class LockInfo:
    """Who holds a lock. `problem` is set (and the rest empty) when the lock file is unreadable."""

    pid: int
    host: str
    command: str
    started: str
    id: str = ""
    problem: str = ""
    user: str = ""  # remote locks also say who and where (a CI job, a working directory)
    where: str = ""

    def describe(self) -> str:
        if self.problem:
            return f"an unknown run (its lock file cannot be read: {self.problem})"
        who = f"user {self.user}, " if self.user else ""
        where = f", in {self.where}" if self.where else ""
        return (
            f"'{self.command}' ({who}pid {self.pid} on host {self.host}{where}, "
            f"since {self.started})"
        )

    @property
    def on_this_host(self) -> bool:
        return not self.problem and self.host == socket.gethostname()

    def is_stale(self) -> bool:
        """True only when we can tell: the holder ran on this host and its pid no longer runs."""
        return self.on_this_host and not pid_alive(self.pid)


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if os.name == "nt":  # os.kill(pid, 0) would terminate the process there; assume alive.
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, under another user
        return True
    try:  # a zombie (killed, not yet reaped) no longer runs
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return True


def lock_path(state_path: str | Path) -> Path:
    return Path(f"{state_path}.lock")


def unlock_command(state_path: str | Path) -> str:
    """The force-unlock command line for this state, to quote inside '...' in a message."""
    name = str(state_path)
    if name == DEFAULT_STATE:
        return "provisioner force-unlock"
    if shlex.quote(name) != name:  # double quotes: the message already wraps it in single ones
        name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"provisioner force-unlock --state {name}"


def _parse(text: str) -> LockInfo:
    try:
        doc = json.loads(text)
    except ValueError:
        return LockInfo(0, "", "", "", problem="it is not JSON")
    if not isinstance(doc, dict):
        return LockInfo(0, "", "", "", problem="it is not a JSON object")
    pid, host, command, started = (doc.get(k) for k in ("pid", "host", "command", "started"))
    if not (type(pid) is int and isinstance(host, str) and isinstance(command, str)):
        return LockInfo(0, "", "", "", problem="it lacks pid, host or command")
    user, where = doc.get("user"), doc.get("where")
    return LockInfo(
        pid,
        host,
        command,
        str(started or "?"),
        id=str(doc.get("id") or ""),
        user=user if isinstance(user, str) else "",
        where=where if isinstance(where, str) else "",
    )


def parse(text: str) -> LockInfo:
    """A lock's content read back (LockInfo.problem says why when it is not a lock)."""
    return _parse(text)


def encode(info: LockInfo) -> bytes:
    doc = {k: v for k, v in asdict(info).items() if k != "problem" and v != ""}
    return (json.dumps(doc, sort_keys=True) + "\n").encode()


def lock_info(state_path: str | Path) -> LockInfo | None:
    """The holder of the state's lock, or None if it is not locked."""
    path = lock_path(state_path)
    for _ in range(5):
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return None
        except OSError as exc:
            return LockInfo(0, "", "", "", problem=exc.strerror or type(exc).__name__)
        info = _parse(text)
        if not info.problem:
            return info
        time.sleep(0.02)  # possibly being written right now by the O_EXCL fallback
    return info


def _create(path: Path, info: LockInfo) -> None:
    """Create `path` holding `info`, failing with FileExistsError if it exists.

    The content goes to a temp file first and is hard-linked into place, so the lock file
    appears whole: a reader never sees it half-written. Where hard links are not supported,
    O_CREAT|O_EXCL does the same job with a short window of an empty file.
    """
    data = encode(info)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise
        except OSError:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            try:
                write_all(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(path.parent)


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def seconds(value: float) -> str:
    return f"{value:g} second{'' if value == 1 else 's'}"


def acquire(
    state_path: str | Path,
    command: str,
    timeout: float = 0.0,
    on_wait: Callable[[LockInfo], None] | None = None,
) -> LockInfo:
    """Take the lock, waiting up to `timeout` seconds; LockError naming the holder otherwise.

    A stale lock (its holder ran on this host and is gone) is refused at once, as Terraform
    does: only a person should decide to break a lock, with force-unlock.
    """
    name = str(state_path)
    path = lock_path(state_path)
    mine = LockInfo(
        pid=os.getpid(),
        host=socket.gethostname(),
        command=command,
        started=now(),
        id=secrets.token_hex(8),
    )
    deadline = time.monotonic() + timeout
    announced = False
    unlock = unlock_command(state_path)
    while True:
        try:
            _create(path, mine)
            return mine
        except FileExistsError:
            pass
        except FileNotFoundError:
            raise StateError(
                f"cannot lock the state {name}: the directory {path.parent} does not exist; "
                "create it or choose another --state"
            ) from None
        except OSError as exc:
            raise StateError(
                f"cannot create the lock file {path} ({exc.strerror}); check the permissions "
                "of its directory"
            ) from None
        holder = lock_info(state_path)
        if holder is None:
            continue  # released between our attempt and our look: try again at once
        if holder.is_stale():
            raise LockError(
                f"the state {name} is locked by a stale lock left by a process that no longer "
                f"runs: {holder.describe()}; run '{unlock}' to remove it, then run again"
            )
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            if timeout > 0:
                raise LockError(
                    f"the state {name} is still locked after {seconds(timeout)} by "
                    f"{holder.describe()}; wait for it to finish, retry with a longer "
                    f"--lock-timeout, or run '{unlock}' if that process is gone"
                )
            raise LockError(
                f"the state {name} is locked by {holder.describe()}; wait for it to finish, "
                f"retry with --lock-timeout SECONDS, or run '{unlock}' if that process is gone"
            )
        if on_wait is not None and not announced:
            on_wait(holder)
            announced = True
        time.sleep(min(POLL_INTERVAL, remaining))


def release(state_path: str | Path, mine: LockInfo) -> None:
    """Remove the lock if it is still ours (someone may have force-unlocked and relocked)."""
    holder = lock_info(state_path)
    if holder is not None and holder.id == mine.id and holder.pid == mine.pid:
        remove_lock(state_path)


def remove_lock(state_path: str | Path, expected: LockInfo | None = None) -> bool:
    """Delete the lock file; with `expected`, only if it still names that holder. True if removed."""
    path = lock_path(state_path)
    if expected is not None and lock_info(state_path) != expected:
        return False
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    fsync_dir(path.parent)
    return True


@contextmanager
def hold(
    state_path: str | Path,
    command: str,
    timeout: float = 0.0,
    on_wait: Callable[[LockInfo], None] | None = None,
) -> Iterator[LockInfo]:
    """`with hold(path, "apply"):` holds the lock for the block, released however it ends."""
    mine = acquire(state_path, command, timeout, on_wait)
    try:
        yield mine
    finally:
        release(state_path, mine)
