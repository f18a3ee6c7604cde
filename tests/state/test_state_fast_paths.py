"""The state package's fast paths give exactly what the plain ones gave.

- `codec.dumps` writes the bytes of `json.dumps(sort_keys=True, indent=2, ensure_ascii=False)`;
- the decoder's quick gate never lets through a record the full checks refuse (decoding with the
  gate switched off gives the same entries, or the same problems);
- StateEntry's one-walk freeze refuses exactly the documents the leaf rule refuses, and keeps
  its documents deep read-only and private;
- an entry's record, made once and shared, never leaks out to be changed.
"""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provisioner import document as doc
from provisioner.secrets import Secret, is_secret_key
from provisioner.state import State, StateEntry, StateStore, codec
from provisioner.state.journal import parse
from tests.state.state_helpers import ORG, SENTINEL, make_entry

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=25,
)


def reference_dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


# -- the encoder -----------------------------------------------------------------------------


@SETTINGS
@given(json_values)
def test_dumps_writes_the_bytes_json_dumps_writes(value: Any) -> None:
    assert codec.dumps(value) == reference_dumps(value)


def test_dumps_of_awkward_strings_and_numbers() -> None:
    value = {
        'quote"back\\slash': "line\nbreak\ttab\x00nul\x1f\u2028\u00e9\U0001f600",
        "numbers": [0, -0.0, 1e16, 1.5e-7, 2**70, math.inf, -math.inf, math.nan, True, None],
        "empty": [{}, [], ""],
        "": {"b": 1, "a": {"z": [], "y": {}}},
    }
    assert codec.dumps(value) == reference_dumps(value)


class Colour(enum.IntEnum):
    RED = 1


class Label(str):
    pass


@pytest.mark.parametrize(
    "value",
    [
        {1: "int key", 2: "another"},
        {True: "bool key"},
        {"a": Colour.RED},
        {"a": Label("a str subclass")},
        {"a": MappingProxyType({"b": 1})},
        {"a": (1, 2)},
        {"a": {1, 2}},
        {1: "a", "b": "mixed keys"},
    ],
)
def test_dumps_hands_anything_unusual_to_json_dumps(value: Any) -> None:
    try:
        expected: Any = reference_dumps(value)
    except Exception as exc:  # noqa: BLE001 - whatever json.dumps raises, dumps raises too
        with pytest.raises(type(exc)):
            codec.dumps(value)
        return
    assert codec.dumps(value) == expected


def test_dumps_refuses_a_circular_value_as_json_dumps_does() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(ValueError, match="Circular reference"):
        codec.dumps({"a": loop})


# -- the decoder's quick gate ----------------------------------------------------------------


@contextmanager
def gate_off() -> Iterator[None]:
    with (
        mock.patch.object(codec, "_plausible_keyed", lambda d, allowed: False),
        mock.patch.object(codec, "_plausible", lambda d: False),
    ):
        yield


def outcome(document: Any) -> tuple[str, Any]:
    try:
        state = codec.decode(document)
    except codec.Invalid as exc:
        return "invalid", exc.problems
    except codec.TooNew as exc:
        return "too new", exc.version
    return "ok", (state.lineage, state.serial, state.salt, dict(state.entries))


SOURCE = {
    "name": "exports",
    "baseConnectionId": "id-prod-1",
    "data": {"format": "delimited", "properties": {"columnDelimiter": ","}},
    "params": {"path": "bucket/exports", "recursive": True, "depth": 2},
}


def sample_state() -> dict[str, Any]:
    salt = "ab" * 16
    state = State(lineage="5d7c1a9e-2f1b-4c36-9a55-8a1f0e3b7c21", serial=3, salt=salt)
    source = StateEntry(
        org=ORG,
        sandbox="prod",
        address="exports",
        kind="amazon-s3-source",
        id="src-1",
        etag='"e-src"',
        document=SOURCE,
        secret_fingerprints={},
        depends_on=("conn-1",),
        attributes={"version": 2, "labels": ["a", "b"]},
    )
    state = state.with_changes(
        put=[make_entry(1, salt=salt), make_entry(2, salt=salt, description=""), source]
    )
    plain: dict[str, Any] = json.loads(codec.encode(state))
    return plain


