"""JSON Patch (RFC 6902 add/replace/remove) on the patchable fields of a connection."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from provisioner.emulator import errors
from provisioner.emulator.store import Row


class _Kept:
    """Marks a secret param the patch left alone: only its digest is known."""

    def __repr__(self) -> str:
        return "KEPT"


KEPT: Any = _Kept()
_READ_ONLY = {
    "id",
    "createdAt",
    "updatedAt",
    "createdBy",
    "updatedBy",
    "createdClient",
    "updatedClient",
    "sandboxId",
    "sandboxName",
    "imsOrgId",
    "state",
    "version",
    "etag",
    "auth",
}


@dataclass
class Result:
    name: Any
    description: str | None
    params: dict[str, Any]  # new values are strings, untouched secrets are KEPT


def parse_ops(body: Any) -> list[dict[str, Any]]:
    """The operations of a PATCH body: a JSON array (a lone object is taken as one operation)."""
    if isinstance(body, dict):
        body = [body]
    if not isinstance(body, list) or not body:
        raise errors.flow(
            "1405-400",
            "The request body cannot be null or empty. Please provide a request body and try again.",
        )
    for op in body:
        if not isinstance(op, dict):
            raise errors.flow("1455-400", _invalid("each operation must be a JSON object"))
    return body


def _invalid(reason: str) -> str:
    return f"An error has occurred while validating patch instructions: {reason}."


def _pointer(path: Any) -> list[str]:
    if not isinstance(path, str) or not path.startswith("/"):
        raise errors.flow("1455-400", _invalid(f"invalid path {path!r}"))
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def apply(row: Row, ops: list[dict[str, Any]]) -> Result:
    result = Result(
        name=row.name,
        description=row.description,
        params={**row.params, **{k: KEPT for k in row.secrets}},
    )
    for op in ops:
        _apply_one(result, op)
    return result


def _apply_one(result: Result, op: dict[str, Any]) -> None:
    kind = str(op.get("op", "")).lower()
    if kind not in ("add", "replace", "remove"):
        raise errors.flow(
            "1434-400",
            f"Unsupported operation '{op.get('op')}' received. Please use one of the supported "
            "operation types and try again.",
        )
    parts = _pointer(op.get("path"))
    if kind != "remove" and "value" not in op:
        raise errors.flow("1455-400", _invalid(f'Missing field "value" in {kind} {op.get("path")}'))
    value = op.get("value")
    if parts[0] == "connectionSpec":
        raise errors.flow("1414-400", "The connection spec of a connection cannot be updated.")
    if parts == ["name"]:
        result.name = None if kind == "remove" else value
    elif parts == ["description"]:
        if kind == "remove":
            if result.description is None:
                raise errors.flow("1455-400", _invalid('Missing field "description"'))
            result.description = None
        elif not isinstance(value, str):
            raise errors.flow("1455-400", _invalid("description must be a string"))
        else:
            result.description = value
    elif parts == ["auth", "params"]:
        if kind == "remove":
            result.params = {}
        elif not isinstance(value, dict):
            raise errors.flow("1455-400", _invalid("/auth/params must be an object"))
        else:
            result.params = dict(value)
    elif len(parts) == 3 and parts[:2] == ["auth", "params"]:
        name = parts[2]
        if kind == "remove":
            if name not in result.params:
                raise errors.flow("1455-400", _invalid(f'Missing field "{name}"'))
            del result.params[name]
        else:
            result.params[name] = value
    elif parts[0] in _READ_ONLY:
        raise errors.flow("1455-400", _invalid(f"the field {'/'.join(parts)} cannot be updated"))
    else:
        raise errors.flow("1455-400", _invalid(f'Missing field "{"/".join(parts)}"'))
