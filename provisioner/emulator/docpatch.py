"""JSON Patch (RFC 6902 add/replace/remove) on a chain resource's editable fields."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from provisioner.emulator import errors


def _invalid(reason: str) -> errors.HttpError:
    return errors.flow(
        "1455-400", f"An error has occurred while validating patch instructions: {reason}."
    )


def pointer(path: Any) -> list[str]:
    if not isinstance(path, str) or not path.startswith("/") or path == "/":
        raise _invalid(f"invalid path {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def apply(
    body: dict[str, Any],
    ops: list[dict[str, Any]],
    check: Callable[[list[str]], None],
) -> dict[str, Any]:
    """A patched copy of `body`; `check(parts)` raises for a path that may not be changed."""
    out = copy.deepcopy(body)
    for op in ops:
        kind = str(op.get("op", "")).lower()
        if kind not in ("add", "replace", "remove"):
            raise errors.flow(
                "1434-400",
                f"Unsupported operation '{op.get('op')}' received. Please use one of the "
                "supported operation types and try again.",
            )
        parts = pointer(op.get("path"))
        check(parts)
        if kind != "remove" and "value" not in op:
            raise _invalid(f'Missing field "value" in {kind} {op.get("path")}')
        _apply_one(out, kind, parts, copy.deepcopy(op.get("value")), str(op.get("path")))
    return out


def _apply_one(doc: dict[str, Any], kind: str, parts: list[str], value: Any, path: str) -> None:
    parent: Any = doc
    for step in parts[:-1]:
        if isinstance(parent, dict) and step in parent:
            parent = parent[step]
        elif isinstance(parent, list) and step.isdigit() and int(step) < len(parent):
            parent = parent[int(step)]
        elif isinstance(parent, dict) and kind == "add":
            parent[step] = {}
            parent = parent[step]
        else:
            raise _invalid(f'Missing field "{path}"')
    last = parts[-1]
    if isinstance(parent, list):
        if last == "-" and kind == "add":
            parent.append(value)
            return
        if (
            not last.isdigit()
            or int(last) > len(parent)
            or (kind != "add" and int(last) == len(parent))
        ):
            raise _invalid(f'Missing field "{path}"')
        index = int(last)
        if kind == "add":
            parent.insert(index, value)
        elif kind == "replace":
            parent[index] = value
        else:
            del parent[index]
        return
    if not isinstance(parent, dict):
        raise _invalid(f'Missing field "{path}"')
    if kind == "remove":
        if last not in parent:
            raise _invalid(f'Missing field "{path}"')
        del parent[last]
    elif kind == "replace" and last not in parent:
        # Lenient, as the service is with connections: replace of an absent field adds it.
        parent[last] = value
    else:
        parent[last] = value