def paths(node: Any, base: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [base]
    if isinstance(node, dict):
        for key, value in node.items():
            out += paths(value, base + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += paths(value, base + (i,))
    return out


KEYS = st.sampled_from(
    [
        "id",
        "etag",
        "protect",
        "name",
        "type",
        "kind",
        "auth",
        "params",
        "specName",
        "dependsOn",
        "attributes",
        "secretFingerprints",
        "s3SecretKey",
        "clientSecret",
        "connectionSpec",
        "x",
    ]
)


def at(document: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        document = document[part]
    return document


@st.composite
def damaged_states(draw: st.DrawFn) -> dict[str, Any]:
    document = sample_state()
    entries = paths(document["resources"], ("resources",))
    action = draw(st.sampled_from(["replace", "delete", "add"]))
    if action == "add":
        # A key added to one of the entry's objects (an unknown key, a secret parameter...).
        target = draw(
            st.sampled_from(
                [p for p in entries if len(p) >= 4 and isinstance(at(document, p), dict)]
            )
        )
        at(document, target)[draw(KEYS)] = draw(json_values)
        return document
    target = draw(st.sampled_from([p for p in entries if len(p) >= 4]))
    parent = at(document, target[:-1])
    last = target[-1]
    if action == "replace":
        parent[last] = draw(json_values | st.just("hmac-sha256:" + "0" * 64))
    elif isinstance(parent, dict):
        del parent[last]
    else:
        parent.pop(last)
    return document


@SETTINGS
@given(damaged_states())
def test_the_quick_gate_decides_nothing_the_full_checks_would_not(document: Any) -> None:
    fast = outcome(json.loads(json.dumps(document)))
    with gate_off():
        full = outcome(json.loads(json.dumps(document)))
    assert fast == full


def test_the_sample_state_passes_the_gate_and_round_trips() -> None:
    document = sample_state()
    calls: list[bool] = []
    keyed = codec._plausible_keyed

    def spy(d: dict[str, Any], allowed: frozenset[str]) -> bool:
        calls.append(keyed(d, allowed))
        return calls[-1]

    with mock.patch.object(codec, "_plausible_keyed", spy):
        state = codec.decode(document)
    assert calls == [True, True]
    assert json.loads(codec.encode(state)) == document


# -- StateEntry's freeze ---------------------------------------------------------------------


def leaf_rule(document: Mapping[str, Any]) -> bool:
    """The rule StateEntry has always applied: refuse when a leaf is a Secret or sits under a
    secret-looking key."""
    return any(
        isinstance(value, Secret) or (bool(path) and is_secret_key(str(path[-1])))
        for path, value in doc.leaves(document)
    )


doc_keys = st.sampled_from(["name", "a", "b", "s3SecretKey", "sessionToken", "bucketName"])
doc_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5) | st.just(Secret("v")),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(doc_keys, inner, max_size=3)
        | st.tuples(inner)
    ),
    max_leaves=12,
)


def read_only_throughout(node: Any) -> bool:
    if isinstance(node, Mapping):
        return isinstance(node, MappingProxyType) and all(
            read_only_throughout(v) for v in node.values()
        )
    if isinstance(node, list):
        return all(read_only_throughout(v) for v in node)
    return not isinstance(node, (dict, tuple))


