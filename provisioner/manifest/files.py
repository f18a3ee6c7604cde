"""Finding manifest files from the paths a user gave, and reading them safely as UTF-8 text."""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence

from provisioner.errors import Problem, ProvisionerError
from provisioner.render import escape

MAX_BYTES = 5 * 1024 * 1024
SUFFIXES = (".yaml", ".yml")


class ManifestPathError(ProvisionerError):
    """A path given on the command line is not a manifest file or a directory holding some."""


def discover(paths: Sequence[str]) -> list[str]:
    """The manifest files, in order: files as given, directories' *.yaml/*.yml sorted by name.

    Names stay as the user wrote them (a directory's files are joined onto it); a file reached
    twice is read once.
    """
    found: list[str] = []
    seen: set[str] = set()
    for given in list(paths) or ["."]:
        if os.path.isdir(given):
            names = sorted(
                n
                for n in os.listdir(given)
                if n.endswith(SUFFIXES)
                and not n.startswith(".")
                and os.path.isfile(os.path.join(given, n))
            )
            if not names:
                where = "the current directory" if given in (".", "./") else f"'{given}'"
                raise ManifestPathError(
                    f"no manifests found: {where} holds no *.yaml or *.yml file; give manifest "
                    "files or a directory holding them."
                )
            candidates = [n if given in (".", "./") else os.path.join(given, n) for n in names]
        elif os.path.isfile(given):
            candidates = [given]
        elif os.path.exists(given):
            raise ManifestPathError(
                f"'{given}' is neither a file nor a directory; give manifest files "
                "(*.yaml, *.yml) or directories holding them."
            )
        else:
            raise ManifestPathError(
                f"'{given}' does not exist; give manifest files (*.yaml, *.yml) or "
                "directories holding them."
            )
        tree = os.path.realpath(given if os.path.isdir(given) else os.path.dirname(given) or ".")
        for name in candidates:
            real = os.path.realpath(name)
            _refuse_outside(name, real, tree, given)
            if real not in seen:
                seen.add(real)
                found.append(name)
    return found


def _refuse_outside(name: str, real: str, tree: str, given: str) -> None:
    """A manifest is a regular file inside the tree of the path given: a symbolic link may
    point within it, never out of it (a pull request could link to /etc/shadow)."""
    if os.path.commonpath([tree, real]) != tree:
        where = "its directory" if not os.path.isdir(given) else f"'{escape.plain(given)}'"
        raise ManifestPathError(
            f"'{escape.plain(name)}' is a symbolic link that leads out of {where}; a manifest "
            "must be a regular file inside the paths given, so copy the file there instead."
        )


def read(name: str) -> tuple[bytes, Problem | None]:
    """The file's bytes (at most MAX_BYTES + 1) or the problem that stops it being read."""
    try:
        with open(name, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):  # replaced since it was found
                return b"", Problem(
                    name, 1, 1, "", "this is not a regular file; give a manifest file."
                )
            data = f.read(MAX_BYTES + 1)
            if len(data) > MAX_BYTES:
                size = os.fstat(f.fileno()).st_size
                return data, Problem(
                    name,
                    1,
                    1,
                    "",
                    f"the file is {size / 1024 / 1024:.1f} MB, more than the "
                    f"{MAX_BYTES // 1024 // 1024} MB a manifest may be; split it into several files.",
                )
    except OSError as exc:
        return b"", Problem(
            name, 1, 1, "", f"the file cannot be read ({exc.strerror}); check its permissions."
        )
    return data, None


def decode(name: str, data: bytes) -> tuple[str, Problem | None]:
    """The text of a UTF-8 file (a leading BOM dropped), or where its first bad byte is."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        start = exc.start
        line_start = data.rfind(b"\n", 0, start) + 1
        line = data.count(b"\n", 0, start) + 1
        column = len(data[line_start:start].decode("utf-8", "replace")) + 1
        return "", Problem(
            name,
            line,
            column,
            "",
            f"the file is not UTF-8 text (the byte 0x{data[start]:02x} here cannot be read); "
            "save it as UTF-8.",
        )
    return text.removeprefix("\ufeff"), None
