"""Checks a parsed manifest against schemas/manifest.schema.json and words each error as a sentence."""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable, Iterable
from typing import Any

from provisioner import kinds
from provisioner.manifest.conformance import conforms
from provisioner.manifest.located import (
    MDict,
    MList,
    Path,
    Pos,
    describe,
    key_in_path,
    key_phrase,
    key_shown,
    spot_of,
)
from provisioner.secrets import is_secret_key

Found = tuple[Pos, Path, str]  # where, path in the document, sentence

SCHEMA_NAME = "manifest.schema.json"


@functools.lru_cache(maxsize=1)
def validator() -> Any:
    """The compiled validator of the manifest schema (built once per process)."""
    import jsonschema

    from provisioner import schemas_loader

    schema = schemas_loader.load(SCHEMA_NAME)
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


def check(root: MDict) -> list[Found]:
    """Every schema error of the document, as (where, path, sentence), in document order."""
    if conforms(root):
        return []  # the common case, without the cost (and the import) of jsonschema
    by_path: dict[Path, list[Any]] = {}
    unknown: set[Path] = set()
    for error in validator().iter_errors(root):
        path = tuple(error.absolute_path)
        by_path.setdefault(path, []).append(error)
        if error.validator == "additionalProperties":
            known = error.schema.get("properties", {})
            unknown.update((*path, key) for key in error.instance if key not in known)
    found: list[Found] = []
    seen: set[tuple[Path, str]] = set()
    for path, errors in by_path.items():
        if is_secret_param(root, path):
            continue  # the secret check words these (and never echoes the value)
        if any(path[: len(u)] == u for u in unknown):
            continue  # an unknown key is one problem, not also its value's
        if any(e.validator == "type" for e in errors):
            errors = [e for e in errors if e.validator == "type"][:1]
        for error in errors:
            for where, at, sentence in _translate(root, path, error):
                if (at, sentence) not in seen:
                    seen.add((at, sentence))
                    found.append((where, at, sentence))
    return found


def _container_pos(root: MDict, path: Path) -> Pos:
    # A missing key is reported where its parent's key is (the line a reader looks at).
    return spot_of(root, path)[0] if path else root.start


# -- wording --------------------------------------------------------------------------------


def _kind_of(root: MDict, path: Path) -> Any:
    if len(path) < 2 or path[0] != "connections":
        return None
    connections = root.get("connections")
    connection = connections.get(path[1]) if isinstance(connections, dict) else None
    if not isinstance(connection, dict) or not isinstance(connection.get("type"), str):
        return None
    return kinds.registry().get(connection["type"])


def _auth_spec_of(root: MDict, path: Path) -> Any:
    kind = _kind_of(root, path)
    if kind is None:
        return None
    auth = root["connections"][path[1]].get("auth")
    if not isinstance(auth, dict) or not isinstance(auth.get("specName"), str):
        return None
    return kind.auth_specs.get(auth["specName"])


def is_secret_param(root: MDict, path: Path) -> bool:
    """True for a secret auth param. When the auth spec is unknown, any param that is secret
    somewhere (or is named like a secret) counts, so no message ever echoes its value."""
    if len(path) != 5 or path[2:4] != ("auth", "params"):
        return False
    spec = _auth_spec_of(root, path)
    if spec is not None:
        return path[4] in spec.secret
    key = str(path[4])
    if is_secret_key(key):
        return True
    return any(key in a.secret for k in kinds.registry().values() for a in k.auth_specs.values())


def _known_types() -> str:
    return ", ".join(sorted(kinds.registry()))


def _quoted_list(names: Iterable[str]) -> str:
    return ", ".join(f"'{n}'" for n in sorted(names))


