"""`datasets:` entries: existing Catalog datasets, looked up by name or id, never managed.

A dataset gives the chain two values: its id (a target connection's params.dataSetId) and its
XDM schema id (the target's data.schema.id and the mapping set's output schema).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from provisioner.kinds import Endpoint, Kind
from provisioner.kinds.schema_files import fragment
from provisioner.model import Remote


class Dataset(Kind):
    name = "dataset"
    section = "datasets"
    label = "dataset"
    title = "Catalog dataset"
    endpoint = Endpoint("catalog", "/dataSets", (("properties", "name,schemaRef"),))
    managed = False
    adopt_by_name = False
    order = 1

    def schema_defs(self) -> dict[str, Any]:
        return fragment("dataset")

    def desired(self, entry: Mapping[str, Any]) -> dict[str, Any]:
        if "id" in entry:
            return {"id": entry["id"]}
        return {"name": entry["name"]}

    def read(self, item: Mapping[str, Any], sandbox: str) -> Remote:
        schema_ref = item.get("schemaRef") or {}
        return Remote(
            kind=self.name,
            id=str(item["id"]),
            etag="",
            sandbox=sandbox,
            document={"name": str(item.get("name", ""))},
            attributes={"id": str(item["id"]), "schemaId": str(schema_ref.get("id", ""))},
        )


KIND = Dataset()
