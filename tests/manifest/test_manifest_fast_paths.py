"""The manifest loader's shortcuts give what the general paths give: the YAML builder's inline
event loop against its handlers, the compiled schema against jsonschema, and the checks' cache
of parsed ${env:} texts against a problem at every place."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from provisioner import manifest
from provisioner.errors import ManifestError
from provisioner.manifest import fastschema, yamltree
from provisioner.manifest.located import MDict, MList
from tests.manifest.manifest_helpers import ENV

Write = Callable[[str, str | bytes], str]

# -- the YAML builder: the inline loop against feeding every event to the handlers ----------

NESTED = [
    "a:\n  b:\n    c: 1\n  d: [1, 2, {e: f}]\n",
    "- a\n- [b, [c, d]]\n- {x: {y: z}}\n- - - deep\n",
    "base: &b {k: v, n: [1, 2]}\nuse: *b\nmerged:\n  <<: *b\n  k: mine\n",
    "list: &l [a, b]\nagain: *l\nsub:\n  - *l\n  - {m: *l}\n",
    "? [a, b]\n: value\nafter: {c: d}\n",
    "? {a: b}\n: value\nnext: [1]\n",
    "tagged: !!map {a: 1}\nseq: !!seq [1]\nodd: !custom {a: 1}\n",
    "dup:\n  a: {x: 1}\n  a: [2]\nafter: 3\n",
    "skip: {a: 1, a: {b: 2}, c: [3]}\n",
    "merge_bad:\n  <<: [1, 2]\n  k: v\nm2:\n  <<: {a: 1}\n",
    "empty: {}\nnone: []\nnested: {a: {}, b: [[], {}]}\n",
    "[1, {a: [2, {b: 3}]}, [[4]]]\n",
    "{a: 1}\n",
    "x: " + "[" * 40 + "]" * 40 + "\n",
    "anch: &x\n  a: [1, &y {b: 2}]\nref: *y\n",
]


def _by_handlers(text: str) -> yamltree._Builder:
    """The builder fed every event through its handlers (no inline path)."""
    builder = yamltree._Builder()
    try:
        for event in yaml.parse(text, Loader=yamltree._LOADER):
            builder.feed(event)
    except yamltree._Stop:
        pass
    return builder


def _shape(value: Any) -> Any:
    """A value with every position it remembers, for comparing two builds exactly."""
    if isinstance(value, MDict):
        return (
            "map",
            value.start,
            [(k, _shape(v), tuple(value.spots[k])) for k, v in value.items()],
        )
    if isinstance(value, MList):
        return ("list", value.start, [(_shape(v), tuple(s)) for v, s in zip(value, value.spots)])
    return (type(value).__name__, value)


@pytest.mark.parametrize("text", NESTED)
def test_inline_event_loop_builds_what_the_handlers_build(text: str) -> None:
    tree, problems = yamltree.parse(text)
    reference = _by_handlers(text)
    assert _shape(tree.root) == _shape(reference.root)
    assert tree.start == reference.root_pos
    assert problems == reference.problems


# -- the compiled schema: type-first tests and aliases agree with jsonschema ---------------

CHAINED: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": {"$ref": "#/$defs/alias"},
        "tags": {"type": "array", "minItems": 1, "maxItems": 3, "items": {"$ref": "#/$defs/word"}},
        "kind": {"type": "string", "enum": ["a", "b"]},
        "fixed": {"type": "string", "const": "x"},
        "tree": {"$ref": "#/$defs/tree"},
        "loose": {"items": {"type": "integer"}, "minItems": 1, "pattern": "^z", "minLength": 2},
        "count": {"type": "integer", "minimum": 1},
    },
    "$defs": {
        "alias": {"$ref": "#/$defs/alias2"},
        "alias2": {"$ref": "#/$defs/word"},
        "word": {"type": "string", "pattern": "^[a-z]+$", "minLength": 2, "maxLength": 5},
        "tree": {
            "type": "object",
            "properties": {"children": {"type": "array", "items": {"$ref": "#/$defs/tree"}}},
            "additionalProperties": {"$ref": "#/$defs/alias"},
        },
    },
}

_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 3),
    st.sampled_from(["", "a", "b", "x", "ab", "abcdef", "Ab", "zz", "z", "name"]),
)
_VALUES = st.recursive(
    _LEAVES,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(["children", "k", "name", "q"]), inner, max_size=3),
    max_leaves=12,
)
_DOCS = st.dictionaries(
    st.sampled_from(["name", "tags", "kind", "fixed", "tree", "loose", "count", "other"]),
    _VALUES,
    max_size=6,
)


@pytest.mark.slow
@settings(max_examples=400, deadline=None)
@given(_DOCS)
def test_compiled_schema_agrees_with_jsonschema(doc: dict[str, Any]) -> None:
    check = fastschema.compile(CHAINED)
    assert check(doc) == jsonschema.Draft202012Validator(CHAINED).is_valid(doc)


def test_a_schema_that_is_one_reference_is_that_function() -> None:
    check = fastschema.compile(CHAINED, "#/$defs/alias")
    assert check("ab") and not check("a") and not check("AB") and not check(1)
    gen = fastschema._Generator(CHAINED)
    gen.ref("#")
    assert gen.aliases  # the $ref chains became names, not wrapper functions
    assert not any(line.startswith("if not f_") for line in gen.lines if "(v)" in line)


# -- ${env:} texts parsed once per file: every place still reports its own problem ----------

ENTRY = """\
  {address}:
    type: amazon-s3
    name: {name}
    description: {description}
    auth:
      specName: Access Key
      params:
        s3AccessKey: {access}
        s3SecretKey: ${{env:MARKETING_S3_SECRET_KEY}}
