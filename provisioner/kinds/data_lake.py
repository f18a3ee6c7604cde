"""`targets:` entries of `type: data-lake`: a dataset in the data lake (Flow Service target
connections, connection spec Data Lake).

Document: {name, description?, data: {schema: {id, version}}, params: {dataSetId}}; the schema id
is the dataset's, read from Catalog. Another dataset is patched in place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from provisioner.document import Ref
from provisioner.kinds import Endpoint, Kind, Reference
from provisioner.kinds.amazon_s3_source import _remote
from provisioner.kinds.chain import DATA_LAKE_SPEC_ID, XED_FULL
from provisioner.kinds.schema_files import fragment
from provisioner.model import Remote


class DataLake(Kind):
    name = "data-lake"
    section = "targets"
    type_name = "data-lake"
    label = "target"
    title = "Data lake target connection"
    endpoint = Endpoint(
        "flowservice",
        "/targetConnections",
        (("property", f"connectionSpec.id=={DATA_LAKE_SPEC_ID}"),),
    )
    references = (Reference("dataset", "datasets", ("params", "dataSetId")),)
    order = 3

    def schema_defs(self) -> dict[str, Any]:
        return fragment("data_lake")

    def desired(self, entry: Mapping[str, Any]) -> dict[str, Any]:
        dataset: Ref = entry["dataset"]
        out: dict[str, Any] = {"name": entry["name"]}
        if entry.get("description"):
            out["description"] = entry["description"]
        out["data"] = {"schema": {"id": Ref(dataset.address, "schemaId"), "version": XED_FULL}}
        out["params"] = {"dataSetId": dataset}
        return out

    def attributes_of(self, document: Mapping[str, Any]) -> dict[str, Any]:
        schema = (document.get("data") or {}).get("schema") or {}
        return {"schemaId": schema.get("id")}

    def read(self, item: Mapping[str, Any], sandbox: str) -> Remote:
        document: dict[str, Any] = {"name": str(item.get("name", ""))}
        if item.get("description"):
            document["description"] = str(item["description"])
        schema = ((item.get("data") or {}).get("schema")) or {}
        document["data"] = {
            "schema": {"id": str(schema.get("id", "")), "version": str(schema.get("version", ""))}
        }
        params = item.get("params") or {}
        document["params"] = {"dataSetId": str(params.get("dataSetId", ""))}
        remote = _remote(self.name, item, sandbox, document)
        return replace(remote, attributes=self.attributes_of(document))

    def body(self, document: Mapping[str, Any]) -> dict[str, Any]:
        return {**document, "connectionSpec": {"id": DATA_LAKE_SPEC_ID, "version": "1.0"}}


KIND = DataLake()
