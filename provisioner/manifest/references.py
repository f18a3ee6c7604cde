"""`${env:NAME}` references inside manifest text: parsing, checking and resolving."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
FULL_REFERENCE = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")
ESCAPE = "$${"  # writes a literal "${"


@dataclass(frozen=True)
class Reference:
    """A well-formed ${env:NAME} at `offset` (0-based, in the value's text)."""

    name: str
    offset: int


@dataclass(frozen=True)
class Malformed:
    """Something that starts like a reference but is not one; `reason` is a sentence fragment."""

    text: str
    offset: int
    reason: str


Part = str | Reference


def parse(value: str) -> tuple[list[Part], list[Malformed]]:
    """Split text into literal pieces and references; the malformed ones are listed apart."""
    if "$" not in value:
        return [value], []
    parts: list[Part] = []
    bad: list[Malformed] = []
    literal: list[str] = []
    i, n = 0, len(value)
    while i < n:
        if value.startswith(ESCAPE, i):
            literal.append("${")
            i += 3
            continue
        if not value.startswith("${", i):
            literal.append(value[i])
            i += 1
            continue
        match = FULL_REFERENCE.match(value, i)
        if match:
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append(Reference(match.group(1), i))
            i = match.end()
            continue
        end = value.find("}", i)
        again = value.find("${", i + 2)
        closed = end >= 0 and (again < 0 or end < again)
        text = value[i : end + 1] if closed else value[i : again if again >= 0 else n]
        bad.append(Malformed(text, i, _reason(text, closed=closed)))
        literal.append(text)
        i += len(text)
    if literal:
        parts.append("".join(literal))
    return parts, bad


def _reason(text: str, *, closed: bool) -> str:
    inner = text[2:-1] if closed else text[2:]
    if not closed:
        return f"the reference '{text}' is not closed; end it with '}}'"
    scheme, colon, name = inner.partition(":")
    if not colon:
        return f"'{text}' is not a reference; write ${{env:NAME}} (or $${{ for a literal '${{')"
    if scheme != "env":
        if scheme.lower() == "env":
            return f"'{text}' must use 'env' in lowercase: ${{env:{name}}}"
        return f"'{text}' is not a reference; only ${{env:NAME}} is supported"
    if not name:
        return f"the reference '{text}' names no variable; write ${{env:NAME}}"
    return (
        f"'{name}' in '{text}' is not a valid variable name; use letters, digits and '_', "
        "not starting with a digit"
    )


def full_reference(value: str) -> str | None:
    """The variable name when `value` is exactly one reference and nothing else."""
    match = FULL_REFERENCE.fullmatch(value)
    return match.group(1) if match else None


def resolve(parts: list[Part], environ: Mapping[str, str]) -> tuple[str, list[str]]:
    """The text with every set variable substituted, and the names of the unset ones (kept as
    their ${env:NAME} text)."""
    out: list[str] = []
    unset: list[str] = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
        elif part.name in environ:
            out.append(environ[part.name])
        else:
            unset.append(part.name)
            out.append(f"${{env:{part.name}}}")
    return "".join(out), unset


def suggest_name(*words: str) -> str:
    """An environment variable name made of words: ("marketing-landing", "s3SecretKey") ->
    MARKETING_LANDING_S3_SECRET_KEY."""
    pieces: list[str] = []
    for word in words:
        word = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", word)
        pieces.append(re.sub(r"[^A-Za-z0-9]+", "_", word).strip("_").upper())
    name = "_".join(p for p in pieces if p)
    return name if NAME.fullmatch(name) else f"_{name}"
