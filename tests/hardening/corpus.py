"""The hostile corpus: strings that try to inject into a terminal, a plan or a PR comment."""

from __future__ import annotations

HOSTILE = [
    "ansi \x1b[31mred\x1b[0m and \x1b[2J\x1b[H clear",
    "osc8 \x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\",
    "title \x1b]0;owned\x07 bell \x07",
    "c0 \x00\x01\x08 backspace\x7f del",
    "c1 \x9b31m csi \x85 nel",
    "bidi \u202eexe.txt\u202c \u2066iso\u2069 \u200f",
    "zero\u200bwidth \ufeff bom \U000e0041 tag",
    'line\nForged:   + connection "evil" {',
    "carriage\roverwrite \u2028 sep",
    "Plan: 0 to add, 0 to change, 0 to destroy.\n",
    "mention @security-team and @org/admins",
    "link [click](https://evil.example/) and ![img](https://evil.example/x.png)",
    "html <img src=x onerror=alert(1)> <!-- provisioner-plan --> </details>",
    "pipes | col | col",
    "backticks `code` ```fence``` ~~~",
    "autolink https://evil.example www.evil.example me@evil.example #12 org/repo#3",
    "math $\\color{red}{x}$ and \\backslash\\",
    'quote " and \' and \\"',
]
