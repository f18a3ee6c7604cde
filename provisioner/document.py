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

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from provisioner.secrets import Secret

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
    if isinstance(value, Mapping):
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
        elif not isinstance(node, Mapping) or part not in node:
            return default
        node = node[part]
    return node


def leaves(doc: Any, base: Path = ()) -> Iterator[tuple[Path, Any]]:
    """Every leaf (a scalar or a marker, an empty dict or list) with its path, in key order."""
    if isinstance(doc, Mapping) and doc:
        for key in sorted(doc):
            yield from leaves(doc[key], (*base, key))
    elif isinstance(doc, list) and doc:
        for i, item in enumerate(doc):
            yield from leaves(item, (*base, i))
    else:
        yield base, doc


def transform(doc: Any, leaf: Callable[[Path, Any], Any], base: Path = ()) -> Any:
    """A copy of `doc` with every leaf replaced by leaf(path, value)."""
    if isinstance(doc, Mapping):
        return {k: transform(v, leaf, (*base, k)) for k, v in doc.items()}
    if isinstance(doc, list):
        return [transform(v, leaf, (*base, i)) for i, v in enumerate(doc)]
    return leaf(base, doc)


def secret_paths(doc: Any) -> list[Path]:
    return [p for p, v in leaves(doc) if isinstance(v, Secret)]


def refs(doc: Any) -> list[tuple[Path, Ref]]:
    return [(p, v) for p, v in leaves(doc) if isinstance(v, Ref)]


def reveal(doc: Any) -> Any:
    """The document as sent to the service: secrets revealed (never log the result)."""
    return transform(doc, lambda _p, v: v.reveal() if isinstance(v, Secret) else v)


def public(doc: Any) -> Any:
    """The document without its secret leaves (what a state or a saved plan may hold)."""
    if isinstance(doc, Mapping):
        return {k: public(v) for k, v in doc.items() if not isinstance(v, Secret)}
    if isinstance(doc, list):
        return [public(v) for v in doc]
    return doc


def has_unknown(doc: Any) -> bool:
    return any(v is UNKNOWN for _p, v in leaves(doc))


def resolve(doc: Any, lookup: Callable[[Ref], Any]) -> Any:
    """`doc` with every Ref replaced by lookup(ref) (which may answer UNKNOWN)."""
    return transform(doc, lambda _p, v: lookup(v) if isinstance(v, Ref) else v)


def put(doc: dict[str, Any], path: Path, value: Any) -> None:
    """Set `value` at `path` in `doc`, making the dicts on the way (in place)."""
    node: Any = doc
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value
