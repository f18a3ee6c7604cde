"""Catalog's dataset look-ups (`/data/foundation/catalog/dataSets`): answers keyed by id."""

from __future__ import annotations

import fnmatch
from typing import Any

from provisioner.emulator import fixtures
from provisioner.emulator.dataprep import invalid, problem
from provisioner.emulator.ims import Principal

DATASET_CONTENT_TYPE = "application/vnd.adobe.xed+json;version=1"
_KNOWN = frozenset(
    {
        "name",
        "limit",
        "start",
        "properties",
        "property",
        "orderBy",
        "version",
        "created",
        "updated",
        "createdClient",
        "createdUser",
        "updatedUser",
        "description",
        "tags",
        "enableErrorDiagnostics",
    }
)


def render(who: Principal, d: fixtures.Dataset) -> dict[str, Any]:
    return {
        "version": "1.0.0",
        "imsOrg": who.org,
        "name": d.name,
        "description": d.description,
        "created": d.created,
        "updated": d.created,
        "createdClient": "emulator",
        "createdUser": "emulator@AdobeID",
        "updatedUser": "emulator@AdobeID",
        "viewId": d.id[:-1] + ("0" if d.id[-1] != "0" else "1"),
        "basePath": f"s3://emulator-lake/{d.id}",
        "files": f"@/dataSetFiles?dataSetId={d.id}",
        "observableSchema": {},
        "schemaRef": {"id": d.schema.id, "contentType": DATASET_CONTENT_TYPE},
        "tags": {"adobe/pqs/table": [d.name.lower().replace(" ", "_")]},
    }


def _project(body: dict[str, Any], properties: list[str] | None) -> dict[str, Any]:
    if properties is None:
        return body
    return {k: v for k, v in body.items() if k in properties}


def _property_test(expr: str) -> Any:
    """Catalog's `property=`: `name==a,b`, `name!=a`, `name~regex`, or a bare field (exists)."""
    import re

    for op in ("==", "!=", "~"):
        if op in expr:
            field, _, raw = expr.partition(op)
            field = field.strip()
            if op == "~":
                try:
                    pattern = re.compile(raw)
                except re.error:
                    raise invalid(f"property={expr} has an invalid regular expression.") from None
                return lambda b: isinstance(b.get(field), str) and bool(pattern.search(b[field]))
            values = set(raw.split(","))
            if op == "==":
                return lambda b: str(b.get(field)) in values
            return lambda b: str(b.get(field)) not in values
    if expr.startswith("!"):
        return lambda b: expr[1:] not in b
    return lambda b: expr in b


class Catalog:
    def __init__(self, catalog: fixtures.Catalog) -> None:
        self.catalog = catalog

    def listing(self, who: Principal, params: dict[str, list[str]]) -> dict[str, Any]:
        unknown = sorted(set(params) - _KNOWN)
        if unknown:
            raise invalid(f"The query parameter {unknown[0]} is not supported.")
        limit_text = (params.get("limit") or ["20"])[-1]
        start_text = (params.get("start") or ["0"])[-1]
        try:
            limit, start = int(limit_text), int(start_text)
        except ValueError:
            raise invalid("limit and start must be integers.") from None
        if not 1 <= limit <= 100:
            raise invalid(f"limit={limit_text} must be between 1 and 100.")
        if start < 0:
            raise invalid(f"start={start_text} must be 0 or more.")
        bodies = [(d.id, render(who, d)) for d in self.catalog.datasets]
        if params.get("name"):
            patterns = params["name"][-1].split(",")
            bodies = [
                (i, b)
                for i, b in bodies
                if any(fnmatch.fnmatchcase(b["name"], p) for p in patterns)
            ]
        for expr in params.get("property", []):
            test = _property_test(expr)
            bodies = [(i, b) for i, b in bodies if test(b)]
        props = params.get("properties")
        wanted = props[-1].split(",") if props else None
        return {i: _project(b, wanted) for i, b in bodies[start : start + limit]}

    def get(self, who: Principal, id_: str, params: dict[str, list[str]]) -> dict[str, Any]:
        d = self.catalog.dataset(id_)
        if d is None:
            raise problem(404, "Not Found", f"The dataset {id_} does not exist.")
        props = params.get("properties")
        return {d.id: _project(render(who, d), props[-1].split(",") if props else None)}
