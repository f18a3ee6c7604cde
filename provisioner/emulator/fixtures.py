"""Read-only fixtures of the chain: the CloudStorageToAEP flow spec, the data lake target spec,
XDM schemas and Catalog datasets, and the bucket tree that explore and runs read."""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass, field
from typing import Any

from provisioner.emulator.specs import S3_SPEC_ID

FLOW_SPEC_ID = "9753525b-82c7-4dce-8a9b-5ccfce2b9876"
DATA_LAKE_SPEC_ID = "c604ff05-7f1a-43c0-8e18-33bf874cb11c"
PROVIDER_ID = "0ed90a81-07f4-4586-8190-b40eccef1c5a"
_DRAFT7 = "http://json-schema.org/draft-07/schema#"
TENANT = "emulator"

# As Adobe's flow spec example lists them (flow-service.yaml, POST /flowSpecs example).
_SOURCE_SPECS = [
    "b3ba5556-48be-44b7-8b85-ff2b69b46dc4",
    S3_SPEC_ID,
    "b7829c2f-2eb0-4f49-a6ee-55e33008b629",
    "4c10e202-c428-4796-9208-5f1f5732b1cf",
    "fb2e94c9-c031-467d-8103-6bd6e0a432f2",
    "32e8f412-cdf7-464c-9885-78184cb113fd",
    "b7bf2577-4520-42c9-bae9-cad01560f7bc",
    "998b8ae3-cec0-43b7-8abe-40b1eb4ee069",
    "be5ec48c-5b78-49d5-b8fa-7c89ec4569b8",
    "54e221aa-d342-4707-bcff-7a4bceef0001",
    "c85f9425-fb21-426c-ad0b-405e9bd8a46c",
]

FLOW_SPEC: dict[str, Any] = {
    "id": FLOW_SPEC_ID,
    "name": "CloudStorageToAEP",
    "providerId": PROVIDER_ID,
    "version": "1.0",
    "attributes": {
        "isSourceFlow": True,
        "flacValidationSupported": True,
        "frequency": "batch",
        "isDraftModeSupported": True,
        "notification": {"category": "sources", "flowRun": {"enabled": True}},
    },
    "sourceConnectionSpecIds": _SOURCE_SPECS,
    "targetConnectionSpecIds": [DATA_LAKE_SPEC_ID],
    "permissionsInfo": {
        "view": [{"@type": "lowLevel", "name": "EnterpriseSource", "permissions": ["read"]}],
        "manage": [{"@type": "lowLevel", "name": "EnterpriseSource", "permissions": ["write"]}],
    },
    "optionSpec": {
        "name": "OptionSpec",
        "spec": {
            "$schema": _DRAFT7,
            "type": "object",
            "properties": {
                "errorDiagnosticsEnabled": {
                    "title": "Error diagnostics.",
                    "description": "Flag to enable detailed and sample error diagnostics summary.",
                    "type": "boolean",
                    "default": False,
                },
                "partialIngestionPercent": {
                    "title": "Partial ingestion threshold.",
                    "description": "Percentage which defines the threshold of errors allowed "
                    "before the run is marked as failed.",
                    "type": "number",
                    "exclusiveMinimum": 0,
                },
            },
        },
    },
    # The schema declares `transformationSpecs` as one object (FlowSpecItemDTO).
    "transformationSpecs": {
        "name": "Mapping",
        "spec": {
            "$schema": _DRAFT7,
            "type": "object",
            "description": "defines various params required for different mapping from source "
            "to target",
            "properties": {"mappingId": {"type": "string"}, "mappingVersion": {"type": "string"}},
        },
    },
    "scheduleSpec": {
        "name": "PeriodicSchedule",
        "type": "Periodic",
        "spec": {
            "$schema": _DRAFT7,
            "type": "object",
            "properties": {
                "startTime": {"description": "epoch time", "type": "integer"},
                "frequency": {
                    "type": "string",
                    "enum": ["once", "minute", "hour", "day", "week"],
                },
                "interval": {"type": "integer"},
                "backfill": {"type": "boolean", "default": True},
            },
            "required": ["startTime", "frequency"],
            "if": {"properties": {"frequency": {"const": "once"}}},
            "then": {
                "allOf": [{"not": {"required": ["interval"]}}, {"not": {"required": ["backfill"]}}]
            },
            "else": {
                "required": ["interval"],
                "if": {"properties": {"frequency": {"const": "minute"}}},
                "then": {"properties": {"interval": {"minimum": 15}}},
                "else": {"properties": {"interval": {"minimum": 1}}},
            },
        },
    },
    "runSpec": {
        "name": "ProviderParams",
        "spec": {
            "$schema": _DRAFT7,
            "type": "object",
            "properties": {
                "startTime": {"type": "integer"},
                "windowStartTime": {"type": "integer"},
                "windowEndTime": {"type": "integer"},
            },
            "required": ["startTime", "windowStartTime", "windowEndTime"],
        },
    },
}
FLOW_SPECS = {FLOW_SPEC_ID: FLOW_SPEC}


def flow_spec(spec_id: str) -> dict[str, Any] | None:
    spec = FLOW_SPECS.get(spec_id)
    return None if spec is None else copy.deepcopy(spec)


# -- XDM schemas and datasets ----------------------------------------------------------------

# Field paths of the seeded schemas (leaf paths; their parents exist too).
EVENT_FIELDS = (
    "_id",
    "timestamp",
    "eventType",
    "personalEmail.address",
    "homeAddress.countryCode",
    "homeAddress.city",
    "person.name.firstName",
    "person.name.lastName",
    "marketing.campaignId",
)
PROFILE_FIELDS = (
    "_id",
    "personalEmail.address",
    "homeAddress.countryCode",
    "homeAddress.city",
    "person.name.firstName",
    "person.name.lastName",
    "person.birthDate",
    "mobilePhone.number",
)


