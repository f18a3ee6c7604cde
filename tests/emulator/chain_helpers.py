"""Builders of the ingestion chain for the emulator tests: bodies as Adobe's tutorials send them,
and a fake clock that moves only when a test says so."""

from __future__ import annotations

from typing import Any

from emulator_helpers import S3, Api

FLOW_SPEC = "9753525b-82c7-4dce-8a9b-5ccfce2b9876"
DATA_LAKE = "c604ff05-7f1a-43c0-8e18-33bf874cb11c"
CAMPAIGN_DATASET = "6461e5e5b8a3f41c0a1f2b3c"
XED_FULL = "application/vnd.adobe.xed-full+json;version=1"
START = 1_772_323_200  # 2026-03-01T00:00:00Z


class FakeClock:
    """Epoch seconds that move only by advance()."""

    def __init__(self, now: float = START) -> None:
        self.now = float(now)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def dataset(api: Api, name: str = "Campaign events") -> tuple[str, str]:
    """(dataset id, schema id) found by name through Catalog."""
    resp = api.call(
        "GET", "/data/foundation/catalog/dataSets", params={"name": name, "properties": "schemaRef"}
    )
    assert resp.status_code == 200, resp.text
    [(dataset_id, body)] = resp.json().items()
    return dataset_id, body["schemaRef"]["id"]


def source_body(base_id: str, path: str = "/acme-marketing/exports/*.csv", **extra: Any) -> dict:
    return {
        "name": "Campaign exports",
        "baseConnectionId": base_id,
        "data": {"format": "delimited", "properties": {"columnDelimiter": ","}},
        "params": {"path": path, "type": "folder", "recursive": False},
        "connectionSpec": {"id": S3, "version": "1.0"},
        **extra,
    }


def target_body(dataset_id: str, schema_id: str, **extra: Any) -> dict:
    return {
        "name": "Campaign events in the lake",
        "data": {"schema": {"id": schema_id, "version": XED_FULL}},
        "params": {"dataSetId": dataset_id},
        "connectionSpec": {"id": DATA_LAKE, "version": "1.0"},
        **extra,
    }


def mapping_body(schema_id: str, *pairs: tuple[str, str]) -> dict:
    pairs = pairs or (("email", "personalEmail.address"), ("country", "homeAddress.countryCode"))
    return {
        "outputSchema": {"schemaRef": {"id": schema_id, "contentType": XED_FULL}},
        "mappings": [{"sourceType": "ATTRIBUTE", "source": s, "destination": d} for s, d in pairs],
    }


def flow_body(
    source_id: str, target_id: str, mapping_id: str, version: int = 0, **schedule: Any
) -> dict:
    """As the spec types it (interval and mappingVersion strings); the tutorials' integers are
    accepted too (see the tests that send them without request validation)."""
    return {
        "name": "Campaign exports to the lake",
        "flowSpec": {"id": FLOW_SPEC, "version": "1.0"},
        "sourceConnectionIds": [source_id],
        "targetConnectionIds": [target_id],
        "transformations": [
            {"name": "Mapping", "params": {"mappingId": mapping_id, "mappingVersion": str(version)}}
        ],
        "scheduleParams": schedule or {"startTime": START, "frequency": "hour", "interval": "1"},
    }


def created(resp: Any, status: int = 201) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    return dict(resp.json())


class Chain:
    """One whole chain in a sandbox: base, source, target, mapping set and flow ids."""

    def __init__(self, api: Api, **schedule: Any) -> None:
        self.api = api
        self.base = api.create()["id"]
        self.dataset, self.schema = dataset(api)
        self.source = created(api.call("POST", "/sourceConnections", json=source_body(self.base)))
        self.target = created(
            api.call("POST", "/targetConnections", json=target_body(self.dataset, self.schema))
        )
        self.mapping = created(
            api.call(
                "POST", "/data/foundation/conversion/mappingSets", json=mapping_body(self.schema)
            ),
            200,
        )
        self.flow = created(
            api.call(
                "POST",
                "/flows",
                json=flow_body(
                    self.source["id"], self.target["id"], self.mapping["id"], **schedule
                ),
            )
        )
