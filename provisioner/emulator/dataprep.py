"""Data Prep's mapping sets (`/data/foundation/conversion/mappingSets`): create (200), read a
version, list (`limit` + `start`), replace as a new version (PUT), delete when unused."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

from provisioner.emulator import errors, fixtures
from provisioner.emulator.chain import FLOW, MAPPING
from provisioner.emulator.ims import Principal
from provisioner.emulator.store import Documents, Store

SOURCE_TYPES = ("ATTRIBUTE", "EXPRESSION", "STATIC")
CONTENT_TYPE = "application/vnd.adobe.xed-full+json;version=1"
_INDEX = re.compile(r"\[[^\]]*\]")


def problem(status: int, title: str, detail: str) -> errors.HttpError:
    """Data Prep and Catalog document no error body: the emulator answers RFC 7807's shape."""
    return errors.HttpError(
        status,
        {
            "type": f"https://ns.adobe.com/aep/errors/{status}",
            "title": title,
            "status": status,
            "detail": detail,
        },
    )


def invalid(detail: str) -> errors.HttpError:
    return problem(400, "Invalid request", detail)


class MappingSets:
    def __init__(self, store: Store, catalog: fixtures.Catalog, clock: Callable[[], float]) -> None:
        self.store = store
        self.docs = Documents(store)
        self.catalog = catalog
        self.clock = clock

    def _now(self) -> int:
        return int(self.clock() * 1000)

    def _check(self, raw: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """(fields kept as sent, normalised mappings) of a create/PUT body, either form."""
        if not isinstance(raw, dict):
            raise invalid("The request body must be a JSON object.")
        ref = (raw.get("outputSchema") or {}).get("schemaRef") or {}
        schema_id = ref.get("id") if isinstance(ref, dict) else None
        content_type = ref.get("contentType") if isinstance(ref, dict) else None
        if not schema_id and isinstance(raw.get("xdmSchema"), str):  # the older form
            schema_id, content_type = raw["xdmSchema"], CONTENT_TYPE
        if not isinstance(schema_id, str) or not schema_id:
            raise invalid("outputSchema.schemaRef.id is required: the target XDM schema $id.")
        schema = self.catalog.schemas.get(schema_id)
        if schema is None:
            raise invalid(f"The XDM schema {schema_id} does not exist.")
        mappings = raw.get("mappings")
        if not isinstance(mappings, list) or not mappings:
            raise invalid("mappings must be a non-empty list.")
        paths = schema.paths()
        out = []
        for i, m in enumerate(mappings):
            if not isinstance(m, dict):
                raise invalid(f"mappings[{i}] must be an object.")
            source = m.get("source", m.get("sourceAttribute"))
            dest = m.get("destination", m.get("destinationXdmPath"))
            kind = str(m.get("sourceType") or "ATTRIBUTE").upper()
            if kind not in SOURCE_TYPES:
                raise invalid(
                    f"mappings[{i}].sourceType {m.get('sourceType')!r} is not one of "
                    f"{', '.join(SOURCE_TYPES)}."
                )
            if not isinstance(source, str) or not source:
                raise invalid(f"mappings[{i}].source is required.")
            if not isinstance(dest, str) or not dest:
                raise invalid(f"mappings[{i}].destination is required.")
            if _INDEX.sub("", dest) not in paths:
                raise invalid(
                    f"mappings[{i}].destination {dest!r} is not a field of the XDM schema "
                    f"{schema_id}."
                )
            entry: dict[str, Any] = {"sourceType": kind, "source": source, "destination": dest}
            for key in ("name", "description"):
                if isinstance(m.get(key), str):
                    entry[key] = m[key]
            out.append(entry)
        kept: dict[str, Any] = {
            "outputSchema": {
                "schemaRef": {"id": schema_id, "contentType": content_type or CONTENT_TYPE}
            }
        }
        for key in ("name", "description", "inputSchema"):
            if raw.get(key) is not None:
                kept[key] = raw[key]
        if "allowNullValues" in raw:
            kept["allowNullValues"] = bool(raw["allowNullValues"])
        return kept, out

    def _version(
        self,
        who: Principal,
        id_: str,
        number: int,
        kept: dict[str, Any],
        mappings: list[dict[str, Any]],
        created: int,
    ) -> dict[str, Any]:
        now = self._now()
        schema_ref = kept["outputSchema"]["schemaRef"]
        return {
            "id": id_,
            "version": number,
            "createdDate": created,
            "modifiedDate": now,
            "createdBy": who.client_id,
            "modifiedBy": who.client_id,
            "supportVersion": "1.1",
            **kept,
            "allowNullValues": kept.get("allowNullValues", False),
            "mappings": [
                {
                    "id": uuid.uuid4().hex,
                    "version": 0,
                    "createdDate": now,
                    "modifiedDate": now,
                    "createdBy": who.client_id,
                    "modifiedBy": who.client_id,
                    **m,
                    "identity": False,
                    "primaryIdentity": False,
                    "functionVersion": 1,
                    "sourceAttribute": m["source"],
                    "destinationXdmPath": m["destination"],
                }
                for m in mappings
            ],
            "status": "PUBLISHED",
            "strictMapping": False,
            "xdmVersion": "1.0",
            "schemaRef": dict(schema_ref),
            "xdmSchema": schema_ref["id"],
        }

    def create(self, who: Principal, sandbox: str, raw: Any) -> dict[str, Any]:
        kept, mappings = self._check(raw)
        id_ = uuid.uuid4().hex
        first = self._version(who, id_, 0, kept, mappings, self._now())
        self.docs.insert(MAPPING, who.org, sandbox, id_, {"versions": [first]})
        return {
            k: first[k]
            for k in ("id", "version", "createdDate", "modifiedDate", "createdBy", "modifiedBy")
        }

    def get(self, who: Principal, sandbox: str, id_: str, version: str | None) -> dict[str, Any]:
        doc = self.docs.get(MAPPING, who.org, sandbox, id_)
        if doc is None:
            raise problem(404, "Not Found", f"The mapping set {id_} does not exist.")
        versions = doc.body["versions"]
        if version is None:
            return dict(versions[-1])
        try:
            number = int(version)
        except ValueError:
            raise invalid(f"version={version!r} is not an integer.") from None
        if not 0 <= number < len(versions):
            raise problem(404, "Not Found", f"The mapping set {id_} has no version {number}.")
        return dict(versions[number])

    def put(self, who: Principal, sandbox: str, id_: str, raw: Any) -> dict[str, Any]:
        kept, mappings = self._check(raw)

        def change(old: dict[str, Any] | None) -> dict[str, Any]:
            if old is None:
                raise problem(404, "Not Found", f"The mapping set {id_} does not exist.")
            versions = list(old["versions"])
            created = versions[0]["createdDate"]
            versions.append(self._version(who, id_, len(versions), kept, mappings, created))
            return {"versions": versions}

        new = self.docs.update(MAPPING, who.org, sandbox, id_, change)
        return dict(new["versions"][-1])

    def delete(self, who: Principal, sandbox: str, id_: str) -> None:
        with self.store.atomic():
            if self.docs.get(MAPPING, who.org, sandbox, id_) is None:
                raise problem(404, "Not Found", f"The mapping set {id_} does not exist.")
            users = [
                d.id
                for d in self.docs.all(FLOW, who.org, sandbox)
                if any(
                    t.get("params", {}).get("mappingId") == id_
                    for t in d.body.get("transformations", [])
                )
            ]
            if users:
                raise invalid(
                    f"The mapping set {id_} is used by flow {', '.join(users)}; delete or "
                    "re-map the flow first."
                )
            self.docs.delete(MAPPING, who.org, sandbox, id_)

    def listing(self, who: Principal, sandbox: str, params: dict[str, list[str]]) -> dict[str, Any]:
        def number(name: str, least: int) -> int:
            values = params.get(name)
            if not values:
                raise invalid(f"The query parameter {name} is required.")
            try:
                value = int(values[-1])
            except ValueError:
                value = least - 1
            if value < least:
                raise invalid(f"{name}={values[-1]} is not an integer of at least {least}.")
            return value

        limit = min(number("limit", 1), 100)
        start = number("start", 0)
        found = [d.body["versions"][-1] for d in self.docs.all(MAPPING, who.org, sandbox)]
        name = params.get("name")
        if name:
            found = [m for m in found if m.get("name") == name[-1]]
        order = (params.get("orderBy") or ["-updatedDate"])[-1]
        descending = order.startswith("-")
        field = order.lstrip("+- ")
        key = {
            "createdDate": "createdDate",
            "updatedDate": "modifiedDate",
            "lastUpdateDate": "modifiedDate",
        }.get(field)
        if key is None:
            raise invalid(f"orderBy={order} is not createdDate or updatedDate.")
        found.sort(key=lambda m: (m[key], m["id"]), reverse=descending)
        page = found[start : start + limit]
        out: dict[str, Any] = {"data": page, "_page": {"count": len(found), "limit": limit}}
        if start + limit < len(found):
            out["_links"] = {
                "next": {
                    "href": f"/mappingSets?start={start + limit}&limit={limit}",
                    "templated": False,
                }
            }
        return out
