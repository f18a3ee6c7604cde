"""Differences between two documents of one kind, as the project's own FieldChange records.

Documents are compared with DeepDiff (threshold_to_diff_deeper=0, so `{}` against a mapping is
one change per key, never one change of the root), after a cheap `a != b` check. Secret leaves
hold fingerprints on both sides, so a rotated secret shows as a (sensitive) change while no
secret value ever enters a comparison. Paths the kind calls server-set are not compared; lists
it calls unordered are compared as sets. The PATCH body is built from the same changes
(provisioner.patch).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from provisioner import document as doc
from provisioner.document import UNKNOWN
from provisioner.kinds import Kind
from provisioner.secrets import MASK


@dataclass(frozen=True)
class FieldChange:
    """One leaf's before and after (None = absent) as JSON values; sensitive ones are masked."""

    path: str
    before: Any
    after: Any
    sensitive: bool = False
    forces_replacement: bool = False
    unknown: bool = False  # the new value is known only after apply

    @property
    def kind(self) -> str:
        if self.before is None:
            return "add"
        if self.after is None and not self.unknown:
            return "remove"
        return "change"


def _canonical(kind: Kind, document: Any) -> Any:
    """The document as compared: server-set paths dropped, unordered lists sorted."""
    if not kind.server_set and not kind.unordered:
        return document
    out = json.loads(json.dumps(document, default=_marker))
    for path in kind.server_set:
        parent = doc.get(out, path[:-1])
        if isinstance(parent, dict):
            parent.pop(path[-1], None)
    for path in kind.unordered:
        items = doc.get(out, path)
        if isinstance(items, list):
            items.sort(key=lambda v: json.dumps(v, sort_keys=True))
    return doc.transform(out, lambda _p, v: UNKNOWN if v == _UNKNOWN_TEXT else v)


_UNKNOWN_TEXT = "\x00(known after apply)\x00"


def _marker(value: Any) -> Any:
    if value is UNKNOWN:
        return _UNKNOWN_TEXT
    raise TypeError(f"cannot compare a {type(value).__name__}")


def compare(
    kind: Kind,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    *,
    secret: Collection[str] = (),
) -> tuple[FieldChange, ...]:
    """What differs from `before` to `after`; `secret` holds the dotted paths of secret leaves."""
    if before == after:
        return ()
    a, b = _canonical(kind, doc.plain(before)), _canonical(kind, doc.plain(after))
    if a == b:
        return ()
    if not a or not b:
        raw = [(p, None, v) for p, v in doc.leaves(b)] if b else []
        raw += [(p, v, None) for p, v in doc.leaves(a)] if a else []
    else:
        raw = list(_deep(a, b))
    changes = [_change(kind, path, old, new, secret) for path, old, new in raw]
    return tuple(sorted(changes, key=_order))


def _deep(a: Any, b: Any) -> Iterable[tuple[doc.Path, Any, Any]]:
    from deepdiff import DeepDiff

    tree = DeepDiff(a, b, threshold_to_diff_deeper=0, view="tree")
    for report in tree.values():
        for item in report:
            path = tuple(item.path(output_format="list"))
            old = None if _absent(item.t1) else item.t1
            new = None if _absent(item.t2) else item.t2
            # A whole mapping added or removed is listed leaf by leaf, as a create is.
            if isinstance(new, Mapping) and old is None and new:
                yield from ((path + p, None, v) for p, v in doc.leaves(new))
            elif isinstance(old, Mapping) and new is None and old:
                yield from ((path + p, v, None) for p, v in doc.leaves(old))
            else:
                yield path, old, new


def _absent(value: Any) -> bool:
    return type(value).__name__ == "NotPresent"


def _change(
    kind: Kind, path: doc.Path, old: Any, new: Any, secret: Collection[str]
) -> FieldChange:
    dotted = doc.dotted(path)
    forces = any(path[: len(p)] == p for p in kind.forces_replacement)
    if dotted in secret:
        return FieldChange(
            dotted,
            MASK if old is not None else None,
            MASK if new is not None else None,
            sensitive=True,
            forces_replacement=forces,
        )
    if new is UNKNOWN:
        return FieldChange(dotted, old, None, forces_replacement=forces, unknown=True)
    return FieldChange(dotted, old, new, forces_replacement=forces)


_RANK = {"type": 0, "name": 1, "description": 2, "auth.specName": 3}


def _order(f: FieldChange) -> tuple[int, str, bool]:
    return (_RANK.get(f.path, 4), f.path, f.sensitive)


def added(kind: Kind, document: Mapping[str, Any], *, secret: Collection[str] = ()) -> tuple[FieldChange, ...]:
    return compare(kind, {}, document, secret=secret)


def removed(kind: Kind, document: Mapping[str, Any], *, secret: Collection[str] = ()) -> tuple[FieldChange, ...]:
    return compare(kind, document, {}, secret=secret)
