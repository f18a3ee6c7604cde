"""Hostile text in names, descriptions and a remote updatedBy, through the real CLI and the
emulator: plan as text, --markdown and --json compared with golden files; no raw control
character reaches stdout or stderr; JSON stays valid and gives the exact strings back."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from provisioner.render.escape import UNSAFE
from tests.aep import RawApi, s3, write_manifest
from tests.conftest import EMULATOR_ORG_ID
from tests.hardening.corpus import HOSTILE
from tests.reliability.helpers import figure

pytestmark = pytest.mark.slow  # 54 hostile strings through three CLI runs

GOLDEN = Path(__file__).parent / "golden"
ADDRESSES = [f"c{i:02d}" for i in range(len(HOSTILE))]

_NORMALISE = [
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<uuid>"),
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"), "<time>"),
    (re.compile(r'("(?:etag|manifest_digest|provisioner_version)": )"[^"]*"'), r'\1"<x>"'),
    (re.compile(r'("(?:updated_at_ms|serial)": )\d+'), r"\1<n>"),
    (re.compile(r"serial \d+"), "serial <n>"),
    (re.compile(r"hmac-sha256:[0-9a-f]{64}"), "hmac-sha256:<salted>"),  # the state's salt is random
]


def _normalise(text: str) -> str:
    for pattern, replacement in _NORMALISE:
        text = pattern.sub(replacement, text)
    return text


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing golden file {path}; run with UPDATE_GOLDEN=1 and review it"
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from its golden file"


def _raw_controls(text: str) -> list[str]:
    return sorted({hex(ord(c)) for c in UNSAFE.findall(text.replace("\n", ""))})


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One emulator, the corpus applied once, then planned in each format as real processes."""
    import subprocess
    import sys

    from provisioner.emulator import Emulator, EmulatorConfig
    from tests.aep import child_env
    from tests.conftest import EMULATOR_CLIENT_ID, EMULATOR_CLIENT_SECRET

    work = tmp_path_factory.mktemp("golden")
    emu = Emulator(EmulatorConfig(port=0)).start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AEP_")}
    env.update(
        AEP_CLIENT_ID=EMULATOR_CLIENT_ID,
        AEP_CLIENT_SECRET=EMULATOR_CLIENT_SECRET,
        AEP_ORG_ID=EMULATOR_ORG_ID,
        AEP_PLATFORM_URL=emu.url,
        AEP_IMS_URL=emu.url,
        TEST_S3_KEY="AKIAEXAMPLEKEY",
        TEST_S3_SECRET="golden-secret-value-123",
        NO_COLOR="1",
    )
    env.pop("GITHUB_STEP_SUMMARY", None)

    def run(*argv: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [sys.executable, "-m", "provisioner", *argv],
            cwd=work,
            env=child_env(env),
            capture_output=True,
            check=False,
            timeout=300,
        )

    try:
        manifest = work / "m.yaml"
        write_manifest(manifest, {a: s3(f"benign {a}") for a in ADDRESSES})
        done = run("apply", "m.yaml", "--auto-approve")
        assert done.returncode == 0, done.stderr.decode()
        api = RawApi(emu.url)
        by_name = {c["name"]: c for c in api.list()}
        for i, address in enumerate(ADDRESSES):
            conn = by_name[f"benign {address}"]
            api.patch(conn["id"], [{"op": "replace", "path": "/description", "value": "edited"}])
            emu._store.update(  # a hostile updatedBy, as the service would report it
                EMULATOR_ORG_ID,
                "prod",
                conn["id"],
                lambda row, who=HOSTILE[i]: row.replace(updated_by=who),  # type: ignore[misc]
            )
        write_manifest(
            manifest,
            {
                a: s3(HOSTILE[i], description=HOSTILE[(i + 1) % len(HOSTILE)])
                for i, a in enumerate(ADDRESSES)
            },
        )
        results = {
            "text": run("plan", "m.yaml"),
            "markdown": run("plan", "m.yaml", "--markdown"),
            "json": run("plan", "m.yaml", "--json"),
            "validate": run("validate", "m.yaml"),
        }
    finally:
        emu.stop()
    return {k: (r.returncode, r.stdout.decode(), r.stderr.decode()) for k, r in results.items()}


@pytest.mark.parametrize("medium", ["text", "markdown", "json"])
def test_plan_matches_golden_and_has_no_raw_control(outputs: dict[str, Any], medium: str) -> None:
    code, out, err = outputs[medium]
    assert code == 0, err
    assert _raw_controls(out) == [] and _raw_controls(err) == []
    ext = {"text": "txt", "markdown": "md", "json": "json"}[medium]
    _golden(f"plan.{ext}", _normalise(out))
    figure(f"golden_{medium}", hostile_strings=len(HOSTILE), raw_controls=0)


def test_no_forged_lines_and_json_round_trips(outputs: dict[str, Any]) -> None:
    _, text, _ = outputs["text"]
    assert [line for line in text.splitlines() if line.startswith("Plan:")] == [
        text.rstrip("\n").splitlines()[-1]
    ]
    assert not any(line.startswith(("Forged", "overwrite")) for line in text.splitlines())
    _, md, _ = outputs["markdown"]
    outside_fences = re.sub(r"```+diff\n.*?\n```+", "", md, flags=re.DOTALL)
    for raw in (
        "@security-team",
        "](",
        "<img",
        "https://",
        "www.evil",
        "<!-- provisioner-plan -->\n###",
    ):
        assert raw not in outside_fences.replace("<!-- provisioner-plan -->\n###", "", 1)
    rows = [line for line in md.splitlines() if line.startswith("| update")]
    assert len(rows) == len(HOSTILE) and {row.count("|") for row in rows} == {7}
    _, js, _ = outputs["json"]
    doc = json.loads(js)
    assert sorted(c["name"] for c in doc["changes"]) == sorted(HOSTILE)
    assert sorted(c["drift"]["updated_by"] for c in doc["changes"]) == sorted(HOSTILE)


def test_validate_prints_nothing_raw(outputs: dict[str, Any]) -> None:
    code, out, err = outputs["validate"]
    assert code == 0, err
    assert _raw_controls(out + err) == []