def _did_you_mean(word: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _missing_hint(root: MDict, path: Path, key: str) -> str:
    if path == ():
        return {
            "version": "add 'version: 1' at the top of the file",
            "connections": "declare the connections under a 'connections:' mapping",
        }.get(key, "add it")
    last = path[-1]
    if len(path) == 2 and path[0] == "connections":
        return {
            "type": f"add the kind of connection, e.g. 'type: amazon-s3' (known: {_known_types()})",
            "name": "add the connection's name as it should appear in AEP",
            "auth": "add an 'auth:' mapping with 'specName' and 'params'",
        }.get(key, "add it")
    if last == "auth":
        kind = _kind_of(root, path)
        if key == "specName" and kind is not None:
            return f"add one of: {_quoted_list(kind.auth_specs)}"
        return "add it under 'auth:'"
    if last == "params":
        spec = _auth_spec_of(root, path)
        if spec is not None:
            return f"'{spec.name}' needs {_and_list(spec.required)}"
    return "add it"


def _and_list(names: Iterable[str]) -> str:
    items = sorted(names)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _version_sentence(value: Any, raw: str | None) -> str:
    if value is None:
        return "is empty; write 'version: 1'."
    if isinstance(value, str):
        return f"must be 1, not {describe(value, raw)}; write 'version: 1' without quotes."
    return f"must be 1, not {raw if raw is not None else value}; this provisioner reads version 1 manifests."


def _type_sentence(root: MDict, path: Path, expected: Any, value: Any, raw: str | None) -> str:
    if path == ("version",):
        return _version_sentence(value, raw)
    if path == ("connections",) and (value is None or isinstance(value, MDict)):
        return "is empty; declare at least one connection under it."
    wanted = expected if isinstance(expected, str) else expected[0]
    if value is None:
        return _empty_sentence(path, wanted)
    if wanted == "string":
        if isinstance(value, (MDict, MList)):
            return f"must be text, not {describe(value, raw)}."
        shown = raw if raw is not None else str(value)
        return f'must be text, not {describe(value, raw)}; put it in quotes: "{shown}".'
    if wanted == "boolean" and isinstance(value, str):
        return f"must be true or false, not {describe(value, raw)}; write true or false without quotes."
    return f"must be {_EXPECTED.get(wanted, wanted)}, not {describe(value, raw)}."


def _empty_sentence(path: Path, wanted: str) -> str:
    if len(path) == 2 and path[0] == "connections":
        return "is empty; write the connection's type, name and auth under it."
    hint = {
        "name": "give the connection's name as it should appear in AEP",
        "auth": "write its 'specName' and 'params' under it",
        "params": "write the auth spec's parameters under it",
        "specName": "write the auth spec's name, e.g. Access Key",
        "type": f"write the kind of connection, e.g. amazon-s3 (known: {_known_types()})",
    }.get(str(path[-1]))
    if hint and len(path) >= 3:
        return f"is empty; {hint}."
    return f"is empty, but it must be {_EXPECTED.get(wanted, wanted)}."


_EXPECTED = {
    "string": "text",
    "boolean": "true or false",
    "object": "a mapping of keys to values",
    "array": "a list",
    "integer": "a whole number",
    "number": "a number",
}


def _translate(root: MDict, path: Path, error: Any) -> list[Found]:
    handler = _HANDLERS.get(error.validator, _fallback)
    return handler(root, path, error)


def _on_type(root: MDict, path: Path, error: Any) -> list[Found]:
    _, where, raw = spot_of(root, path)
    return [(where, path, _type_sentence(root, path, error.validator_value, error.instance, raw))]


def _on_required(root: MDict, path: Path, error: Any) -> list[Found]:
    where = _container_pos(root, path)
    return [
        (where, (*path, key), f"is missing; {_missing_hint(root, path, key)}.")
        for key in error.validator_value
        if key not in error.instance
    ]


def _on_additional(root: MDict, path: Path, error: Any) -> list[Found]:
    allowed = sorted(error.schema.get("properties", {}))
    found: list[Found] = []
    for key in error.instance:
        if key in allowed:
            continue
        where = spot_of(root, (*path, key))[0]
        # At most a short, escaped key: a file that is not a manifest has whole lines as keys.
        hint = _did_you_mean(key, allowed) if key_shown(key) is not None else ""
        if path and path[-1] == "params":
            spec = _auth_spec_of(root, path)
            owner = f" for '{spec.name}'" if spec is not None else ""
            sentence = (
                f"unknown {key_phrase(key, 'parameter')}{owner}{hint}; "
                f"the parameters allowed are {', '.join(allowed)}."
            )
        else:
            sentence = (
                f"unknown {key_phrase(key)}{hint}; the keys allowed here are {', '.join(allowed)}."
            )
        found.append((where, (*path, key_in_path(key)), sentence))
    return found


def _on_const(root: MDict, path: Path, error: Any) -> list[Found]:
    _, where, raw = spot_of(root, path)
    if path == ("version",):
        return [(where, path, _version_sentence(error.instance, raw))]
    return _fallback(root, path, error)


def _on_enum(root: MDict, path: Path, error: Any) -> list[Found]:
    where = spot_of(root, path)[1]
    value = error.instance
    if path[-1] == "type":
        sentence = (
            f"unknown type '{value}'{_did_you_mean(str(value), kinds.registry())}; "
            f"the known types are: {_known_types()}."
        )
        return [(where, path, sentence)]
    if path[-1] == "specName":
        kind = _kind_of(root, path)
        names = list(kind.auth_specs) if kind is not None else list(error.validator_value)
        title = f" for {kind.name}" if kind is not None else ""
        sentence = (
            f"unknown auth spec '{value}'{title}{_did_you_mean(str(value), names)}; "
            f"use one of: {_quoted_list(names)}."
        )
        return [(where, path, sentence)]
    return _fallback(root, path, error)


def _on_pattern(root: MDict, path: Path, error: Any) -> list[Found]:
    if "propertyNames" in error.absolute_schema_path and path == ("connections",):
        address = error.instance
        where = spot_of(root, (*path, address))[0]
        sentence = (
            f"'{address}' is not a valid address; use 1 to 63 lowercase letters, digits, "
            "'-' or '_', starting with a letter."
        )
        return [(where, (*path, address), sentence)]
    if path == ("sandbox",):
        _, where, _ = spot_of(root, path)
        sentence = (
            f"'{error.instance}' is not a valid sandbox name; write the sandbox's all-lowercase "
            "name (letters, digits and '-'), e.g. prod."
        )
        return [(where, path, sentence)]
    return []  # text with a malformed ${env:...}: the reference check words it


def _on_min_length(root: MDict, path: Path, error: Any) -> list[Found]:
    _, where, _ = spot_of(root, path)
    if path[-1] == "name":
        return [(where, path, "is empty; give the connection's name as it should appear in AEP.")]
    return [(where, path, "must not be empty.")]


def _on_min_properties(root: MDict, path: Path, error: Any) -> list[Found]:
    _, where, _ = spot_of(root, path)
    if path == ("connections",):
        return [(where, path, "is empty; declare at least one connection under it.")]
    return [(where, path, "must not be empty.")]


def _on_any_of(root: MDict, path: Path, error: Any) -> list[Found]:
    if path == () and all("required" in option for option in error.validator_value):
        sections = [option["required"][0] for option in error.validator_value]
        others = ", ".join(s for s in sections if s != "connections")
        sentence = (
            "is missing; declare the connections under a 'connections:' mapping "
            f"(or the ingestion chain's {others})."
        )
        return [(root.start, ("connections",), sentence)]
    return _fallback(root, path, error)


def _fallback(root: MDict, path: Path, error: Any) -> list[Found]:
    _, where, _ = spot_of(root, path)
    return [
        (
            where,
            path,
            (
                f"does not match the manifest schema (rule '{error.validator}'); "
                f"see schemas/{SCHEMA_NAME}."
            ),
        )
    ]


_HANDLERS: dict[str, Callable[[MDict, Path, Any], list[Found]]] = {
    "type": _on_type,
    "required": _on_required,
    "additionalProperties": _on_additional,
    "const": _on_const,
    "enum": _on_enum,
    "pattern": _on_pattern,
    "minLength": _on_min_length,
    "minProperties": _on_min_properties,
    "anyOf": _on_any_of,
}
