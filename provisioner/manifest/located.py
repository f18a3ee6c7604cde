"""Values parsed from YAML that remember where they were written, and how they read in a sentence."""

from __future__ import annotations

import datetime
import re
from typing import Any, NamedTuple

from provisioner.render import escape

Pos = tuple[int, int]  # 1-based line, column


class MDict(dict[str, Any]):
    """A mapping that knows where each entry was written (`spots[key]`) and where it starts."""

    __slots__ = ("spots", "start")

    def __init__(self, start: Pos) -> None:
        super().__init__()
        self.start = start
        self.spots: dict[str, Spot] = {}


class MList(list[Any]):
    """A sequence that knows where each item was written."""

    __slots__ = ("spots", "start")

    def __init__(self, start: Pos) -> None:
        super().__init__()
        self.start = start
        self.spots: list[Spot] = []


class Spot(NamedTuple):
    """Where one entry's key and value were written, and the value's source text if a scalar.

    A named tuple: a manifest of thousands of entries makes one per key, so it must be cheap."""

    key: Pos
    value: Pos
    raw: str | None


Path = tuple[str | int, ...]  # a place in the document: keys and list indexes

_BOOL_WORDS = {"yes", "no", "on", "off", "y", "n"}


def value_at(root: Any, path: Path) -> Any:
    node = root
    for part in path:
        node = node[part]
    return node


def spot_of(root: MDict, path: Path) -> tuple[Pos, Pos, str | None]:
    """(key position, value position, raw scalar text) of the value at `path`."""
    if not path:
        return root.start, root.start, None
    parent = value_at(root, path[:-1])
    spot = parent.spots[path[-1]]
    return spot.key, spot.value, spot.raw


_KEYLIKE = re.compile(r"[^\s:'\"]{1,40}")


def key_shown(key: str) -> str | None:
    """A key as a message may quote it: short, one word, escaped; None when it is not (a
    file that is not a manifest, such as /etc/shadow, has whole lines as keys: never quoted)."""
    if _KEYLIKE.fullmatch(key) is None:
        return None
    return escape.plain(key)


def key_phrase(key: str, word: str = "key") -> str:
    """ "key 'nmae'", or "key of 73 characters (not shown)" for one that cannot be quoted."""
    shown = key_shown(key)
    if shown is None:
        return f"{word} of {len(key)} characters (not shown, as it does not look like a key)"
    return f"{word} '{shown}'"


def key_in_path(key: str) -> str:
    """The key as the path part of a message: itself if it can be quoted, else '?'."""
    shown = key_shown(key)
    return "?" if shown is None else shown


def describe(value: Any, raw: str | None) -> str:
    """How a YAML value reads in a sentence: 'the number 12', 'true', 'a list', ..."""
    if value is None:
        return "empty"
    if isinstance(value, bool):
        word = "true" if value else "false"
        if raw is not None and raw.lower() in _BOOL_WORDS:
            return f"{raw} (which YAML reads as {word})"
        return word
    if isinstance(value, (int, float)):
        return f"the number {raw if raw is not None else value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f'the text "{escape.plain(shown)}"'
    if isinstance(value, (datetime.date, datetime.datetime)):
        return f"the date {raw if raw is not None else value}"
    if isinstance(value, MList):
        return "a list"
    if isinstance(value, MDict):
        return "a mapping"
    return f"a {type(value).__name__}"
