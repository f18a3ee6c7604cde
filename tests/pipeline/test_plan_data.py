"""The plan's one data form: `plan --json` and the saved plan's `plan` are the same document, and
its decoder is the inverse of its encoder (issue 10, item 4)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provisioner import plan_data, planfile, schemas_loader
from provisioner.diff import FieldChange
from provisioner.plan import Action, Change, Drift, Plan
from tests.aep import RawApi, s3, write_manifest
from tests.pipeline.conftest import SECRET

ORG = "TESTORG0000000000000000@AdobeOrg"
MASK = "(sensitive)"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schemas_loader.load("plan.schema.json"))


# -- the encoder and decoder on their own: a property over generated changes ---------------------

_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
_value = st.one_of(st.none(), st.booleans(), st.integers(-10, 10), _text,
                   st.lists(st.integers(0, 3), max_size=2), st.dictionaries(_text, st.integers(0, 3), max_size=2))
_address = st.from_regex(r"\A[a-z][a-z0-9_-]{0,10}(\.mapping)?\Z")
_path = st.from_regex(r"\A[a-z]{1,6}(\.[a-z]{1,6}){0,2}\Z")
_fingerprints = st.dictionaries(_path, st.from_regex(r"\Ahmac-sha256:[0-9a-f]{64}\Z"), max_size=2)


@st.composite
def field_changes(draw: st.DrawFn) -> FieldChange:
    sensitive = draw(st.booleans())
    value = st.sampled_from([MASK, None]) if sensitive else _value
    before, after = draw(value), draw(value)
    unknown = draw(st.booleans()) and after is None and not sensitive
    if before is None and after is None and not unknown:  # an add adds something (or an id)
        unknown = not sensitive
        after = MASK if sensitive else None
    return FieldChange(draw(_path), before, after, sensitive=sensitive,
                       forces_replacement=draw(st.booleans()), unknown=unknown)


@st.composite
def changes(draw: st.DrawFn, address: str) -> Change:
    action = draw(st.sampled_from(list(Action)))
    has_id = action not in (Action.CREATE, Action.RECREATE) and draw(st.booleans()) or action in (
        Action.ADOPT, Action.UPDATE, Action.REPLACE)
    drift = draw(st.none() | st.builds(
        Drift, st.booleans(), st.lists(field_changes(), max_size=2).map(tuple),
        st.none() | _text, st.none() | st.integers(1, 2**42)))
    return Change(
        action=action, org=ORG, sandbox=draw(st.sampled_from(["prod", "dev"])), address=address,
        kind=draw(st.sampled_from(["amazon-s3", "dataflow", "mapping", "data-lake"])), name=draw(_text),
        fields=tuple(draw(st.lists(field_changes(), max_size=3))),
        remote_id=draw(_text) if has_id else None, remote_etag=draw(st.none() | _text) if has_id else None,
        also_update=action is Action.ADOPT and draw(st.booleans()), protect=draw(st.booleans()),
        drift=drift, secret_fingerprints=dict(sorted(draw(_fingerprints).items())),
        depends_on=tuple(draw(st.lists(_address, max_size=2))), moved_from=draw(st.none() | _address),
    )


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    addresses = draw(st.lists(_address, unique=True, max_size=5))
    return Plan(
        org=ORG, changes=tuple(draw(changes(a)) for a in addresses), lineage=draw(_text),
        serial=draw(st.integers(0, 99)), manifest_digest=draw(_text),
        sandboxes=tuple(sorted(draw(st.sets(st.sampled_from(["prod", "dev"]))))),
        allow_delete=draw(st.booleans()), warnings=tuple(draw(st.lists(_text, max_size=2))),
        state_digests=draw(st.dictionaries(st.sampled_from(["prod", "dev"]), _text)),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans())
def test_round_trip_is_identity_and_valid(plan: Plan) -> None:
    doc = plan_data.document(plan)
    back = plan_data.plan_from_document(json.loads(json.dumps(doc)), state_digests=plan.state_digests)
    assert back == plan  # the decoder is the inverse of the encoder
    assert plan_data.document(back) == doc
    jsonschema.Draft202012Validator(schemas_loader.load("plan.schema.json")).validate(doc)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(plans())
def test_the_saved_plan_holds_the_json_document_and_loads_back(tmp_path: Path, plan: Plan) -> None:
    saved = planfile.SavedPlan(plan=plan, paths=("m.yaml",), sandbox=None, emulator=True,
                               desired={}, salt=None, endpoint="emulator")
    path = tmp_path / "p.bin"
    planfile.save(path, saved)
    on_disk = json.loads(path.read_text())
    assert on_disk["plan"] == json.loads(json.dumps(plan_data.document(plan)))
    assert planfile.load(path) == saved


@pytest.mark.parametrize("a, b, where", [
    ({"x": [1, 2]}, {"x": [1, 3]}, "/x/1"),
    ({"a/b": 1}, {"a/b": 2}, "/a~1b"),
    ({"x": 1}, {"x": 1, "y": 2}, "/y"),
    ([1], [1, 2], "/1"),
    ({"x": True}, {"x": 1}, "/x"),
    ({"x": {"y": None}}, {"x": {"y": None}}, None),
])
def test_first_difference_is_a_json_pointer(a: Any, b: Any, where: str | None) -> None:
    assert plan_data.first_difference(a, b) == where


# -- the real CLI against the emulator: --json and --out of the same plan ------------------------


def manifest(tmp_path: Path, **conns: dict[str, Any]) -> Path:
    return write_manifest(tmp_path / "m.yaml", conns)


def json_and_saved(cli: Any, tmp_path: Path, *extra: str) -> tuple[dict[str, Any], dict[str, Any]]:
    r = cli("plan", "m.yaml", "--json", "--out", "plan.bin", *extra)
    assert r.code == 0, r.err
    assert SECRET not in r.out + (tmp_path / "plan.bin").read_text()
    return json.loads(r.out), json.loads((tmp_path / "plan.bin").read_text())


def test_json_and_saved_plan_are_one_document_over_every_action(
    env: Any, cli: Any, tmp_path: Path, validator: Any
) -> None:
    manifest(tmp_path, keep=s3("Keep"), edit=s3("Edit"), drop=s3("Drop"), swap=s3("Swap"))
    r = cli("apply", "m.yaml", "--auto-approve")
    assert r.code == 0, r.err
    RawApi(env.url).create("Adoptable")
    swapped = s3("Swap")
    swapped["auth"] = {"specName": "IAMRole Based", "params": {"bucketName": "acme-landing"}}
    manifest(tmp_path, keep=s3("Keep"), edit=s3("Edit", description="changed"), swap=swapped,
             adopt=s3("Adoptable"), fresh=s3("Fresh"))
    printed, saved = json_and_saved(cli, tmp_path, "--allow-delete")
    validator.validate(printed)
    assert saved["plan"] == printed  # the same document, change for change
    by_address = {c["address"]: c["action"] for c in printed["changes"]}
    assert by_address == {"adopt": "adopt", "drop": "delete", "edit": "update", "fresh": "create",
                          "keep": "no-op", "swap": "replace"}
    assert printed["format_version"] == "1.2"
    fresh = next(c for c in printed["changes"] if c["address"] == "fresh")
    assert list(fresh["secret_fingerprints"]) == ["auth.params.s3SecretKey"]
    # show PLANFILE --json re-encodes what the one decoder read: the same document again
    shown = cli("show", "plan.bin", "--json")
    assert shown.code == 0, shown.err
    assert json.loads(shown.out) == printed
    applied = cli("apply", "plan.bin")
    assert applied.code == 0, applied.err


def test_a_hand_edited_saved_plan_is_refused_naming_the_pointer_and_nothing_is_sent(
    env: Any, cli: Any, tmp_path: Path
) -> None:
    manifest(tmp_path, alpha=s3("Alpha"))
    _, saved = json_and_saved(cli, tmp_path)
    saved["plan"]["changes"][0]["fields"].insert(1, {"path": "name", "change": "sideways"})
    (tmp_path / "plan.bin").write_text(json.dumps(saved, indent=2))
    for command in (("apply", "plan.bin"), ("show", "plan.bin", "--json")):
        r = cli(*command)
        assert r.code == 1
        assert "plan.bin is damaged: /plan/changes/0/fields/1/before is missing" in r.err
        assert "Traceback" not in r.err and r.out == ""
    assert RawApi(env.url).list() == []


def test_a_saved_plan_of_an_older_version_is_refused(env: Any, cli: Any, tmp_path: Path) -> None:
    manifest(tmp_path, alpha=s3("Alpha"))
    _, saved = json_and_saved(cli, tmp_path)
    old = {**saved["plan"], "format": "provisioner-saved-plan", "format_version": 2}  # v2's layout
    (tmp_path / "plan.bin").write_text(json.dumps(old))
    r = cli("apply", "plan.bin")
    assert r.code == 1
    assert "plan.bin was saved by an older provisioner" in r.err
    assert "run 'provisioner plan --out plan.bin' again" in r.err
    assert RawApi(env.url).list() == []


# -- the compiled check that answers for valid files never accepts what the schema refuses -------

_json = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.floats(allow_nan=False, width=16) | _text,
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(_text, inner, max_size=2),
    max_leaves=4,
)


def _spots(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _spots(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _spots(v, (*path, i))
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_the_fast_check_agrees_with_jsonschema_on_edited_files(data: st.DataObject) -> None:
    from provisioner.planfile import codec, validation
    from tests.pipeline.plans import every_action

    plan = data.draw(st.sampled_from([every_action()]) | plans())
    doc = json.loads(codec.dumps(planfile.SavedPlan(
        plan=plan, paths=("m.yaml",), sandbox=None, emulator=True, desired={"prod/a": {"name": "A"}},
        salt=None, endpoint="emulator")))
    for _ in range(data.draw(st.integers(1, 3))):
        spot = data.draw(st.sampled_from(_spots(doc)[1:]))
        parent = doc
        for key in spot[:-1]:
            parent = parent[key]
        if data.draw(st.booleans()):
            parent[spot[-1]] = data.draw(_json)
        elif isinstance(parent, dict):
            del parent[spot[-1]]
    schema = schemas_loader.load("plan.schema.json")
    import referencing
    import referencing.jsonschema

    registry: Any = referencing.Registry().with_resource(
        schema["$id"], referencing.jsonschema.DRAFT202012.create_resource(schema))
    full = jsonschema.Draft202012Validator({"$ref": schema["$id"] + "#/$defs/saved_plan"}, registry=registry)
    assert (validation.first_problem(doc) is None) == full.is_valid(doc)
