"""A fast yes/no validator compiled from the manifest's own JSON Schema.

jsonschema costs about 0.2 ms per entry, too much for thousands on every plan, so a document is
first tried here: `compile(schema)` turns the schema (the subset of JSON Schema 2020-12 it uses)
into nested closures that answer True only when the document certainly conforms. Only a
document that fails goes through jsonschema, which then words the errors. There is no second
copy of the rules: a keyword this compiler does not know makes `compile` fail, and a test runs
both validators on generated documents to prove they never disagree.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Check = Callable[[Any], bool]

_IGNORED = frozenset({"$schema", "$id", "title", "description", "default", "examples", "$comment"})
_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: type(v) is int,
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "null": lambda v: v is None,
}


class Unsupported(Exception):
    """The schema uses a keyword this compiler does not implement."""


def compile(schema: Mapping[str, Any]) -> Check:
    defs = schema.get("$defs", {})
    cache: dict[str, Check] = {}

    def ref(name: str) -> Check:
        # Compiled lazily, so recursive definitions work.
        def check(v: Any) -> bool:
            if name not in cache:
                cache[name] = one(defs[name])
            return cache[name](v)

        return check

    def one(s: Any) -> Check:
        if s is True:
            return lambda v: True
        if s is False:
            return lambda v: False
        checks: list[Check] = []
        for key, value in s.items():
            if key in _IGNORED or key == "$defs":
                continue
            checks.append(keyword(key, value, s))
        if len(checks) == 1:
            return checks[0]
        return lambda v: all(c(v) for c in checks)

    def keyword(key: str, value: Any, s: Mapping[str, Any]) -> Check:
        if key == "$ref":
            if not value.startswith("#/$defs/"):
                raise Unsupported(f"$ref {value}")
            return ref(value[len("#/$defs/") :])
        if key == "type":
            names = [value] if isinstance(value, str) else list(value)
            tests = [_TYPES[n] for n in names]
            return lambda v: any(t(v) for t in tests)
        if key == "enum":
            options = list(value)
            return lambda v: any(_same(v, o) for o in options)
        if key == "const":
            return lambda v: _same(v, value)
        if key == "pattern":
            rx = re.compile(value)
            return lambda v: not isinstance(v, str) or rx.search(v) is not None
        if key == "minLength":
            return lambda v: not isinstance(v, str) or len(v) >= value
        if key == "maxLength":
            return lambda v: not isinstance(v, str) or len(v) <= value
        if key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            return _bound(key, value)
        if key == "minItems":
            return lambda v: not isinstance(v, list) or len(v) >= value
        if key == "maxItems":
            return lambda v: not isinstance(v, list) or len(v) <= value
        if key == "items":
            item = one(value)
            return lambda v: not isinstance(v, list) or all(item(i) for i in v)
        if key == "minProperties":
            return lambda v: not isinstance(v, dict) or len(v) >= value
        if key == "required":
            names = list(value)
            return lambda v: not isinstance(v, dict) or all(n in v for n in names)
        if key == "properties":
            props = {k: one(p) for k, p in value.items()}
            return lambda v: not isinstance(v, dict) or all(
                c(v[k]) for k, c in props.items() if k in v
            )
        if key == "additionalProperties":
            known = set(s.get("properties", {}))
            if "patternProperties" in s:
                raise Unsupported("patternProperties")
            extra = one(value)
            return lambda v: not isinstance(v, dict) or all(
                extra(item) for k, item in v.items() if k not in known
            )
        if key == "propertyNames":
            names_ok = one(value)
            return lambda v: not isinstance(v, dict) or all(names_ok(k) for k in v)
        if key in ("allOf", "anyOf", "oneOf"):
            parts = [one(p) for p in value]
            if key == "allOf":
                return lambda v: all(p(v) for p in parts)
            if key == "anyOf":
                return lambda v: any(p(v) for p in parts)
            return lambda v: sum(1 for p in parts if p(v)) == 1
        if key == "not":
            inner = one(value)
            return lambda v: not inner(v)
        if key == "if":
            cond = one(value)
            then = one(s.get("then", True))
            other = one(s.get("else", True))
            return lambda v: then(v) if cond(v) else other(v)
        if key in ("then", "else"):
            return lambda v: True  # evaluated with its "if"
        raise Unsupported(key)

    return one(dict(schema))


def _same(a: Any, b: Any) -> bool:
    # JSON equality: true is not 1, 1 is 1.0
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


def _bound(key: str, limit: float) -> Check:
    def number(v: Any) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool)

    if key == "minimum":
        return lambda v: not number(v) or v >= limit
    if key == "maximum":
        return lambda v: not number(v) or v <= limit
    if key == "exclusiveMinimum":
        return lambda v: not number(v) or v > limit
    return lambda v: not number(v) or v < limit
