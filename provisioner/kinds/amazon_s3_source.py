"""`sources:` entries of `type: amazon-s3`: a path and a file format in the bucket of a base
connection (Flow Service source connections, connection spec Amazon S3).

Document: {name, description?, baseConnectionId, data: {format, properties?}, params: {path,
recursive?}}. A new base connection forces a new source connection (Flow Service does not
change baseConnectionId in place); path, format, delimiter and compression are patched.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from provisioner.kinds import Endpoint, Kind, Reference
from provisioner.kinds.chain import S3_SPEC_ID
from provisioner.kinds.schema_files import fragment
from provisioner.model import Remote

_PROPERTIES = (("delimiter", "columnDelimiter"), ("compression", "compressionType"))


class AmazonS3Source(Kind):
    name = "amazon-s3-source"
    section = "sources"
    type_name = "amazon-s3"
    label = "source"
    title = "Amazon S3 source connection"
    endpoint = Endpoint(
        "flowservice", "/sourceConnections", (("property", f"connectionSpec.id=={S3_SPEC_ID}"),)
    )
    forces_replacement = (("baseConnectionId",),)
    references = (Reference("connection", "connections", ("baseConnectionId",)),)
    order = 2

    def schema_defs(self) -> dict[str, Any]:
        return fragment("amazon_s3_source")

    def desired(self, entry: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"name": entry["name"]}
        if entry.get("description"):
            out["description"] = entry["description"]
        out["baseConnectionId"] = entry["connection"]
        data: dict[str, Any] = {"format": entry["format"]}
        properties = {api: entry[key] for key, api in _PROPERTIES if key in entry}
        if properties:
            data["properties"] = properties
        out["data"] = data
        params: dict[str, Any] = {"path": entry["path"]}
        if "recursive" in entry:
            params["recursive"] = entry["recursive"]
        out["params"] = params
        return out

    def read(self, item: Mapping[str, Any], sandbox: str) -> Remote:
        document: dict[str, Any] = {"name": str(item.get("name", ""))}
        if item.get("description"):
            document["description"] = str(item["description"])
        document["baseConnectionId"] = str(item.get("baseConnectionId", ""))
        data = item.get("data") or {}
        shaped: dict[str, Any] = {"format": str(data.get("format", "")).lower()}
        props = data.get("properties") or {}
        properties = {
            api: props[api] for _key, api in _PROPERTIES if isinstance(props, dict) and api in props
        }
        if properties:
            shaped["properties"] = properties
        document["data"] = shaped
        params = item.get("params") or {}
        kept: dict[str, Any] = {"path": str(params.get("path", ""))}
        if "recursive" in params:
            recursive = params["recursive"]
            kept["recursive"] = recursive if isinstance(recursive, bool) else recursive == "true"
        document["params"] = kept
        return _remote(self.name, item, sandbox, document)

    def body(self, document: Mapping[str, Any]) -> dict[str, Any]:
        return {**document, "connectionSpec": {"id": S3_SPEC_ID, "version": "1.0"}}


def _remote(kind: str, item: Mapping[str, Any], sandbox: str, document: dict[str, Any]) -> Remote:
    return Remote(
        kind=kind,
        id=str(item["id"]),
        etag=str(item.get("etag", "")),
        sandbox=str(item.get("sandboxName") or sandbox),
        document=document,
        state=str(item.get("state", "enabled")),
        created_at=item.get("createdAt"),
        created_by=item.get("createdBy"),
        updated_at=item.get("updatedAt"),
        updated_by=item.get("updatedBy"),
    )


KIND = AmazonS3Source()
