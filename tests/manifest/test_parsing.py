"""Manifests parsed in forked helpers give exactly what parsing them one after the other gives,
and a helper that dies, fails, hangs or is interrupted costs time, never a wrong answer or a
process left behind. Each case runs in a fresh single-threaded process (tests/manifest/
parsing_probe.py), as the CLI does: pytest's own process may run threads, where no fork is made."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.aep import child_env

PROBE = Path(__file__).with_name("parsing_probe.py")
ENV = {"S3_KEY": "AKIAPARSINGEXAMPLE", "S3_SECRET": "parsing-secret-value-1"}


def _connections(first: int, count: int, *, sandbox: str | None = None) -> str:
    lines = ["version: 1"] + ([f"sandbox: {sandbox}"] if sandbox else []) + ["connections:"]
    for i in range(first, first + count):
        lines += [
            f"  c{i:04d}:",
            "    type: amazon-s3",
            f"    name: connection {i:04d} for ${{env:S3_KEY}}" if i == first else f"    name: connection {i:04d}",
            f"    description: 'number {i}: \"quoted\" and # not a comment'",
            "    auth:",
            "      specName: Access Key",
            "      params:",
            "        s3AccessKey: ${env:S3_KEY}",
            "        s3SecretKey: ${env:S3_SECRET}",
            f"        bucketName: bucket-{i:04d}",
        ]
    return "\n".join(lines) + "\n"


def _valid(root: Path) -> list[str]:
    (root / "a.yaml").write_text(_connections(0, 300))
    (root / "b.yaml").write_text(
        _connections(300, 200) + "moved:\n  - from: old-0300\n    to: c0300\n"
    )
    (root / "c.yaml").write_text(_connections(500, 50, sandbox="dev"))
    (root / "d.yaml").write_text(_chain())
    return [str(root / n) for n in ("a.yaml", "b.yaml", "c.yaml", "d.yaml")]


def _chain() -> str:
    return """\
version: 1
connections:
  landing:
    type: amazon-s3
    name: Landing bucket
    auth:
      specName: Access Key
      params: {s3AccessKey: "${env:S3_KEY}", s3SecretKey: "${env:S3_SECRET}", bucketName: landing}
datasets:
  events:
    name: Campaign events
sources:
  exports:
    type: amazon-s3
    connection: landing
    name: Exports
    path: /landing/exports/*.csv
    format: delimited
targets:
  lake:
    type: data-lake
    name: Lake
    dataset: events
dataflows:
  ingest:
    name: Exports to the lake
    source: exports
    target: lake
    mapping:
      - {source: email, destination: personalEmail.address}
    schedule: {frequency: hour, interval: 1, start: "2026-12-01T00:00:00Z"}
"""


def _invalid(root: Path) -> list[str]:
    paths = _valid(root)
    bad = {
        "e.yaml": "version: 1\nconnections:\n  x: [unclosed\n",  # YAML syntax
        "f.yaml": _connections(0, 20).replace("type: amazon-s3", "type: 3", 1),  # schema, duplicates
        "g.yaml": b"version: 1\n\xff\xfe\n",  # not UTF-8
        "h.yaml": "",  # empty
        "i.yaml": _connections(600, 5).replace("${env:S3_SECRET}", "${env:UNSET_PARSING_VAR}"),
    }
    for name, text in bad.items():
        target = root / name
        target.write_bytes(text) if isinstance(text, bytes) else target.write_text(text)
        paths.append(str(target))
    return paths


def probe(mode: str, paths: list[str], tmp_path: Path) -> dict[str, Any]:
    env = child_env()
    env.update(ENV)
    env.pop("UNSET_PARSING_VAR", None)
    done = subprocess.run(
        [sys.executable, str(PROBE), mode, *paths],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_helpers_give_what_parsing_here_gives(tmp_path: Path) -> None:
    report = probe("same", _valid(tmp_path), tmp_path)
    assert report["kind"] == "ok"
    assert report["forked"] == 1  # two cores: this process and one helper
    assert 0 < report["parsed_here"] < 4  # the helper's share was used, not parsed again here
    assert report["same"], report
    # The resolved secrets crossed the pipe as secrets.
    assert report["secrets_helped"] == report["secrets_alone"]
    assert set(report["secrets_alone"]) == {ENV["S3_SECRET"]}
    assert not report["children_left"]


def test_every_problem_of_every_file_in_order(tmp_path: Path) -> None:
    report = probe("same", _invalid(tmp_path), tmp_path)
    assert report["kind"] == "invalid"
    assert report["forked"] == 1 and report["parsed_here"] < 9
    assert report["same"], report
    files = {Path(p.split(":", 1)[0]).name for p in report["problems"]}
    assert files == {"e.yaml", "f.yaml", "g.yaml", "h.yaml", "i.yaml"}
    assert not report["children_left"]


@pytest.mark.parametrize("mode", ["crash", "raise", "garbage", "hang"])
def test_a_failing_helper_costs_time_not_truth(mode: str, tmp_path: Path) -> None:
    report = probe(mode, _invalid(tmp_path), tmp_path)
    assert report["forked"] == 1
    assert report["parsed_here"] == 9  # its files were parsed here instead
    assert report["same"], report
    assert not report["children_left"]
    if mode == "hang":
        assert report["seconds"] < 30  # waited 0.5 s (the bound set by the probe), then killed


@pytest.mark.parametrize("mode", ["interrupt", "signal"])
def test_interrupted_while_a_helper_parses(mode: str, tmp_path: Path) -> None:
    """Ctrl-C while a helper parses, or right after its fork (a real SIGINT, held back until
    the helper is recorded): the helper is killed and reaped."""
    report = probe(mode, _valid(tmp_path), tmp_path)
    assert report["interrupted"] and report["forked"] == 1
    assert not report["children_left"]


def test_no_fork_while_another_thread_runs(tmp_path: Path) -> None:
    report = probe("thread", _valid(tmp_path), tmp_path)
    assert report["forked"] == 0 and report["parsed_here"] == 4
    assert report["same"]


def test_plan_through_the_cli_parses_in_a_helper(tmp_path: Path, run_cli: Any, emulator: Any) -> None:
    """The real CLI, single-threaded when it starts, forks a helper for large manifests (the
    debug log says so) and its plan is the one a one-file-at-a-time parse gives."""
    # Big enough to be worth a helper: 2 x 1500 connections.
    (tmp_path / "a.yaml").write_text(_connections(0, 1500))
    (tmp_path / "b.yaml").write_text(_connections(1500, 1500))
    paths = ["a.yaml", "b.yaml"]
    env = child_env()
    env.update(ENV)
    env.update(
        AEP_CLIENT_ID="test-client",
        AEP_CLIENT_SECRET="test-client-secret-value",
        AEP_ORG_ID="TESTORG0000000000000000@AdobeOrg",
        AEP_PLATFORM_URL=emulator.url,
        AEP_IMS_URL=emulator.url,
        PROVISIONER_LOG="debug",
    )
    done = run_cli("plan", *paths, "--json", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "a forked helper parses 1 of 2 manifest files" in done.stderr
    plan = json.loads(done.stdout)
    creates = [c for c in plan["changes"] if c["action"] == "create"]
    assert len(creates) == 3000
    assert ENV["S3_SECRET"] not in done.stdout + done.stderr
