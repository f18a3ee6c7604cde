"""Console: where commands print, with colour only on a terminal and a yes/no prompt."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import TextIO

_CODES = {
    "green": "32",
    "yellow": "33",
    "red": "31",
    "cyan": "36",
    "magenta": "35",
    "bold": "1",
    "dim": "2",
}


def _wants_color(stream: TextIO, no_color: bool) -> bool:
    if no_color or os.environ.get("NO_COLOR"):  # no-color.org: only a non-empty value counts
        return False
    if os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


@dataclass
class Console:
    """Output for one command run. Commands print through it; core modules never print."""

    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    no_color: bool = False
    debug: bool = False

    def __post_init__(self) -> None:
        self.color = _wants_color(self.stdout, self.no_color)
        self.err_color = _wants_color(self.stderr, self.no_color)

    def style(self, text: str, *styles: str, stream: str = "out") -> str:
        enabled = self.color if stream == "out" else self.err_color
        if not enabled or not styles:
            return text
        codes = ";".join(_CODES[s] for s in styles)
        return f"\x1b[{codes}m{text}\x1b[0m"

    def out(self, text: str = "") -> None:
        self.stdout.write(_encodable(self.stdout, text) + "\n")
        self.stdout.flush()

    def err(self, text: str = "") -> None:
        self.stderr.write(_encodable(self.stderr, text) + "\n")
        self.stderr.flush()

    @property
    def interactive(self) -> bool:
        """True when a person can answer a prompt (stdin is a terminal)."""
        isatty = getattr(self.stdin, "isatty", None)
        return bool(isatty and isatty())

    def confirm(self, question: str) -> bool:
        """Ask for the literal answer "yes", Terraform-style. Only call when interactive."""
        self.stdout.write(question + "\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ")
        self.stdout.flush()
        answer = self.stdin.readline()
        self.out()
        return answer.strip() == "yes"


def _encodable(stream: TextIO, text: str) -> str:
    """`text`, with what the stream cannot encode (an argument that was not UTF-8) escaped."""
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return text.encode(encoding, "backslashreplace").decode(encoding)
    except LookupError:
        pass
    return text
