"""Durable file writes: temp file in the same directory, fsync, rename, fsync the directory."""

from __future__ import annotations

import glob
import os
import secrets
from collections.abc import Callable
from pathlib import Path


def fsync_dir(directory: Path) -> None:
    """Make a rename or unlink in `directory` durable (a no-op where directories can't be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def sweep_temp_files(path: Path, alive: Callable[[int], bool]) -> None:
    """Remove temp files of `path` (and its companions) left by processes killed mid-write."""
    for tmp in path.parent.glob(f".{glob.escape(path.name)}*.tmp"):
        try:
            pid = int(tmp.name[: -len(".tmp")].rsplit(".", 2)[-2])
        except (ValueError, IndexError):
            continue
        if not alive(pid):
            tmp.unlink(missing_ok=True)


def atomic_write(path: Path, data: bytes, *, follow_symlink: bool = True) -> None:
    """Replace `path` with `data` so that a crash leaves either the old or the new file whole.

    A symlink at `path` is written through only with `follow_symlink` (the state file itself);
    a companion file (`.backup`) never is: the rename replaces the link with a regular file.
    """
    if follow_symlink and path.is_symlink():
        # Write where the link points (a state kept on a shared volume): the rename would
        # otherwise replace the link with a copy, and the target would silently go stale.
        path = Path(os.path.realpath(path))
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        try:
            write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
