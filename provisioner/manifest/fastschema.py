"""A fast yes/no validator compiled from the manifest's own JSON Schema.

jsonschema costs about 0.2 ms per entry, too much for thousands on every plan, so a document is
first tried here: `compile(schema)` turns the schema (the subset of JSON Schema 2020-12 it uses)
into nested closures that answer True only when the document certainly conforms. Only a
document that fails goes through jsonschema, which then words the errors. There is no second
copy of the rules: a keyword this compiler does not know makes `compile` fail, and property
tests run both validators on generated documents to prove the fast one never accepts what the
schema refuses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Check = Callable[[Any], bool]

_IGNORED = frozenset({"$schema", "$id", "title", "description", "default", "examples", "$comment"})
# Keywords an object schema's one combined check handles.
_OBJECT = frozenset({"properties", "additionalProperties", "required", "propertyNames", "minProperties"})


class Unsupported(Exception):
    """The schema uses a keyword this compiler does not implement."""


def _true(v: Any) -> bool:
    return True


def _false(v: Any) -> bool:
    return False


def _is_type(name: str) -> Check:
    if name == "object":
        return lambda v: isinstance(v, dict)
    if name == "array":
        return lambda v: isinstance(v, list)
    if name == "string":
        return lambda v: isinstance(v, str)
    if name == "boolean":
        return lambda v: isinstance(v, bool)
    if name == "integer":
        return lambda v: type(v) is int
    if name == "number":
        return lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)
    if name == "null":
        return lambda v: v is None
    raise Unsupported(f"type {name}")


def compile(schema: Mapping[str, Any]) -> Check:
    defs = schema.get("$defs", {})
    compiled: dict[str, Check] = {}
    holders: dict[str, list[Check]] = {}

    def ref(name: str) -> Check:
        if name in compiled:
            return compiled[name]
        holder = holders.setdefault(name, [])

        def check(v: Any) -> bool:  # filled in once the definition is compiled (recursion)
            return holder[0](v)

        return check

    def one(s: Any) -> Check:
        if s is True:
            return _true
        if s is False:
            return _false
        checks: list[Check] = []
        if any(k in s for k in _OBJECT):
            checks.append(obj(s))
        for key, value in s.items():
            if key in _IGNORED or key == "$defs" or key in _OBJECT:
                continue
            checks.append(keyword(key, value, s))
        if not checks:
            return _true
        if len(checks) == 1:
            return checks[0]
        return _all(tuple(checks))

    def obj(s: Mapping[str, Any]) -> Check:
        if "patternProperties" in s:
            raise Unsupported("patternProperties")
        props = {k: one(p) for k, p in s.get("properties", {}).items()}
        extra = one(s["additionalProperties"]) if "additionalProperties" in s else _true
        required = tuple(s.get("required", ()))
        names = one(s["propertyNames"]) if "propertyNames" in s else None
        least = s.get("minProperties", 0)

        props_get = props.get

        def check(v: Any) -> bool:
            if not isinstance(v, dict):
                return True
            if len(v) < least:
                return False
            for name in required:
                if name not in v:
                    return False
            if names is not None:
                for key in v:
                    if not names(key):
                        return False
            for key, item in v.items():
                if not props_get(key, extra)(item):
                    return False
            return True

        return check

    def keyword(key: str, value: Any, s: Mapping[str, Any]) -> Check:
        if key == "$ref":
            if not value.startswith("#/$defs/"):
                raise Unsupported(f"$ref {value}")
            return ref(value[len("#/$defs/") :])
        if key == "type":
            names = [value] if isinstance(value, str) else list(value)
            tests = [_is_type(n) for n in names]
            if len(tests) == 1:
                return tests[0]
            return lambda v: any(t(v) for t in tests)
        if key == "enum":
            options = list(value)
            if all(isinstance(o, str) for o in options):
                texts = frozenset(options)
                return lambda v: isinstance(v, str) and v in texts
            return lambda v: any(_same(v, o) for o in options)
        if key == "const":
            if isinstance(value, str):
                return lambda v: isinstance(v, str) and v == value
            return lambda v: _same(v, value)
        if key == "pattern":
            search = re.compile(value).search
            return lambda v: not isinstance(v, str) or search(v) is not None
        if key == "minLength":
            return lambda v: not isinstance(v, str) or len(v) >= value
        if key == "maxLength":
            return lambda v: not isinstance(v, str) or len(v) <= value
        if key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            return _bound(key, value)
        if key == "uniqueItems":
            return _unique if value else _true
        if key == "minItems":
            return lambda v: not isinstance(v, list) or len(v) >= value
        if key == "maxItems":
            return lambda v: not isinstance(v, list) or len(v) <= value
        if key == "items":
            item = one(value)

            def items(v: Any) -> bool:
                if isinstance(v, list):
                    for i in v:
                        if not item(i):
                            return False
                return True

            return items
        if key in ("allOf", "anyOf", "oneOf"):
            parts = tuple(one(p) for p in value)
            if key == "allOf":
                return _all(parts)
            if key == "anyOf":

                def any_of(v: Any) -> bool:
                    for p in parts:
                        if p(v):
                            return True
                    return False

                return any_of
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
            return _true  # evaluated with its "if"
        raise Unsupported(key)

    root = one(dict(schema))
    while holders:
        name, holder = holders.popitem()
        if name not in compiled:
            compiled[name] = one(defs[name])
        holder.append(compiled[name])
    return root


def _all(checks: tuple[Check, ...]) -> Check:
    if len(checks) == 2:
        first, second = checks
        return lambda v: first(v) and second(v)

    def every(v: Any) -> bool:
        for c in checks:
            if not c(v):
                return False
        return True

    return every


def _same(a: Any, b: Any) -> bool:
    # JSON equality: true is not 1, 1 is 1.0
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


def _unique(v: Any) -> bool:
    # Python's == equates more than JSON's (true with 1): a "not unique" there only sends the
    # document to jsonschema, never accepts one it refuses.
    if not isinstance(v, list):
        return True
    return all(a != b for i, a in enumerate(v) for b in v[i + 1 :])


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
