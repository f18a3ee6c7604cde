"""`dataflows:` entries: Flow Service dataflows (flow spec CloudStorageToAEP) from a source
connection to a target connection, with a mapping set and a schedule.

Document: {name, description?, sourceConnectionIds, targetConnectionIds, transformations,
scheduleParams, state}. Name, description, schedule and transformations are patched; `state`
(from `enabled:`) changes through the flow's enable/disable action; another source or target
forces a new dataflow (Flow Service does not change a flow's connection ids in place).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from provisioner import document as doc
from provisioner.document import Ref
from provisioner.kinds import Endpoint, Kind, Reference
from provisioner.kinds import mapping as mapping_kind
from provisioner.kinds.amazon_s3_source import _remote
from provisioner.kinds.chain import FLOW_SPEC_ID
from provisioner.kinds.schema_files import fragment
from provisioner.model import Remote


def epoch(text: str) -> int:
    """Epoch seconds of an RFC 3339 UTC time ("2026-12-01T00:00:00Z")."""
    return int(dt.datetime.fromisoformat(text).timestamp())


def schedule(entry: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"startTime": epoch(entry["start"]), "frequency": entry["frequency"]}
    if entry["frequency"] != "once":
        out["interval"] = str(entry["interval"])
        if "backfill" in entry:
            out["backfill"] = entry["backfill"]
    return out


class Dataflow(Kind):
    name = "dataflow"
    section = "dataflows"
    label = "dataflow"
    title = "Dataflow"
    endpoint = Endpoint(
        "flowservice", "/flows", (("property", f"flowSpec.id=={FLOW_SPEC_ID}"),)
    )
    forces_replacement = (("sourceConnectionIds",), ("targetConnectionIds",))
    patch_units = (("scheduleParams",), ("transformations",))
    actions: Mapping[doc.Path, Mapping[str, str]] = MappingProxyType(
        {("state",): {"enabled": "enable", "disabled": "disable"}}
    )
    references = (
        Reference("source", "sources", ("sourceConnectionIds", 0)),
        Reference("target", "targets", ("targetConnectionIds", 0)),
    )
    order = 5

    def schema_defs(self) -> dict[str, Any]:
        return fragment("dataflow")

    def desired(self, entry: Mapping[str, Any]) -> dict[str, Any]:
        raise AssertionError("a dataflow is declared through derived()")

    def derived(
        self, address: str, entry: Mapping[str, Any]
    ) -> list[tuple[str, str, dict[str, Any]]]:
        mapping_address = address + mapping_kind.SUFFIX
        target: Ref = entry["target"]
        flow: dict[str, Any] = {"name": entry["name"]}
        if entry.get("description"):
            flow["description"] = entry["description"]
        flow["sourceConnectionIds"] = [entry["source"]]
        flow["targetConnectionIds"] = [target]
        flow["transformations"] = [
            {
                "name": "Mapping",
                "params": {
                    "mappingId": Ref(mapping_address),
                    "mappingVersion": Ref(mapping_address, "version"),
                },
            }
        ]
        flow["scheduleParams"] = schedule(entry["schedule"])
        flow["state"] = "enabled" if entry.get("enabled", True) else "disabled"
        return [
            (
                mapping_address,
                mapping_kind.KIND.name,
                mapping_kind.document(
                    mapping_kind.name_for(address), target.address, entry["mapping"]
                ),
            ),
            (address, self.name, flow),
        ]

    def read(self, item: Mapping[str, Any], sandbox: str) -> Remote:
        document: dict[str, Any] = {"name": str(item.get("name", ""))}
        if item.get("description"):
            document["description"] = str(item["description"])
        document["sourceConnectionIds"] = [str(i) for i in item.get("sourceConnectionIds") or []]
        document["targetConnectionIds"] = [str(i) for i in item.get("targetConnectionIds") or []]
        document["transformations"] = [
            {
                "name": str(t.get("name", "")),
                "params": {
                    "mappingId": str((t.get("params") or {}).get("mappingId", "")),
                    "mappingVersion": str((t.get("params") or {}).get("mappingVersion", "")),
                },
            }
            for t in item.get("transformations") or []
            if isinstance(t, dict) and t.get("name") == "Mapping"
        ]
        params = item.get("scheduleParams") or {}
        shaped: dict[str, Any] = {
            "startTime": int(float(params.get("startTime", 0))),
            "frequency": str(params.get("frequency", "")),
        }
        if "interval" in params:
            shaped["interval"] = str(int(float(params["interval"])))
        if "backfill" in params:
            shaped["backfill"] = params["backfill"] in (True, "true")
        document["scheduleParams"] = shaped
        document["state"] = str(item.get("state", "enabled"))
        return _remote(self.name, item, sandbox, document)

    def body(self, document: Mapping[str, Any]) -> dict[str, Any]:
        body = {k: v for k, v in document.items() if k != "state"}
        body["flowSpec"] = {"id": FLOW_SPEC_ID, "version": "1.0"}
        return body

    def after_create(self, document: Mapping[str, Any]) -> list[str]:
        """The actions a new flow needs (Flow Service creates flows enabled)."""
        return ["disable"] if doc.get(document, ("state",)) == "disabled" else []


KIND = Dataflow()
