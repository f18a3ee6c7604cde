"""JSON documents as the resource model carries them, and the few markers they may hold.

A document is a JSON value (dict, list, str, int, float, bool) in which three markers may stand
for a leaf:

    Secret   a secret value (provisioner.secrets); shown as (sensitive), stored as a fingerprint
    Ref      "the id (or another attribute) of the resource at this address", filled at plan
             time from the state, at apply time from what an earlier change created
    UNKNOWN  a value not known until apply: shown as (known after apply)

Paths are tuples of keys and list indices; `dotted()` writes one as `auth.params.bucketName`
or `mapping[0].source` for people.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from provisioner.secrets import Secret

# Concrete mapping types: an isinstance() against the Mapping ABC costs several times more, and
# documents are only ever dicts, or the read-only views the state keeps (MappingProxyType).
MAPS = (dict, MappingProxyType)

Path = tuple[str | int, ...]


@dataclass(frozen=True, order=True)
class Ref:
    """A reference to another resource of the same sandbox: its `attribute` (default its id)."""

    address: str
    attribute: str = "id"


class _Unknown:
    __slots__ = ()

    def __repr__(self) -> str:
        return "(known after apply)"

    __str__ = __repr__

    def __reduce__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()


def plain(value: Any) -> Any:
    """A deep copy with every Mapping a dict and every list a list (e.g. for json.dumps)."""
    if isinstance(value, MAPS):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def dotted(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def pointer(path: Path) -> str:
    """The JSON Pointer (RFC 6901) of a path, as JSON Patch wants it."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def get(doc: Any, path: Path, default: Any = None) -> Any:
    node = doc
    for part in path:
        if isinstance(part, int):
            if not isinstance(node, list) or not -len(node) <= part < len(node):
                return default
        elif not isinstance(node, MAPS) or part not in node:
            return default
        node = node[part]
    return node


def leaves(doc: Any, base: Path = ()) -> list[tuple[Path, Any]]:
    """Every leaf (a scalar or a marker, an empty dict or list) with its path, in document
    order (callers that show them sort them)."""
    out: list[tuple[Path, Any]] = []
    stack: list[tuple[Path, Any]] = [(base, doc)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, MAPS) and node:
            stack.extend((path + (k,), node[k]) for k in reversed(list(node)))
        elif isinstance(node, list) and node:
            stack.extend((path + (i,), node[i]) for i in range(len(node) - 1, -1, -1))
        else:
            out.append((path, node))
    return out


def replaced(doc: Mapping[str, Any], values: Mapping[Path, Any]) -> dict[str, Any]:
    """A copy of `doc` with `values` put at their paths; only the containers on those paths
    are copied (the rest is shared, so never change the result's other parts in place)."""
    out: dict[str, Any] = dict(doc)
    for path, value in values.items():
        node: Any = out
        for depth, part in enumerate(path[:-1]):
            child = node[part]
            if isinstance(child, MAPS):
                child = dict(child)
            elif isinstance(child, list):
                child = list(child)
            else:
                raise KeyError(dotted(path[: depth + 1]))
            node[part] = child
            node = child
        node[path[-1]] = value
    return out


def transform(doc: Any, leaf: Callable[[Path, Any], Any], base: Path = ()) -> Any:
    """A copy of `doc` with every leaf replaced by leaf(path, value)."""
    if isinstance(doc, MAPS):
        return {k: transform(v, leaf, (*base, k)) for k, v in doc.items()}
    if isinstance(doc, list):
        return [transform(v, leaf, (*base, i)) for i, v in enumerate(doc)]
    return leaf(base, doc)


def markers(doc: Any) -> tuple[list[tuple[Path, Ref]], list[tuple[Path, Secret]]]:
    """The Ref and Secret leaves of a document with their paths, in one walk (paths are built
    only for the markers, so a document without any costs one pass over its containers)."""
    refs: list[tuple[Path, Ref]] = []
    secrets: list[tuple[Path, Secret]] = []

    def walk(node: Any, path: Path) -> None:
        items = node.items() if isinstance(node, MAPS) else enumerate(node)
        for key, value in items:
            if isinstance(value, (dict, MappingProxyType, list)):
                walk(value, (*path, key))
            elif isinstance(value, Ref):
                refs.append(((*path, key), value))
            elif isinstance(value, Secret):
                secrets.append(((*path, key), value))

    if isinstance(doc, (dict, MappingProxyType, list)):
        walk(doc, ())
    return refs, secrets


def secret_paths(doc: Any) -> list[Path]:
    return [p for p, v in leaves(doc) if isinstance(v, Secret)]



def reveal(doc: Any) -> Any:
    """The document as sent to the service: secrets revealed (never log the result)."""
    return transform(doc, lambda _p, v: v.reveal() if isinstance(v, Secret) else v)


def public(doc: Any) -> Any:
    """The document without its secret leaves (what a state or a saved plan may hold)."""
    if isinstance(doc, MAPS):
        return {k: public(v) for k, v in doc.items() if not isinstance(v, Secret)}
    if isinstance(doc, list):
        return [public(v) for v in doc]
    return doc




def put(doc: dict[str, Any], path: Path, value: Any) -> None:
    """Set `value` at `path` in `doc`, making the dicts on the way (in place)."""
    node: Any = doc
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value
