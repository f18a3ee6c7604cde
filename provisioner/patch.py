"""The JSON Patch (RFC 6902) of an in-place update, built from the plan's own change records.

Each changed path is widened to its kind's patch unit (e.g. all of `auth.params`, since the
secrets must be sent again with any change of them) or to the shallowest parent the current
document lacks, then becomes one add, replace or remove of the desired value there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from provisioner import document as doc
from provisioner.diff import FieldChange
from provisioner.kinds import Kind

_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def parse_dotted(text: str) -> doc.Path:
    """The path of a dotted string written by document.dotted()."""
    return tuple(
        int(index) if index else key for key, index in _PART.findall(text)
    )


def _unit(kind: Kind, path: doc.Path, current: Any) -> doc.Path:
    for unit in kind.patch_units:
        if path[: len(unit)] == unit:
            return unit
    for depth in range(1, len(path)):
        if doc.get(current, path[:depth], _MISSING) is _MISSING:
            return path[:depth]
    # inside a list, a changed item is replaced whole (indexes shift otherwise)
    for depth, part in enumerate(path):
        if isinstance(part, int):
            return path[: depth + 1]
    return path


_MISSING = object()


def json_patch(
    kind: Kind,
    changes: Iterable[FieldChange],
    current: Mapping[str, Any],
    desired: Mapping[str, Any],
) -> list[dict[str, Any]]:
    """The operations that turn `current` into `desired` for the paths in `changes`.

    `desired` is revealed (secrets in clear): the result is only ever sent, never logged.
    """
    units: list[doc.Path] = []
    for change in changes:
        unit = _unit(kind, parse_dotted(change.path), current)
        if unit not in units:
            units.append(unit)
    ops: list[dict[str, Any]] = []
    for unit in sorted(units, key=lambda p: [str(x) for x in p]):
        if any(other != unit and unit[: len(other)] == other for other in units):
            continue  # inside another unit, which is sent whole
        want = doc.get(desired, unit, _MISSING)
        have = doc.get(current, unit, _MISSING)
        if want is _MISSING:
            if have is not _MISSING:
                ops.append({"op": "remove", "path": doc.pointer(unit)})
        elif have is _MISSING:
            ops.append({"op": "add", "path": doc.pointer(unit), "value": want})
        else:
            ops.append({"op": "replace", "path": doc.pointer(unit), "value": want})
    return ops
