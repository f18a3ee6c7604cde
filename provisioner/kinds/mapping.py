"""Mapping sets (Data Prep): the mapping of one dataflow, declared inline under `mapping:` and
managed as a resource of its own at the address `FLOW.mapping`.

Data Prep has no etags: a mapping set has versions. A change is a PUT of the whole set, which
makes a new version; the dataflow then moves to it with a PATCH of its transformation (its
`mappingVersion` refers to this resource's `version`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from provisioner.document import Ref
from provisioner.kinds import Endpoint, Kind
from provisioner.kinds.chain import XED_FULL
from provisioner.model import Remote

SUFFIX = ".mapping"
_TYPES = {"text/x.schema-path": "ATTRIBUTE"}


def name_for(flow_address: str) -> str:
    """The mapping set's name: stable when the dataflow is renamed (a rename stays one PATCH of
    the flow), and how the set is found again by name after a lost state."""
    return f"provisioner mapping of dataflow {flow_address}"


def entries(mapping: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The API's mappings[] of the manifest's `mapping:` list."""
    out: list[dict[str, Any]] = []
    for m in mapping:
        if "expression" in m:
            out.append({"sourceType": "EXPRESSION", "source": m["expression"]})
        elif "value" in m:
            out.append({"sourceType": "STATIC", "source": m["value"]})
        else:
            out.append({"sourceType": "ATTRIBUTE", "source": m["source"]})
        out[-1]["destination"] = m["destination"]
    return out


def document(name: str, target: str, mapping: list[Mapping[str, Any]]) -> dict[str, Any]:
    return {
        "name": name,
        "outputSchema": {"schemaRef": {"id": Ref(target, "schemaId"), "contentType": XED_FULL}},
        "mappings": entries(mapping),
    }


class MappingSet(Kind):
    name = "mapping"
    section = ""  # no section of its own: declared inside a dataflow
    label = "mapping"
    title = "Data Prep mapping set"
    endpoint = Endpoint("conversion", "/mappingSets")
    update_by = "put"
    order = 4

    def read(self, item: Mapping[str, Any], sandbox: str) -> Remote:
        schema = (item.get("outputSchema") or {}).get("schemaRef") or item.get("schemaRef") or {}
        schema_id = schema.get("id") or item.get("xdmSchema") or ""
        mappings = []
        for m in item.get("mappings") or []:
            if not isinstance(m, dict):
                continue
            kind = str(m.get("sourceType", "ATTRIBUTE"))
            mappings.append(
                {
                    "sourceType": _TYPES.get(kind, kind).upper(),
                    "source": str(m.get("source", m.get("sourceAttribute", ""))),
                    "destination": str(m.get("destination", m.get("destinationXdmPath", ""))),
                }
            )
        version = str(item.get("version", 0))
        return Remote(
            kind=self.name,
            id=str(item["id"]),
            etag=version,
            sandbox=sandbox,
            document={
                "name": str(item.get("name") or ""),
                "outputSchema": {
                    "schemaRef": {
                        "id": str(schema_id),
                        "contentType": str(schema.get("contentType") or XED_FULL),
                    }
                },
                "mappings": mappings,
            },
            attributes={"version": version},
            created_at=item.get("createdDate"),
            created_by=item.get("createdBy"),
            updated_at=item.get("modifiedDate"),
            updated_by=item.get("modifiedBy"),
        )


KIND = MappingSet()