@SETTINGS
@given(st.dictionaries(doc_keys, doc_values, max_size=4))
def test_an_entry_refuses_exactly_what_the_leaf_rule_refuses(document: dict[str, Any]) -> None:
    refused = leaf_rule(document)
    try:
        entry = StateEntry(
            org=ORG,
            sandbox="prod",
            address="a",
            kind="dataset",
            id="i",
            etag="e",
            document=document,
        )
    except ValueError as exc:
        assert refused, exc
        assert "looks secret" in str(exc)
        return
    assert not refused
    assert read_only_throughout(entry.document)
    assert doc.plain(entry.document) == doc.plain(document)


def test_an_entry_keeps_a_private_read_only_copy() -> None:
    document: dict[str, Any] = {
        "name": "n",
        "auth": {"specName": "Access Key", "params": {"bucketName": "b"}},
        "list": [{"x": 1}],
    }
    attributes: dict[str, Any] = {"version": {"n": 1}}
    entry = StateEntry(
        org=ORG,
        sandbox="prod",
        address="a",
        kind="dataset",
        id="i",
        etag="e",
        document=document,
        attributes=attributes,
    )
    document["auth"]["params"]["bucketName"] = "changed"
    document["list"][0]["x"] = 2
    attributes["version"]["n"] = 2
    assert entry.document["auth"]["params"]["bucketName"] == "b"
    assert entry.document["list"][0]["x"] == 1
    assert entry.attributes["version"]["n"] == 1
    with pytest.raises(TypeError):
        entry.document["auth"]["params"]["bucketName"] = "x"  # type: ignore[index]
    with pytest.raises(TypeError):
        entry.attributes["version"]["n"] = 3  # type: ignore[index]
    with pytest.raises(TypeError):
        entry.secret_fingerprints["k"] = "v"  # type: ignore[index]


def test_a_secret_under_an_empty_container_or_in_a_list_is_refused() -> None:
    for document in ({"s3SecretKey": {}}, {"s3SecretKey": []}, {"a": [Secret(SENTINEL)]}):
        with pytest.raises(ValueError, match="looks secret") as err:
            StateEntry(
                org=ORG,
                sandbox="prod",
                address="a",
                kind="dataset",
                id="i",
                etag="e",
                document=document,
            )
        assert SENTINEL not in str(err.value)


def test_entries_made_with_defaults_or_replace_compare_as_before() -> None:
    bare = StateEntry(org=ORG, sandbox="prod", address="a", kind="dataset", id="i", etag="e")
    assert bare.document == {} and bare.secret_fingerprints == {} and bare.attributes == {}
    assert bare.depends_on == () and bare.protect is False
    deps = StateEntry(
        org=ORG,
        sandbox="prod",
        address="a",
        kind="dataset",
        id="i",
        etag="e",
        depends_on=("b", "a", "b"),
    )
    assert deps.depends_on == ("a", "b")
    entry = make_entry(1)
    moved = replace(entry, address="other")
    assert moved.address == "other" and moved.document == entry.document
    assert replace(moved, address=entry.address) == entry
    assert hash(replace(moved, address=entry.address)) == hash(entry)


# -- the shared record -----------------------------------------------------------------------


def test_entry_doc_is_a_fresh_copy_and_the_encoding_stays_put() -> None:
    state = State(lineage="5d7c1a9e-2f1b-4c36-9a55-8a1f0e3b7c21", serial=1, salt="00" * 16)
    entry = make_entry(1)
    state = state.with_entry(entry)
    before = codec.encode(state)
    record = codec.entry_doc(entry)
    record["auth"]["params"]["bucketName"] = "tampered"
    record["id"] = "tampered"
    assert codec.encode(state) == before
    assert b"tampered" not in before
    assert codec.entry_doc(entry)["id"] == entry.id


