"""The saved-plan file format on its own: lossless round trip, determinism, damage is one sentence."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from provisioner import planfile
from provisioner.errors import PlanError
from tests.pipeline.plans import every_action


def saved_plan(salt: str | None = None) -> planfile.SavedPlan:
    plan = every_action()
    fps = {"s3SecretKey": "hmac-sha256:" + "ab" * 32}
    plan = replace(plan, changes=tuple(replace(c, secret_fingerprints=fps) for c in plan.changes))
    return planfile.SavedPlan(
        plan=plan, paths=("connections/",), sandbox="dev", emulator=False,
        desired={"prod/marketing": {"name": "Marketing landing", "type": "amazon-s3"}}, salt=salt,
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
        (lambda d: d.pop("org"), "org is missing or malformed"),
        (lambda d: d["state"].update(serial="7"), "state.serial is missing or malformed"),
        (lambda d: d["state"].update(serial=True), "state.serial is missing or malformed"),
        (lambda d: d["changes"][0].update(action="explode"), "changes[0].action is not a known action"),
        (lambda d: d["changes"][1]["fields"][0].pop("path"), "changes[1].fields[0].path is missing"),
        (lambda d: d["changes"][4]["drift"].update(updated_at="noon"), "changes[4].drift.updated_at is malformed"),
        (lambda d: d["manifests"].update(paths=[1]), "manifests.paths is malformed"),
    ],
)
def test_damaged_content_is_one_sentence(tmp_path: Path, edit: object, fragment: str) -> None:
    path = tmp_path / "p.bin"
    planfile.save(path, saved_plan())
    _rewrite(path, edit)
    with pytest.raises(PlanError) as info:
        planfile.load(path)
    assert f"the plan file {path} is damaged: {fragment}" in str(info.value)


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
