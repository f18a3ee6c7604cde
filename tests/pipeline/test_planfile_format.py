"""The saved-plan file format on its own: lossless round trip, determinism, damage is one sentence."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import pytest

from provisioner import planfile
from provisioner.errors import PlanError
from tests.pipeline.plans import every_action


def saved_plan(salt: str | None = None) -> planfile.SavedPlan:
    plan = every_action()
    fps = {"auth.params.s3SecretKey": "hmac-sha256:" + "ab" * 32}
    plan = replace(plan, changes=tuple(replace(c, secret_fingerprints=fps) for c in plan.changes))
    plan = replace(plan, state_digests={"prod": "sha256:" + "12" * 32})
    return planfile.SavedPlan(
        plan=plan, paths=("connections/",), sandbox="dev", emulator=False,
        desired={"prod/marketing": {"name": "Marketing landing", "type": "amazon-s3"}}, salt=salt,
        endpoint="https://platform.adobe.io",
    )


def test_round_trip_is_lossless(tmp_path: Path) -> None:
    original = saved_plan(salt="00" * 16)
    planfile.save(tmp_path / "p.bin", original)
    assert planfile.is_planfile(tmp_path / "p.bin")
    loaded = planfile.load(tmp_path / "p.bin")
    assert loaded == original
    assert planfile.dumps(loaded) == planfile.dumps(original)


def test_text_is_sorted_indented_and_ends_with_a_newline() -> None:
    text = planfile.dumps(saved_plan())
    doc = json.loads(text)
    assert text == json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


@pytest.mark.parametrize(
    "content",
    ["", "not json", "[]", '{"format": "something-else"}', "version: 1\nconnections: {}\n"],
)
def test_other_files_are_not_plan_files(tmp_path: Path, content: str) -> None:
    (tmp_path / "f").write_text(content)
    assert not planfile.is_planfile(tmp_path / "f")
    assert not planfile.is_planfile(tmp_path)  # a directory
    assert not planfile.is_planfile(tmp_path / "missing")


def _rewrite(path: Path, edit: object) -> None:
    doc = json.loads(path.read_text())
    edit(doc)  # type: ignore[operator]
    doc.pop("checksum")
    doc["checksum"] = planfile._checksum(doc)  # a consistent checksum: the content itself is bad
    path.write_text(json.dumps(doc))


@pytest.mark.parametrize(
    "edit, fragment",
    [
        (lambda d: d["plan"].pop("org"), "/plan/org is missing"),
        (lambda d: d["plan"]["state"].update(serial="7"), "/plan/state/serial must be a whole number"),
        (lambda d: d["plan"]["state"].update(serial=True), "/plan/state/serial must be a whole number"),
        (lambda d: d["plan"]["changes"][0].update(action="explode"),
         "/plan/changes/0/action is not one of the values allowed there"),
        (lambda d: d["plan"]["changes"][1]["fields"][0].pop("path"), "/plan/changes/1/fields/0/path is missing"),
        (lambda d: d["plan"]["changes"][4]["drift"].update(updated_at_ms="noon"),
         "/plan/changes/4/drift/updated_at_ms must be a whole number or null"),
        (lambda d: d["plan"]["changes"][2].pop("secret_fingerprints"),
         "/plan/changes/2/secret_fingerprints is missing"),
        (lambda d: d["plan"]["changes"][3]["secret_fingerprints"].update(x="the value itself"),
         "/plan/changes/3/secret_fingerprints/x does not have the form required there"),
        (lambda d: d["manifests"].update(paths=[1]), "/manifests/paths/0 must be a string"),
        (lambda d: d.update(extra={"a/b": 1}), "/extra is not a key this format has"),
        (lambda d: d["state"].pop("salt"), "/state/salt is missing"),
        (lambda d: d["plan"]["changes"][0]["fields"][0].update(sensitive=True, after="hunter2"),
         "/plan/changes/0/fields/0"),
    ],
)
def test_a_file_that_breaks_the_schema_is_one_sentence_naming_the_pointer(
    tmp_path: Path, edit: object, fragment: str
) -> None:
    path = tmp_path / "p.bin"
    planfile.save(path, saved_plan())
    _rewrite(path, edit)
    with pytest.raises(PlanError) as info:
        planfile.load(path)
    message = str(info.value)
    assert f"the plan file {path} is damaged: {fragment}" in message
    assert "hunter2" not in message and "the value itself" not in message
    assert "\n" not in message and message.endswith(f"'provisioner plan --out {path}'")


def test_the_schema_is_checked_before_the_checksum(tmp_path: Path) -> None:
    """A hand edit that breaks the format names where, even though the checksum is stale too."""
    path = tmp_path / "p.bin"
    planfile.save(path, saved_plan())
    doc = json.loads(path.read_text())
    doc["plan"]["changes"][5]["protect"] = "yes"
    path.write_text(json.dumps(doc))
    with pytest.raises(PlanError, match=r"is damaged: /plan/changes/5/protect must be true or false"):
        planfile.load(path)


def test_derived_keys_that_disagree_with_the_changes_are_refused(tmp_path: Path) -> None:
    """The one decoder is the inverse of the one encoder: a file it cannot re-create is refused."""
    path = tmp_path / "p.bin"
    planfile.save(path, saved_plan())
    _rewrite(path, lambda d: d["plan"]["summary"].update(create=0))
    with pytest.raises(PlanError, match=r"is inconsistent: /plan/summary/create does not match"):
        planfile.load(path)


@pytest.mark.parametrize("version", [1, 2])
def test_an_older_file_is_refused_with_one_sentence(tmp_path: Path, version: int) -> None:
    path = tmp_path / "old.bin"
    planfile.save(path, saved_plan())
    doc = json.loads(path.read_text())
    doc["format_version"] = version
    path.write_text(json.dumps(doc))
    with pytest.raises(PlanError) as info:
        planfile.load(path)
    assert str(info.value) == (
        f"the plan file {path} was saved by an older provisioner (saved plan format version "
        f"{version}; this one reads version 3); run 'provisioner plan --out {path}' again"
    )


def test_the_checksum_covers_the_plan_document_and_the_envelope(tmp_path: Path) -> None:
    path = tmp_path / "p.bin"
    planfile.save(path, saved_plan())
    doc = json.loads(path.read_text())
    checksum = doc.pop("checksum")
    canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert checksum == "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
    edits = [
        lambda d: d["plan"]["changes"][0].update(name="Other"),
        lambda d: d["plan"]["changes"][1]["secret_fingerprints"].update(
            {"auth.params.s3SecretKey": "hmac-sha256:" + "cd" * 32}
        ),
        lambda d: d.update(endpoint="https://platform.example"),
        lambda d: d["state"]["sandboxes"].update(prod="sha256:other"),
    ]
    for edit in edits:
        edited = json.loads(path.read_text())
        edit(edited)
        path.with_name("e.bin").write_text(json.dumps(edited))
        with pytest.raises(PlanError, match="was modified after it was saved"):
            planfile.load(path.with_name("e.bin"))


def test_truncated_file(tmp_path: Path) -> None:
    path = tmp_path / "p.bin"
    planfile.save(path, saved_plan())
    path.write_text(path.read_text()[:100])
    with pytest.raises(PlanError, match="cannot be read"):
        planfile.load(path)


def test_apply_claims_plan_files_and_non_manifests(tmp_path: Path) -> None:
    planfile.save(tmp_path / "plan.bin", saved_plan())
    (tmp_path / "m.yaml").write_text("version: 1\nconnections: {}\n")
    (tmp_path / "broken.bin").write_text('{"format": "provisioner-saved-plan", ')
    assert planfile.claims(tmp_path / "plan.bin")
    assert planfile.claims(tmp_path / "broken.bin")  # then load() says precisely what is wrong
    assert not planfile.claims(tmp_path / "m.yaml")
    assert not planfile.claims(tmp_path)