@dataclass(frozen=True)
class Schema:
    id: str
    title: str
    fields: tuple[str, ...]

    def paths(self) -> frozenset[str]:
        """Every leaf path and every parent of one (a mapping may target an object)."""
        out: set[str] = set()
        for leaf in self.fields:
            parts = leaf.split(".")
            out.update(".".join(parts[: i + 1]) for i in range(len(parts)))
        return frozenset(out)


@dataclass(frozen=True)
class Dataset:
    id: str
    name: str
    schema: Schema
    description: str = ""
    created: int = 1767225600000  # 2026-01-01T00:00:00Z


def _hex(text: str, n: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def _schema_id(key: str) -> str:
    return f"https://ns.adobe.com/{TENANT}/schemas/{_hex('schema/' + key, 40)}"


CAMPAIGN_SCHEMA = Schema(_schema_id("campaign-events"), "Campaign events schema", EVENT_FIELDS)
PROFILE_SCHEMA = Schema(_schema_id("customer-profiles"), "Customer profiles schema", PROFILE_FIELDS)

DEFAULT_DATASETS = (
    Dataset(
        "6461e5e5b8a3f41c0a1f2b3c",
        "Campaign events",
        CAMPAIGN_SCHEMA,
        "Marketing campaign events (seeded by the emulator)",
    ),
    Dataset(
        "6461e5e5b8a3f41c0a1f2b3d",
        "Customer profiles",
        PROFILE_SCHEMA,
        "Customer profile records (seeded by the emulator)",
    ),
)


def extra_dataset(name: str, index: int) -> Dataset:
    """The dataset of one `--dataset NAME`: its id and schema id follow from name and position,
    so they are the same after a restart; its schema has the campaign event fields."""
    key = f"{index}/{name}"
    schema = Schema(_schema_id("dataset/" + key), f"{name} schema", EVENT_FIELDS)
    return Dataset(_hex("dataset/" + key, 24), name, schema, f"{name} (--dataset)")


@dataclass(frozen=True)
class Catalog:
    """The datasets and schemas every org and sandbox sees."""

    datasets: tuple[Dataset, ...]
    schemas: dict[str, Schema] = field(default_factory=dict)

    @classmethod
    def build(cls, extra_names: tuple[str, ...]) -> Catalog:
        datasets = DEFAULT_DATASETS + tuple(
            extra_dataset(name, i) for i, name in enumerate(extra_names)
        )
        return cls(datasets, {d.schema.id: d.schema for d in datasets})

    def dataset(self, id_: str) -> Dataset | None:
        return next((d for d in self.datasets if d.id == id_), None)


# -- the bucket tree -------------------------------------------------------------------------


@dataclass(frozen=True)
class File:
    path: str  # "/bucket/folder/name"
    size: int
    records: int
    bad_records: int = 0
    modified: int = 1767225600000
    columns: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[1]


_CAMPAIGN_COLUMNS = ("id", "email", "first_name", "last_name", "country", "city", "campaign")
FILES = (
    File("/acme-marketing/exports/campaign-2026-01.csv", 18_234, 120, 0, columns=_CAMPAIGN_COLUMNS),
    File("/acme-marketing/exports/campaign-2026-02.csv", 14_410, 95, 2, columns=_CAMPAIGN_COLUMNS),
    File("/acme-marketing/exports/events.json", 9_876, 40, 0, columns=_CAMPAIGN_COLUMNS),
    File(
        "/acme-marketing/exports/archive/campaign-2025-12.csv.gz",
        4_120,
        80,
        0,
        columns=_CAMPAIGN_COLUMNS,
    ),
    File("/acme-marketing/images/logo.png", 2_048, 0),
    File(
        "/acme-sales/leads/leads.parquet",
        51_200,
        300,
        1,
        columns=("id", "email", "first_name", "last_name", "country"),
    ),
)
EMPTY_FOLDERS = ("/acme-sales/incoming",)  # exists, holds nothing


def folders() -> frozenset[str]:
    """Every folder path, without a trailing slash ("/acme-marketing", ...)."""
    out: set[str] = set(EMPTY_FOLDERS)
    for f in FILES:
        parts = f.path.strip("/").split("/")[:-1]
        out.update("/" + "/".join(parts[: i + 1]) for i in range(len(parts)))
    return frozenset(out)


def select_files(path: str, recursive: bool) -> list[File]:
    """The seeded files a source connection's `params.path` reads: one file, a folder (its
    files; every descendant when recursive) or a wildcard in the last segment."""
    import fnmatch

    trimmed = path.rstrip("/")
    last = trimmed.rsplit("/", 1)[-1]
    if "*" in last or "?" in last:
        folder, pattern = trimmed.rsplit("/", 1)[0], last
    elif trimmed in folders() or path.endswith("/"):
        folder, pattern = trimmed, "*"
    else:
        return [f for f in FILES if f.path == trimmed]
    out = []
    for f in FILES:
        parent = f.path.rsplit("/", 1)[0]
        inside = parent == folder or (recursive and parent.startswith(folder + "/"))
        if inside and fnmatch.fnmatchcase(f.name, pattern):
            out.append(f)
    return out


def seeded_names(extra: tuple[str, ...]) -> list[str]:
    """'Name (id)' of every seeded dataset, for the emulator's banner."""
    return [f"{d.name} ({d.id})" for d in Catalog.build(extra).datasets]
