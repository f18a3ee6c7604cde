"""A fast yes/no validator compiled from the manifest's own JSON Schema.

jsonschema costs about 0.2 ms per entry, too much for thousands on every plan, so a document is
first tried here: `compile(schema)` turns the schema (the subset of JSON Schema 2020-12 it uses)
into Python source, one small function per subschema, compiled once per process, that answers
True only when the document certainly conforms (about three times faster than closures). Only a
document that fails goes through jsonschema, which then words the errors. There is no second
copy of the rules: a keyword this compiler does not know makes `compile` fail, and property
tests run both validators on generated documents to prove the fast one never accepts what the
schema refuses.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Callable, Mapping
from typing import Any

Check = Callable[[Any], bool]

# Annotations; `format` too, as in JSON Schema 2020-12 (jsonschema asserts it only when given a
# format checker, which this project never passes).
_IGNORED = frozenset(
    {"$schema", "$id", "title", "description", "default", "examples", "$comment", "format"}
)
# Keywords an object schema's one combined check handles.
_OBJECT = frozenset({"properties", "additionalProperties", "required", "propertyNames", "minProperties"})


class Unsupported(Exception):
    """The schema uses a keyword this compiler does not implement."""


def compile(schema: Mapping[str, Any], start: str = "#") -> Check:
    """The schema as one Python function (generated source, compiled once per process);
    `start` is the reference of the schema to check against ("#/$defs/NAME" for one of its
    definitions, whose own references to "#" then mean the whole schema)."""
    gen = _Generator(schema)
    root = gen.ref(start)
    namespace: dict[str, Any] = {"_same": _same, "_unique": _unique, **gen.constants}
    source = "\n".join([*gen.lines, *gen.alias_lines(), *gen.tables])
    exec(builtins.compile(source, "<fastschema>", "exec"), namespace)  # noqa: S102
    check: Check = namespace[root]
    return check


_TYPE_TESTS = {
    "object": "isinstance(v, dict)",
    "array": "isinstance(v, list)",
    "string": "isinstance(v, str)",
    "boolean": "isinstance(v, bool)",
    "integer": "v.__class__ is int",
    "number": "(isinstance(v, (int, float)) and not isinstance(v, bool))",
    "null": "v is None",
}
_NUMBER = _TYPE_TESTS["number"]
_BOUNDS = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}


class _Generator:
    """Writes one `def f_N(v) -> bool` per schema (and per $defs entry, once: recursion is a
    call by name). Every keyword is a test that returns False at the first failure."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self.schema = schema
        self.defs = schema.get("$defs", {})
        self.lines: list[str] = []
        self.constants: dict[str, Any] = {}
        self.by_def: dict[str, str] = {}
        self.tables: list[str] = []
        self.count = 0
        # f_N -> the function it only calls: named without a call of its own (recursion may
        # have used the name before it was known to be one)
        self.aliases: dict[str, str] = {}

    def constant(self, value: Any) -> str:
        name = f"c_{len(self.constants)}"
        self.constants[name] = value
        return name

    def function(self, s: Any) -> str:
        if s is True or s == {}:
            return self.trivial(True)
        if s is False:
            return self.trivial(False)
        if not isinstance(s, Mapping):
            raise Unsupported(f"schema {s!r}")
        name = f"f_{self.count}"
        self.count += 1
        # Keywords are a conjunction, so their order is free: a single `type` goes first, and
        # the tests after it do not ask the type again.
        known = s.get("type") if isinstance(s.get("type"), str) else None
        body: list[str] = self.keyword("type", known, s) if known is not None else []
        if any(k in s for k in _OBJECT):
            body += self.obj(s, known == "object")
        for key, value in s.items():
            if key in _IGNORED or key == "$defs" or key in _OBJECT:
                continue
            if key == "type" and known is not None:
                continue
            body += self.keyword(key, value, s, known)
        if len(body) == 1 and body[0].startswith("if not f_") and body[0].endswith(
            "(v): return False"
        ):
            target = body[0][len("if not ") : -len("(v): return False")]
            if target != name:
                self.aliases[name] = target  # a schema that is one call: that function
                return target
        self.lines.append(f"def {name}(v):")
        self.lines += ["    " + line for line in body]
        self.lines.append("    return True")
        return name

    def alias_lines(self) -> list[str]:
        """`f_N = f_M` for each alias, after every def (M followed to a def)."""
        lines = []
        for name, target in self.aliases.items():
            seen = {name}
            while target in self.aliases:
                if target in seen:
                    raise Unsupported("a $ref that only refers to itself")
                seen.add(target)
                target = self.aliases[target]
            lines.append(f"{name} = {target}")
        return lines

    def trivial(self, answer: bool) -> str:
        name = f"f_{self.count}"
        self.count += 1
        self.lines += [f"def {name}(v):", f"    return {answer}"]
        return name

    def ref(self, target: str) -> str:
        if target not in self.by_def:
            if target == "#":
                referred: Any = dict(self.schema)  # function() skips its $defs
            elif target.startswith("#/$defs/") and target[len("#/$defs/") :] in self.defs:
                referred = self.defs[target[len("#/$defs/") :]]
            else:
                raise Unsupported(f"$ref {target}")
            self.by_def[target] = f"f_{self.count}"  # the name function() gives it (recursion)
            self.by_def[target] = self.function(referred)  # (or the function it only calls)
        return self.by_def[target]

    def obj(self, s: Mapping[str, Any], is_object: bool = False) -> list[str]:
        """The object keywords' one check; `is_object`: v is known to be a dict already."""
        if "patternProperties" in s:
            raise Unsupported("patternProperties")
        props = {k: self.function(p) for k, p in s.get("properties", {}).items()}
        extra = s.get("additionalProperties", True)
        lines = ["if True:" if is_object else "if isinstance(v, dict):"]
        least = s.get("minProperties", 0)
        if least:
            lines.append(f"    if len(v) < {int(least)}: return False")
        for required in s.get("required", ()):
            lines.append(f"    if {required!r} not in v: return False")
        if "propertyNames" in s:
            names = self.function(s["propertyNames"])
            lines += ["    for k in v:", f"        if not {names}(k): return False"]
        if props or extra is not True:
            table = f"t_{len(self.tables)}"
            entries = ", ".join(f"{k!r}: {f}" for k, f in props.items())
            self.tables.append(f"{table} = {{{entries}}}")  # after every def: names are known
            lines += ["    for k, x in v.items():", f"        c = {table}.get(k)"]
            if extra is False:
                lines.append("        if c is None: return False")
            elif extra is True:
                lines.append("        if c is None: continue")
            else:
                lines.append(f"        if c is None: c = {self.function(extra)}")
            lines.append("        if not c(x): return False")
        return lines

    def keyword(
        self, key: str, value: Any, s: Mapping[str, Any], known: str | None = None
    ) -> list[str]:
        """The test of one keyword; `known` is the type v already passed (then not asked)."""
        string = "" if known == "string" else "isinstance(v, str) and "
        array = "" if known == "array" else "isinstance(v, list) and "
        if key == "$ref":
            return [f"if not {self.ref(value)}(v): return False"]
        if key == "type":
            names = [value] if isinstance(value, str) else list(value)
            for n in names:
                if n not in _TYPE_TESTS:
                    raise Unsupported(f"type {n}")
            return [f"if not ({' or '.join(_TYPE_TESTS[n] for n in names)}): return False"]
        if key == "enum":
            options = list(value)
            if all(isinstance(o, str) for o in options):
                texts = self.constant(frozenset(options))
                return [f"if not ({string}v in {texts}): return False"]
            listed = self.constant(tuple(options))
            return [f"if not any(_same(v, o) for o in {listed}): return False"]
        if key == "const":
            if isinstance(value, str):
                return [f"if not ({string}v == {value!r}): return False"]
            return [f"if not _same(v, {self.constant(value)}): return False"]
        if key == "pattern":
            search = self.constant(re.compile(value).search)
            return [f"if {string}{search}(v) is None: return False"]
        if key == "minLength":
            return [f"if {string}len(v) < {int(value)}: return False"]
        if key == "maxLength":
            return [f"if {string}len(v) > {int(value)}: return False"]
        if key in _BOUNDS:
            limit = self.constant(value)
            return [f"if {_NUMBER} and not v {_BOUNDS[key]} {limit}: return False"]
        if key == "uniqueItems":
            return ["if not _unique(v): return False"] if value else []
        if key == "minItems":
            return [f"if {array}len(v) < {int(value)}: return False"]
        if key == "maxItems":
            return [f"if {array}len(v) > {int(value)}: return False"]
        if key == "items":
            item = self.function(value)
            loop = ["for x in v:", f"    if not {item}(x): return False"]
            if known == "array":
                return loop
            return ["if isinstance(v, list):", *("    " + line for line in loop)]
        if key in ("allOf", "anyOf", "oneOf"):
            parts = [self.function(p) for p in value]
            if key == "allOf":
                return [f"if not {p}(v): return False" for p in parts]
            if key == "anyOf":
                return [f"if not ({' or '.join(f'{p}(v)' for p in parts)}): return False"]
            return [f"if ({' + '.join(f'bool({p}(v))' for p in parts)}) != 1: return False"]
        if key == "not":
            return [f"if {self.function(value)}(v): return False"]
        if key == "if":
            cond = self.function(value)
            then = self.function(s.get("then", True))
            other = self.function(s.get("else", True))
            return [f"if not ({then}(v) if {cond}(v) else {other}(v)): return False"]
        if key in ("then", "else"):
            return []  # evaluated with its "if"
        raise Unsupported(key)


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
