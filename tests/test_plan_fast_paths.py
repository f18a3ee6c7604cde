"""The comparison's shortcuts (equal documents skip the diff; resources that reference nothing
are ordered by key) give the plan the full comparison gives, on equal and unequal documents:
the real CLI against the emulator, then the same inputs through diff.compare directly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from provisioner import diff, kinds, planner
from provisioner.model import Location, Remote, Resource
from provisioner.plan import Action
from provisioner.secrets import Secret
from provisioner.state import StateEntry
from tests.aep import RawApi, s3, write_manifest


@pytest.fixture
def env(aep_env: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("TEST_S3_KEY", "AKIAEXAMPLEKEY")
    monkeypatch.setenv("TEST_S3_SECRET", "first-secret-value")
    monkeypatch.setenv("BETA_SECRET", "beta-secret-value")
    return aep_env


def _manifest(tmp_path: Path, **changed: dict[str, Any]) -> None:
    entries = {
        "zulu": s3("Zulu bucket", description="last by name, first by nothing"),
        "alpha": s3("Alpha bucket", description="first"),
        "beta": s3("Beta bucket", secret_env="BETA_SECRET", params={"bucketName": "b"}),
        "gamma": s3("Gamma bucket", description="remote drift"),
        "delta": s3("Delta bucket"),
    }
    entries.update(changed)
    write_manifest(tmp_path / "manifests" / "s3.yaml", entries)


def test_equal_and_unequal_documents_plan_as_the_full_comparison(
    env: Any, cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _manifest(tmp_path)
    assert cli("apply", "manifests", "--auto-approve").code == 0
    clean = cli("plan", "manifests", "--json", "--detailed-exitcode")
    assert clean.code == 0, clean.err
    addresses = [c["address"] for c in json.loads(clean.out)["changes"]]
    assert addresses == ["alpha", "beta", "delta", "gamma", "zulu"]  # by address

    # unequal: a changed description, a rotated secret, a param added, drift made outside
    _manifest(
        tmp_path,
        alpha=s3("Alpha bucket", description="second"),
        delta=s3("Delta bucket", params={"folderPath": "in/"}),
    )
    monkeypatch.setenv("BETA_SECRET", "rotated-beta-secret")
    api = RawApi(env.url)
    gamma = next(i for i in api.list() if i["name"] == "Gamma bucket")
    api.patch(gamma["id"], [{"op": "replace", "path": "/description", "value": "changed in UI"}])

    r = cli("plan", "manifests", "--json", "--detailed-exitcode")
    assert r.code == 2, r.err
    plan = {c["address"]: c for c in json.loads(r.out)["changes"]}
    fields = {a: [(f["path"], f["before"], f["after"]) for f in c["fields"]] for a, c in plan.items()}
    assert plan["alpha"]["action"] == "update"
    assert fields["alpha"] == [("description", "first", "second")]
    assert plan["beta"]["action"] == "update"
    assert fields["beta"] == [("auth.params.s3SecretKey", "(sensitive)", "(sensitive)")]
    assert plan["delta"]["action"] == "update"
    assert fields["delta"] == [("auth.params.folderPath", None, "in/")]
    assert plan["gamma"]["action"] == "update"  # the manifest wins over the drift
    assert fields["gamma"] == [("description", "changed in UI", "remote drift")]
    assert [f["path"] for f in plan["gamma"]["drift"]["fields"]] == ["description"]
    assert plan["zulu"]["action"] == "no-op" and fields["zulu"] == []


DOC: dict[str, Any] = {
    "type": "amazon-s3",
    "name": "One",
    "description": "d",
    "auth": {"specName": "Access Key", "params": {"s3AccessKey": "AKIA", "bucketName": "b"}},
}


@pytest.mark.parametrize(
    ("remote_doc", "secret"),
    [
        (DOC, "same"),  # equal documents, same secret
        (DOC, "rotated"),  # equal documents, a rotated secret
        ({**DOC, "description": "other"}, "same"),
        ({**DOC, "auth": {"specName": "Access Key", "params": {"s3AccessKey": "AKIA"}}}, "same"),
        ({**DOC, "auth": {"specName": "IAMRole Based", "params": {"bucketName": "b"}}}, "rotated"),
    ],
)
def test_plan_fields_are_what_diff_compare_gives(remote_doc: dict[str, Any], secret: str) -> None:
    kind = kinds.get("amazon-s3")
    salt = "salt"
    document: dict[str, Any] = json.loads(json.dumps(DOC))
    document["auth"]["params"]["s3SecretKey"] = Secret(secret)
    res = Resource(kind="amazon-s3", address="one", document=document, location=Location("m", 1, 1))
    stored_print = planner.fingerprints(
        Resource(
            kind="amazon-s3",
            address="one",
            document={"auth": {"params": {"s3SecretKey": Secret("same")}}},
            location=Location("m", 1, 1),
        ),
        salt,
    )
    entry = StateEntry(
        "org", "prod", "one", "amazon-s3", "id-1", '"e"', document=DOC,
        secret_fingerprints=stored_print,
    )
    current = Remote(kind="amazon-s3", id="id-1", etag='"e"', sandbox="prod", document=remote_doc)
    fps = planner.fingerprints(res, salt)
    problems: list[str] = []
    change = planner._plan_owned("org", res, document, entry, current, fps, problems)

    want = planner.comparable(document, fps)
    have = planner.with_fingerprints(remote_doc, entry.secret_fingerprints)
    expected = diff.compare(kind, have, want, secret=fps.keys() | entry.secret_fingerprints.keys())
    assert change.fields == expected
    assert (change.action is Action.NOOP) == (not expected)
    assert bool(expected) == (remote_doc != DOC or secret != "same")


def test_resources_without_references_are_in_key_order() -> None:
    def res(sandbox: str, address: str) -> Resource:
        return Resource(
            kind="amazon-s3", address=address, document={"name": address},
            location=Location("m", 1, 1), sandbox=sandbox,
        )

    given = [res("prod", "b"), res("dev", "z"), res("prod", "a"), res("dev", "c")]
    ordered = planner.topological(given)
    assert [(r.sandbox, r.address) for r in ordered] == [
        ("dev", "c"), ("dev", "z"), ("prod", "a"), ("prod", "b"),
    ]
