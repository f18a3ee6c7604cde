"""Listing of the chain's resources: Flow Service's `property=` filters on any dotted path
(`[]` steps into arrays), `orderby=`, `limit=`, `count=` and continuation tokens."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from provisioner.emulator import errors, listing
from provisioner.emulator.store import Doc

_RANGE = (">", "<", ">=", "<=")
_ORDER = {"name": "name", "created_at": "createdAt", "updated_at": "updatedAt"}


def values_at(body: Any, path: str) -> list[Any]:
    """Every value at a dotted path; a step ending in `[]` (or landing on an array) fans out."""
    current = [body]
    for step in path.split("."):
        fan = step.endswith("[]")
        key = step[:-2] if fan else step
        nxt: list[Any] = []
        for value in current:
            if isinstance(value, dict) and key in value:
                found = value[key]
                if isinstance(found, list):
                    nxt.extend(found)
                else:
                    nxt.append(found)
        current = nxt
    return current


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def predicate(text: str) -> Callable[[dict[str, Any]], bool]:
    """One `property=` expression as a test on a document's public body."""
    m = listing._FILTER.match(text)
    if not m:
        raise errors.flow("1450-400", f"Invalid operator in filter params {text}.")
    path, op, raw = m.groups()
    if op == "~":
        raise errors.flow("1440-400", "Operator '~' not implemented.")
    if op not in ("==", "!=", *_RANGE):
        raise errors.flow("1450-400", f"Invalid operator {op} in filter params.")
    if raw == "":
        raise errors.flow("1453-400", f"Invalid query value {text} provided in query param.")
    wanted = [_unquote(v) for v in raw.split(",")]
    if op in _RANGE:
        if len(wanted) > 1:
            raise errors.flow("1443-400", f"Operator '{op}' is not allowed for multiple values.")
        try:
            bound = float(wanted[0])
        except ValueError:
            raise errors.flow("1452-400", f"Invalid value {raw} for field {path}.") from None

        def compare(v: float) -> bool:
            if op == ">":
                return v > bound
            if op == "<":
                return v < bound
            return v >= bound if op == ">=" else v <= bound

        def in_range(body: dict[str, Any]) -> bool:
            return any(
                isinstance(v, (int, float)) and not isinstance(v, bool) and compare(v)
                for v in values_at(body, path)
            )

        return in_range
    choices = set(wanted)
    if op == "==":
        return lambda body: any(_as_text(v) in choices for v in values_at(body, path))
    return lambda body: not any(_as_text(v) in choices for v in values_at(body, path))


def listing_page(
    docs: list[Doc],
    render: Callable[[Doc], dict[str, Any]],
    params: dict[str, list[str]],
    config: Any,
    resource: str,
) -> dict[str, Any]:
    """A Flow Service list answer over `docs` (all of one kind, org and sandbox)."""
    query = listing.parse(params, config.default_page_size, config.max_page_size)
    tests = [predicate(p) for p in query.properties]
    shown = [(d, render(d)) for d in docs]
    shown = [(d, b) for d, b in shown if all(t(b) for t in tests)]
    if query.count:
        return {"count": len(shown)}
    order = query.order
    field = None if order.column is None else _ORDER[order.column]

    def key(item: tuple[Doc, dict[str, Any]]) -> tuple[Any, int]:
        value = None if field is None else item[1].get(field)
        return (_sortable(value), item[0].seq)

    shown.sort(key=key, reverse=order.descending)
    if query.after is not None:
        after = (_sortable(query.after[0]), query.after[1])
        shown = [s for s in shown if (key(s) < after if order.descending else key(s) > after)]
    page, more = shown[: query.limit], len(shown) > query.limit
    out: dict[str, Any] = {"items": [b for _, b in page]}
    links: dict[str, Any] = {}
    if more and page:
        last_doc, last_body = page[-1]
        value = None if field is None else last_body.get(field)
        token = listing.encode_token(query, (value, last_doc.seq))
        links["next"] = {"href": f"/{resource}?continuationToken={token}"}
    out["_links"] = links
    return out


def _sortable(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, 0)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (1, value)
    return (2, str(value))
