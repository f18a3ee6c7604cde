"""The manifest JSON Schema: well-formed for editors, in step with the kinds registry and with the
fast checks the loader uses instead of it on valid documents."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from provisioner import kinds, schemas_loader
from provisioner.manifest import conformance, references, schema_check
from tests.conftest import REPO

SCHEMA = schemas_loader.load("manifest.schema.json")


def subschemas(node: Any, where: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            yield from subschemas(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from subschemas(value, f"{where}/{i}")


def test_schema_is_draft_2020_12_with_an_id() -> None:
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    # A URN: a name, not a made-up web address that someone else could own.
    assert SCHEMA["$id"] == "urn:aep-provisioner:schemas:manifest.schema.json"
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_loader_reads_the_repository_file() -> None:
    assert (
        schemas_loader.path("manifest.schema.json").read_bytes()
        == (REPO / "schemas" / "manifest.schema.json").read_bytes()
    )
    assert schemas_loader.load("manifest.schema.json") == json.loads(
        (REPO / "schemas" / "manifest.schema.json").read_text()
    )


def test_every_property_has_a_title_and_description_for_editors() -> None:
    missing = [
        f"{where}/properties/{name}"
        for where, node in subschemas(SCHEMA)
        if isinstance(node.get("properties"), dict) and "/if" not in where
        for name, prop in node["properties"].items()
        if not (prop.get("title") and prop.get("description"))
        and not set(prop) <= {"const", "$ref"}  # overlays: the referenced def has them
    ]
    assert missing == []


def test_every_object_refuses_unknown_keys() -> None:
    open_objects = [
        where
        for where, node in subschemas(SCHEMA)
        if "properties" in node and "/if" not in where and "/then" not in where
        if node.get("additionalProperties") is not False
    ]
    assert open_objects == []


def test_schema_matches_the_kinds_registry() -> None:
    defs = SCHEMA["$defs"]
    assert defs["connection"]["properties"]["type"]["enum"] == sorted(kinds.registry())
    s3 = kinds.get("amazon-s3")
    auth = defs["amazonS3Auth"]
    assert sorted(auth["properties"]["specName"]["enum"]) == sorted(s3.auth_specs)
    by_spec = {
        rule["if"]["properties"]["specName"]["const"]: rule["then"]["properties"]["params"]["$ref"]
        for rule in auth["allOf"]
    }
    assert sorted(by_spec) == sorted(s3.auth_specs)
    for name, ref in by_spec.items():
        spec = s3.auth_specs[name]
        params = defs[ref.removeprefix("#/$defs/")]
        assert set(params["required"]) == spec.required, name
        assert set(params["properties"]) == spec.params, name
        for param, rule in params["properties"].items():
            expected = "#/$defs/envReference" if param in spec.secret else "#/$defs/text"
            assert rule["$ref"] == expected, (name, param)


def test_schema_patterns_are_the_ones_the_loader_uses() -> None:
    defs = SCHEMA["$defs"]
    props = SCHEMA["properties"]
    assert defs["text"]["pattern"] == "^" + conformance.TEXT.pattern + "$"
    assert defs["envReference"]["pattern"] == "^" + conformance.ENV_REFERENCE.pattern + "$"
    assert props["sandbox"]["pattern"] == "^" + conformance.SANDBOX.pattern + "$"
    assert props["connections"]["propertyNames"]["pattern"] == (
        "^" + conformance.ADDRESS.pattern + "$"
    )


# -- the fast path never accepts what the schema refuses ----------------------------------

BASE: dict[str, Any] = {
    "version": 1,
    "sandbox": "prod",
    "connections": {
        "marketing": {
            "type": "amazon-s3",
            "name": "Marketing",
            "description": "Exports ${env:YEAR}",
            "protect": True,
            "auth": {
                "specName": "Access Key",
                "params": {
                    "s3AccessKey": "${env:KEY}",
                    "s3SecretKey": "${env:SECRET}",
                    "s3SessionToken": "${env:TOKEN}",
                    "serviceUrl": "https://s3.eu-west-1.amazonaws.com",
                    "bucketName": "bucket",
                    "folderPath": "a/b",
                },
            },
        },
        "catalog": {
            "type": "amazon-s3",
            "name": "Catalog",
            "auth": {"specName": "IAMRole Based", "params": {"bucketName": "catalog"}},
        },
    },
}

PATHS = [
    (),
    ("connections",),
    ("connections", "marketing"),
    ("connections", "marketing", "auth"),
    ("connections", "marketing", "auth", "params"),
    ("connections", "catalog"),
    ("connections", "catalog", "auth"),
    ("connections", "catalog", "auth", "params"),
]
KEYS = [
    "version",
    "sandbox",
    "connections",
    "marketing",
    "catalog",
    "Bad",
    "type",
    "name",
    "description",
    "protect",
    "auth",
    "specName",
    "params",
    "s3AccessKey",
    "s3SecretKey",
    "s3SessionToken",
    "serviceUrl",
    "bucketName",
    "folderPath",
    "extra",
]
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 2),
    st.floats(allow_nan=False),
    st.sampled_from(
        [
            "",
            "prod",
            "Prod",
            "amazon-s3",
            "amazon-s4",
            "Access Key",
            "IAMRole Based",
            "${env:X}",
            "${env:}",
            "${ENV:X}",
            "x ${env:Y} z",
            "$${",
            "${env:X",
            "a$b",
            "name",
        ]
    ),
    st.text(max_size=8),
    st.just({}),
    st.just([]),
)


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(PATHS))
        node: Any = doc
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            continue
        key = draw(st.sampled_from(KEYS))
        if draw(st.booleans()) and key in node:
            del node[key]
        else:
            node[key] = draw(VALUES)
    return doc


def test_fast_path_accepts_the_valid_base() -> None:
    assert conformance.conforms(BASE)
    assert list(schema_check.validator().iter_errors(BASE)) == []
    examples = yaml.safe_load((REPO / "examples" / "connections.yaml").read_text())
    assert conformance.conforms(examples)


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(mutated())
def test_fast_path_never_accepts_what_the_schema_refuses(doc: dict[str, Any]) -> None:
    if conformance.conforms(doc):
        assert list(schema_check.validator().iter_errors(doc)) == []


# -- the reference parser agrees with the schema's text pattern ---------------------------

TEXT_PATTERN = re.compile(SCHEMA["$defs"]["text"]["pattern"], re.DOTALL)


@pytest.mark.slow
@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="${}env:ENVX_1a ", max_size=24))
def test_reference_parser_agrees_with_the_schema_pattern(text: str) -> None:
    _, malformed = references.parse(text)
    assert (not malformed) == bool(TEXT_PATTERN.search(text))


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="${}env:ENVX_1a ", max_size=24))
def test_resolving_well_formed_text_round_trips(text: str) -> None:
    parts, malformed = references.parse(text)
    if malformed:
        return
    resolved, unset = references.resolve(parts, {})
    # with nothing set, references keep their text and only the $${ escapes change
    assert resolved == text.replace("$${", "${")
    assert len(unset) == sum(isinstance(p, references.Reference) for p in parts)


# -- the same for the ingestion chain's sections ------------------------------------------

CHAIN: dict[str, Any] = {
    **copy.deepcopy(BASE),
    **yaml.safe_load((REPO / "examples" / "chain.yaml").read_text()),
}
CHAIN_PATHS = [
    (),
    ("datasets", "campaign-events"),
    ("sources", "campaign-exports"),
    ("targets", "campaign-lake"),
    ("dataflows", "campaign-ingest"),
    ("dataflows", "campaign-ingest", "schedule"),
]
CHAIN_KEYS = [
    "name", "id", "type", "connection", "path", "format", "delimiter", "compression",
    "recursive", "dataset", "source", "target", "mapping", "schedule", "enabled", "frequency",
    "interval", "start", "backfill", "datasets", "sources", "targets", "dataflows", "extra",
]
CHAIN_VALUES = st.one_of(
    VALUES,
    st.sampled_from(["delimited", "json", "csv", "gzip", "once", "minute", "hour", "data-lake",
                     "2026-12-01T00:00:00Z", "2026-12-01", "6461e5e5b8a3f41c0a1f2b3c", ",", ";;"]),
    st.integers(0, 20),
    st.just([{"source": "a", "destination": "b"}]),
    st.just([{"destination": "b"}]),
)


@st.composite
def mutated_chain(draw: st.DrawFn) -> dict[str, Any]:
    doc = copy.deepcopy(CHAIN)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(CHAIN_PATHS))
        node: Any = doc
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            continue
        key = draw(st.sampled_from(CHAIN_KEYS))
        if draw(st.booleans()) and key in node:
            del node[key]
        else:
            node[key] = draw(CHAIN_VALUES)
    return doc


def test_fast_path_accepts_the_valid_chain() -> None:
    assert conformance.conforms(CHAIN)
    assert list(schema_check.validator().iter_errors(CHAIN)) == []


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(mutated_chain())
def test_fast_path_never_accepts_a_chain_the_schema_refuses(doc: dict[str, Any]) -> None:
    if conformance.conforms(doc):
        assert list(schema_check.validator().iter_errors(doc)) == []
