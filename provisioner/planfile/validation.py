"""A saved plan checked against schemas/plan.schema.json ($defs/saved_plan) before it is read.

Both validators are built once per process: manifest.fastschema's compiled yes/no check of the
same schema answers for a valid file (jsonschema costs seconds for thousands of changes), and
only a file it refuses goes through jsonschema, which finds the first problem's pointer.
What a problem says comes from the file, which anyone may have edited: keys and values are
escaped and shortened, and a value is never quoted whole.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from provisioner import schemas_loader
from provisioner.render import escape

_SCHEMA = "plan.schema.json"
_MAX_TOKEN = 60


@functools.cache
def _validator() -> Any:
    import jsonschema
    import referencing
    import referencing.jsonschema

    schema = schemas_loader.load(_SCHEMA)
    registry: referencing.Registry[Any] = referencing.Registry().with_resource(
        schema["$id"], referencing.jsonschema.DRAFT202012.create_resource(schema)
    )
    cls = jsonschema.validators.validator_for(schema)
    return cls({"$ref": schema["$id"] + "#/$defs/saved_plan"}, registry=registry)


@functools.cache
def _fast() -> Callable[[Any], bool]:
    """The compiled check of $defs/saved_plan (whose "#" references are the plan document)."""
    from provisioner.manifest import fastschema

    return fastschema.compile(schemas_loader.load(_SCHEMA), start="#/$defs/saved_plan")


def first_problem(doc: Any) -> str | None:
    """None if `doc` is a valid saved plan, else where its first problem is (a JSON pointer)
    and what it is, as a phrase."""
    if _fast()(doc):
        return None
    error = next(iter(_validator().iter_errors(doc)), None)
    if error is None:
        return None
    # Into oneOf/anyOf: the alternative that got furthest into the document says most.
    while error.context:
        error = max(error.context, key=lambda e: len(e.absolute_path))
    tokens = [str(t) for t in error.absolute_path]
    reason = _reason(error, tokens)
    pointer = "".join("/" + _token(t) for t in tokens)
    return f"{pointer or 'the top level'} {reason}"


def _reason(error: Any, tokens: list[str]) -> str:
    keyword = error.validator
    instance = error.instance
    if keyword == "required" and isinstance(instance, dict):
        missing = next((k for k in error.validator_value if k not in instance), None)
        if missing is not None:
            tokens.append(str(missing))
            return "is missing"
    if keyword == "additionalProperties" and isinstance(instance, dict):
        allowed = set(error.schema.get("properties", {}))
        extra = sorted(k for k in instance if k not in allowed)
        if extra:
            tokens.append(str(extra[0]))
            return "is not a key this format has"
    if keyword == "type":
        types = error.validator_value
        names = types if isinstance(types, list) else [types]
        return "must be " + " or ".join(_TYPE_NAMES.get(str(t), str(t)) for t in names)
    if keyword in ("const", "enum"):
        return "is not one of the values allowed there"
    if keyword == "pattern":
        return "does not have the form required there"
    if keyword in ("minimum", "minLength", "minItems"):
        return "is too small"
    if keyword == "uniqueItems":
        return "repeats an item"
    return f"breaks the schema's {keyword!r} rule"


_TYPE_NAMES = {
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "object": "an object",
    "array": "an array",
    "null": "null",
}


def _token(token: str) -> str:
    shown = escape.plain(token.replace("~", "~0").replace("/", "~1"))
    return shown if len(shown) <= _MAX_TOKEN else shown[: _MAX_TOKEN - 3] + "..."