def test_a_journal_line_holds_the_entry_as_the_state_file_does(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "provisioner.state.json")
    state = store.load()
    entry = make_entry(1, salt=state.salt)
    with store.writer(state) as w:
        w.put(entry)
        lines = store.journal_path.read_bytes().splitlines()
        journal = parse(store.journal_path.read_bytes())
        assert journal is not None
        assert journal.records == (("put", entry.key, entry),)
        assert json.loads(lines[1]) == {
            "op": "put",
            "org": ORG,
            "sandbox": "prod",
            "address": entry.address,
            "entry": codec.entry_doc(entry),
        }
        assert lines[1] == codec.dumps_line(json.loads(lines[1])).encode().rstrip(b"\n")
    saved = json.loads(store.path.read_bytes())
    assert saved["resources"][ORG]["prod"][entry.address] == codec.entry_doc(entry)
    assert SENTINEL.encode() not in store.path.read_bytes()


CONN = ("resources", ORG, "prod", "conn-1")
SRC = ("resources", ORG, "prod", "exports")
FP = "hmac-sha256:" + "0" * 64
DAMAGES: list[tuple[tuple[Any, ...], Any]] = [
    (CONN + ("auth", "params", "s3SecretKey"), "AKIA-secret"),
    (CONN + ("auth", "params", "bucketName"), 7),
    (CONN + ("auth", "secretFingerprints", "s3SecretKey"), "not a fingerprint"),
    (CONN + ("auth", "secretFingerprints"), ["list"]),
    (CONN + ("auth", "specName"), ""),
    (CONN + ("auth", "extra"), "x"),
    (CONN + ("connectionSpec", "id"), ""),
    (CONN + ("connectionSpec", "version"), 1),
    (CONN + ("connectionSpec",), "spec"),
    (CONN + ("type",), ""),
    (CONN + ("name",), None),
    (CONN + ("description",), 3),
    (CONN + ("protect",), "yes"),
    (CONN + ("id",), ""),
    (CONN + ("etag",), 1),
    (CONN + ("dependsOn",), ["a"]),
    (CONN + ("unknown",), 1),
    (CONN + ("kind",), "amazon-s3"),
    (SRC + ("protect",), 0),
    (SRC + ("id",), 5),
    (SRC + ("etag",), None),
    (SRC + ("dependsOn",), "conn-1"),
    (SRC + ("dependsOn",), ["conn-1", 2]),
    (SRC + ("attributes",), ["a"]),
    (SRC + ("secretFingerprints",), {"a.b": "plain"}),
    (SRC + ("secretFingerprints",), {"a.b": 1}),
    (SRC + ("secretFingerprints",), "x"),
    (SRC + ("clientSecret",), "in the document"),
]
MISSING = [CONN + ("auth",), CONN + ("id",), CONN + ("protect",), SRC + ("id",), SRC + ("etag",)]


@pytest.mark.parametrize(("path", "value"), DAMAGES)
def test_each_damage_the_gate_checks_is_refused_as_the_full_checks_refuse_it(
    path: tuple[Any, ...], value: Any
) -> None:
    document = sample_state()
    at(document, path[:-1])[path[-1]] = value
    fast = outcome(json.loads(json.dumps(document)))
    with gate_off():
        full = outcome(json.loads(json.dumps(document)))
    assert fast == full
    assert fast[0] == "invalid"


@pytest.mark.parametrize("path", MISSING)
def test_a_missing_key_is_refused_as_the_full_checks_refuse_it(path: tuple[Any, ...]) -> None:
    document = sample_state()
    del at(document, path[:-1])[path[-1]]
    fast = outcome(document)
    with gate_off():
        full = outcome(document)
    assert fast == full
    assert fast[0] == "invalid"


def test_a_valid_fingerprint_and_dependency_pass_the_gate() -> None:
    document = sample_state()
    at(document, SRC)["secretFingerprints"] = {"params.token": FP}
    at(document, SRC)["dependsOn"] = ["conn-2", "conn-1"]
    kind, (_l, _s, _salt, entries) = outcome(document)
    assert kind == "ok"
    source = entries[(ORG, "prod", "exports")]
    assert source.secret_fingerprints == {"params.token": FP}
    assert source.depends_on == ("conn-1", "conn-2")