"""


def _manifest(*entries: dict[str, str]) -> str:
    return "version: 1\nconnections:\n" + "".join(ENTRY.format(**e) for e in entries)


def test_a_repeated_malformed_reference_is_reported_where_each_is_written(write: Write) -> None:
    text = _manifest(
        {"address": "one", "name": "One", "description": "'${env:oops'", "access": "AKIA1"},
        {"address": "two", "name": "Two", "description": "'${env:oops'", "access": "AKIA2"},
    )
    with pytest.raises(ManifestError) as caught:
        manifest.load([write("m.yaml", text)], sandbox_override=None, default_sandbox="prod",
                      environ=ENV)
    problems = [p for p in caught.value.problems if "not closed" in p.message]
    assert [(p.line, p.path) for p in problems] == [
        (6, "connections.one.description"),
        (15, "connections.two.description"),
    ]


def test_a_repeated_reference_resolves_and_is_checked_at_each_place(write: Write) -> None:
    text = _manifest(
        {"address": "one", "name": "One", "description": "d ${env:SHARED}", "access": "${env:SHARED}"},
        {"address": "two", "name": "Two", "description": "d ${env:SHARED}", "access": "${env:SHARED}"},
    )
    loaded = manifest.load([write("m.yaml", text)], sandbox_override=None,
                           default_sandbox="prod", environ={**ENV, "SHARED": "v"})
    assert [r.document["description"] for r in loaded.resources] == ["d v", "d v"]
    assert [r.document["auth"]["params"]["s3AccessKey"] for r in loaded.resources] == ["v", "v"]
    with pytest.raises(ManifestError) as caught:
        manifest.load([write("m.yaml", text)], sandbox_override=None, default_sandbox="prod",
                      environ=ENV)
    unset = [(p.line, p.path) for p in caught.value.problems if "SHARED" in p.message]
    assert unset == [
        (6, "connections.one.description"),
        (10, "connections.one.auth.params.s3AccessKey"),
        (15, "connections.two.description"),
        (19, "connections.two.auth.params.s3AccessKey"),
    ]


def test_a_secret_variable_in_shown_text_is_reported_where_it_is_written(write: Write) -> None:
    text = _manifest(
        {"address": "one", "name": "One", "description": "d", "access": "AKIA1"},
        {"address": "two", "name": "Two", "description": "'${env:MARKETING_S3_SECRET_KEY}'",
         "access": "AKIA2"},
    )
    with pytest.raises(ManifestError) as caught:
        manifest.load([write("m.yaml", text)], sandbox_override=None, default_sandbox="prod",
                      environ=ENV)
    shown = [p for p in caught.value.problems if "holds a secret" in p.message]
    assert [(p.file, p.line, p.column, p.path) for p in shown] == [
        ("m.yaml", 15, 18, "connections.two.description")
    ]
    assert "(it is used as one at m.yaml:11:22)" in shown[0].message
