"""Listing queries: `property=` filters, `orderby=`, `limit=`, `count=` and continuation tokens."""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

from provisioner.emulator import errors

# Filterable fields -> (SQL expression, is an integer). auth.params.<name> is added at parse time.
FIELDS: dict[str, tuple[str, bool]] = {
    "id": ("id", False),
    "name": ("name", False),
    "description": ("description", False),
    "connectionSpec.id": ("spec_id", False),
    "connectionSpec.version": ("spec_version", False),
    "state": ("state", False),
    "auth.specName": ("auth_spec", False),
    "createdAt": ("created_at", True),
    "updatedAt": ("updated_at", True),
    "createdBy": ("created_by", False),
    "updatedBy": ("updated_by", False),
    "createdClient": ("created_client", False),
    "updatedClient": ("updated_client", False),
    "sandboxName": ("sandbox", False),
    "imsOrgId": ("org", False),
}
ORDER_FIELDS = {"name": "name", "createdAt": "created_at", "updatedAt": "updated_at"}
QUERY_PARAMS = frozenset({"property", "limit", "orderby", "continuationToken", "count"})

# Longest operators first, so "==" is not read as "=" and ">=" not as ">".
_FILTER = re.compile(r"^([A-Za-z0-9_.\[\]]+?)(==|!=|>=|<=|>|<|~|=|!>|!<)(.*)$", re.DOTALL)
_PARAM = re.compile(r"^[A-Za-z0-9_]+$")
_RANGE = (">", "<", ">=", "<=")


@dataclass(frozen=True)
class Filter:
    sql: str
    args: tuple[Any, ...]


@dataclass(frozen=True)
class Order:
    column: str | None  # None: creation order only
    descending: bool


@dataclass(frozen=True)
class Query:
    """One page request, fully resolved (a continuation token restores all of it)."""

    properties: tuple[str, ...]
    orderby: str
    limit: int
    after: tuple[Any, int] | None  # keyset position: (sort value, seq) of the last item sent
    count: bool

    def filters(self, secret: frozenset[str]) -> list[Filter]:
        return [parse_filter(p, secret) for p in self.properties]

    @property
    def order(self) -> Order:
        return parse_orderby(self.orderby)


def parse_filter(text: str, secret: frozenset[str]) -> Filter:
    m = _FILTER.match(text)
    if not m:
        raise errors.flow("1450-400", f"Invalid operator in filter params {text}.")
    field, op, raw = m.groups()
    if op == "~":
        raise errors.flow("1440-400", "Operator '~' not implemented.")
    if op not in ("==", "!=", *_RANGE):
        raise errors.flow("1450-400", f"Invalid operator {op} in filter params.")
    column, is_int = _column(field, secret)
    if raw == "":
        raise errors.flow("1453-400", f"Invalid query value {text} provided in query param.")
    values: list[Any] = raw.split(",")
    if op in _RANGE:
        if not is_int:
            raise errors.flow("1448-400", f"Operator {op} not supported for field {field}.")
        if len(values) > 1:
            raise errors.flow("1443-400", f"Operator '{op}' is not allowed for multiple values.")
    if is_int:
        try:
            values = [int(v) for v in values]
        except ValueError:
            raise errors.flow("1452-400", f"Invalid value {raw} for field {field}.") from None
    marks = ",".join("?" * len(values))
    if op == "==":
        return Filter(f"{column} IN ({marks})", tuple(values))
    if op == "!=":
        return Filter(f"({column} IS NULL OR {column} NOT IN ({marks}))", tuple(values))
    return Filter(f"{column} {op} ?", tuple(values))


def _column(field: str, secret: frozenset[str]) -> tuple[str, bool]:
    if field in FIELDS:
        return FIELDS[field]
    prefix = "auth.params."
    if field.startswith(prefix):
        name = field[len(prefix) :]
        # Filtering on a secret would let a caller guess it one request at a time.
        if _PARAM.match(name) and name not in secret:
            return f"json_extract(params, '$.{name}')", False
    raise errors.flow("1449-400", f"Invalid field {field} in filter params.")


def parse_orderby(text: str) -> Order:
    if text == "":
        return Order(None, False)
    # An unencoded "+" in a query string arrives as a space.
    direction, field = (text[0], text[1:]) if text[0] in "+- " else ("+", text)
    if field in ORDER_FIELDS:
        return Order(ORDER_FIELDS[field], direction == "-")
    if any(ch in field for ch in " +-") or field.lower().endswith((":asc", ":desc")):
        raise errors.flow(
            "1432-400",
            "Sort order specified is not correct, prepend + for ascending order and - for "
            "descending order in the fieldName.",
        )
    raise errors.flow(
        "1433-400",
        f"Incorrect field= {field} passed in orderBy, example are +name, -name, name.",
    )


def parse(params: dict[str, list[str]], default_limit: int, max_limit: int) -> Query:
    """The listing parameters of a query string (already split by urllib.parse.parse_qs)."""
    unknown = sorted(set(params) - QUERY_PARAMS)
    if unknown:
        raise errors.flow("1451-400", f"Invalid params {unknown[0]} provided in query params.")
    limit = _limit(params, max_limit)
    count = _last(params, "count", "false").lower()
    if count not in ("true", "false"):
        raise errors.flow("1453-400", f"Invalid query value count={count} provided in query param.")
    if count == "true" and limit is not None:
        raise errors.flow(
            "1401-400",
            "The limit and count parameters cannot be given together in the same request. "
            "Please provide either only the limit or the count parameter and try again.",
        )
    token = params.get("continuationToken")
    if token:
        # The token carries the filters and order of the first page; repeated ones are ignored.
        query = decode_token(token[-1])
        return Query(query.properties, query.orderby, limit or query.limit, query.after, False)
    orderby = _last(params, "orderby", "")
    parse_orderby(orderby)  # refuse a bad one now, before any SQL
    limit = limit or min(default_limit, max_limit)
    return Query(tuple(params.get("property", [])), orderby, limit, None, count == "true")


def _last(params: dict[str, list[str]], name: str, default: str) -> str:
    values = params.get(name)
    return values[-1] if values else default


def _limit(params: dict[str, list[str]], max_limit: int) -> int | None:
    if "limit" not in params:
        return None
    text = params["limit"][-1]
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise errors.flow("1453-400", f"Invalid query value limit={text} provided in query param.")
    return min(value, max_limit)


def encode_token(query: Query, after: tuple[Any, int]) -> str:
    raw = json.dumps(
        {"p": list(query.properties), "o": query.orderby, "l": query.limit, "a": list(after)},
        separators=(",", ":"),
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_token(token: str) -> Query:
    try:
        raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        after = raw["a"]
        if not isinstance(after[0], (str, int, type(None))) or isinstance(after[0], bool):
            raise TypeError("bad keyset value")
        query = Query(
            tuple(str(p) for p in raw["p"]),
            str(raw["o"]),
            int(raw["l"]),
            (after[0], int(after[1])),
            False,
        )
    except (ValueError, KeyError, TypeError, IndexError, binascii.Error):
        raise errors.flow(
            "1453-400", "Invalid query value continuationToken provided in query param."
        ) from None
    return query
