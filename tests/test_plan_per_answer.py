"""The comparison made in the read lanes, as each answer arrives, gives the plan the comparison
made after the last answer gives: through the real CLI against an emulator slow enough that the
answers arrive after the manifests are parsed, with and without the lanes' comparisons; and
`compute` takes a lane's comparison only for the very item and state entry it then uses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from provisioner import planner
from provisioner.model import Location, Remote, Resource
from provisioner.plan import Action, Plan
from provisioner.secrets import Secret
from provisioner.state import State, StateEntry
from tests.aep import RawApi, s3, write_manifest
from tests.conftest import point_env_at


@pytest.fixture
def slow(emulator_factory: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    emu = emulator_factory(latency_ms=150)
    point_env_at(monkeypatch, emu.url)
    monkeypatch.setenv("TEST_S3_KEY", "AKIAEXAMPLEKEY")
    monkeypatch.setenv("TEST_S3_SECRET", "first-secret-value")
    monkeypatch.setenv("BETA_SECRET", "beta-secret-value")
    return emu


def _manifest(tmp_path: Path, moved: bool = False, **changed: dict[str, Any]) -> None:
    entries = {
        "alpha": s3("Alpha bucket", description="first"),
        "beta": s3("Beta bucket", secret_env="BETA_SECRET", params={"bucketName": "b"}),
        "gamma": s3("Gamma bucket", description="remote drift"),
        "delta": s3("Delta bucket"),
        "epsilon": s3("Epsilon bucket", description="deleted outside"),
        "zeta": s3("Zeta bucket", description="kept"),
        "eta": s3("Eta bucket", description="to be moved"),
    }
    for i in range(40):
        entries[f"quiet-{i:02d}"] = s3(f"Quiet bucket {i:02d}")
    entries.update(changed)
    if moved:
        entries["eta-renamed"] = entries.pop("eta")
    path = tmp_path / "manifests" / "s3.yaml"
    write_manifest(path, entries)
    if moved:
        with path.open("a") as f:
            f.write("moved:\n  - from: eta\n    to: eta-renamed\n")


def test_lanes_compare_as_answers_arrive_and_plan_the_same(
    slow: Any, cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _manifest(tmp_path)
    assert cli("apply", "manifests", "--auto-approve").code == 0
    # Changes of every sort: in the manifest, a rotated secret, outside drift, a replace, a
    # deletion outside, a move, and a stranger bearing an owned name.
    _manifest(
        tmp_path,
        moved=True,
        alpha=s3("Alpha bucket", description="second"),
        delta=s3("Delta bucket", params={"folderPath": "in/"}),
        zeta={
            "type": "amazon-s3",
            "name": "Zeta bucket",
            "description": "kept",
            "auth": {"specName": "IAMRole Based", "params": {"bucketName": "zeta"}},
        },
    )
    monkeypatch.setenv("BETA_SECRET", "rotated-beta-secret")
    api = RawApi(slow.url)
    listed = {i["name"]: i for i in api.list()}
    api.patch(listed["Gamma bucket"]["id"], [{"op": "replace", "path": "/description", "value": "UI"}])
    api.delete(listed["Epsilon bucket"]["id"])
    api.create("Quiet bucket 07")

    used: list[int] = []
    compared_with = planner.Prepared.compared_with

    def counted(self: planner.Prepared, *args: Any) -> Any:
        found = compared_with(self, *args)
        used.append(found is not None)
        return found

    monkeypatch.setattr(planner.Prepared, "compared_with", counted)
    in_lanes = cli("plan", "manifests", "--json", "--detailed-exitcode", "--allow-delete")
    assert in_lanes.code == 2, in_lanes.err
    # The answers came after the comparison was prepared: most were compared in their lanes.
    assert sum(used) > len(used) // 2, used

    used.clear()
    monkeypatch.setattr(planner.Prepared, "compare", lambda self, sandbox, items: None)
    after = cli("plan", "manifests", "--json", "--detailed-exitcode", "--allow-delete")
    assert after.code == 2, after.err
    assert not any(used)
    assert in_lanes.out == after.out

    plan = {c["address"]: c for c in json.loads(in_lanes.out)["changes"]}
    assert plan["alpha"]["action"] == "update"
    assert plan["beta"]["action"] == "update"
    assert plan["gamma"]["action"] == "update" and plan["gamma"]["drift"]
    assert plan["delta"]["action"] == "update"
    assert plan["epsilon"]["action"] == "recreate"
    assert plan["zeta"]["action"] == "replace"
    assert plan["eta-renamed"]["moved_from"] == "eta"
    assert plan["quiet-00"]["action"] == "no-op"
    assert any("Quiet bucket 07" in w for w in json.loads(in_lanes.out)["warnings"])


DOC: dict[str, Any] = {
    "type": "amazon-s3",
    "name": "One",
    "description": "d",
    "auth": {"specName": "Access Key", "params": {"s3AccessKey": "AKIA", "bucketName": "b"}},
}


def test_a_lane_comparison_is_used_only_for_the_item_and_entry_it_was_made_with() -> None:
    document: dict[str, Any] = json.loads(json.dumps(DOC))
    document["auth"]["params"]["s3SecretKey"] = Secret("s")
    res = Resource(kind="amazon-s3", address="one", document=document, location=Location("m", 1, 1))
    state = State(lineage="l", serial=1, salt="salt")
    fps = planner.fingerprints(res, state.salt)
    entry = StateEntry("org", "prod", "one", "amazon-s3", "id-1", '"e"', document=DOC, secret_fingerprints=fps)
    state = state.with_entry(entry)
    entry = state.get("org", "prod", "one")
    assert entry is not None
    first = Remote(kind="amazon-s3", id="id-1", etag='"e1"', sandbox="prod", document=DOC)
    # The same item read again (by id after by name), changed in between.
    again = Remote(
        kind="amazon-s3", id="id-1", etag='"e2"', sandbox="prod", document={**DOC, "description": "x"}
    )

    def plan(prepared: planner.Prepared | None, item: Remote) -> Plan:
        return planner.compute(
            org="org", resources=resources, state=state, remote={"prod": [item]},
            sandboxes=["prod"], manifest_digest="d", prepared=prepared,
        )

    resources = (res,)
    prepared = planner.Prepared("org", resources, state)
    prepared.compare("prod", [first])
    assert plan(prepared, first).changes == plan(None, first).changes
    assert prepared.used == 1
    # Given the other read of the item, compute compares it itself.
    changed = plan(prepared, again)
    assert changed.changes == plan(None, again).changes
    assert changed.changes[0].action is Action.UPDATE and prepared.used == 1
    # Made for other resources (or another state), it is not used at all.
    other = planner.Prepared("org", (res,), state)
    other.compare("prod", [first])
    assert plan(other, first).changes == plan(None, first).changes and other.used == 0
