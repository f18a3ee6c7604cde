"""Manifest rules: credential variables, symlinks, quoting of unknown keys, expanded size."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from provisioner.manifest import yamltree
from tests.aep import s3, write_manifest
from tests.reliability.helpers import figure

SHADOW = (
    "root:$6$saltsalt$Xq1hashhashhashhashhashhash:19000:0:99999:7:::\nbin:*:19000:0:99999:7:::\n"
)


@pytest.mark.parametrize("variable", ["AEP_CLIENT_SECRET", "AEP_ACCESS_TOKEN"])
@pytest.mark.parametrize("field", ["name", "description"])
def test_credential_variables_refused_outside_secrets(
    cli: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str, field: str
) -> None:
    monkeypatch.setenv(variable, "tool-credential-value-42")
    entry = s3("report")
    entry[field] = f"report ${{env:{variable}}}"
    write_manifest(tmp_path / "m.yaml", {"a": entry})
    result = cli("validate", "m.yaml")
    assert result.code == 1
    assert f"${{env:{variable}}}, which holds provisioner's own credentials" in result.err
    assert "m.yaml:" in result.err and f"connections.a.{field}" in result.err
    assert "tool-credential-value-42" not in result.out + result.err


def test_credential_variable_allowed_as_a_secret_parameter(cli: Any, tmp_path: Path) -> None:
    write_manifest(tmp_path / "m.yaml", {"a": s3("fine", secret_env="AEP_CLIENT_SECRET")})
    result = cli("validate", "m.yaml")
    assert "own credentials" not in result.err


def test_symlink_out_of_the_directory_is_refused(cli: Any, tmp_path: Path) -> None:
    outside = tmp_path / "shadow"
    outside.write_text(SHADOW)
    (tmp_path / "manifests").mkdir()
    write_manifest(tmp_path / "manifests" / "ok.yaml", {"a": s3("ok")})
    os.symlink(outside, tmp_path / "manifests" / "evil.yaml")
    result = cli("validate", "manifests")
    assert result.code == 1
    assert result.err.count("\n") == 1 and "symbolic link that leads out of" in result.err
    assert "root" not in result.err and "19000" not in result.err


def test_symlink_inside_the_tree_is_read(cli: Any, tmp_path: Path) -> None:
    (tmp_path / "d" / "sub").mkdir(parents=True)
    write_manifest(tmp_path / "d" / "sub" / "real.yaml", {"a": s3("ok")})
    os.symlink("sub/real.yaml", tmp_path / "d" / "link.yaml")
    result = cli("validate", "d/link.yaml")
    assert "symbolic link" not in result.err


def test_a_non_manifest_file_leaks_nothing(cli: Any, tmp_path: Path) -> None:
    (tmp_path / "shadow.yaml").write_text(SHADOW)
    (tmp_path / "log.yaml").write_text("password hunter2-very-secret-line of text\n")
    result = cli("validate", "shadow.yaml", "log.yaml")
    assert result.code == 1
    for leaked in ("root", "saltsalt", "19000", "hunter2", "bin:*"):
        assert leaked not in result.err, leaked
    figure("manifest_disclosure", files_tried=2, leaked=0)


def test_unknown_key_quoted_short_and_escaped(cli: Any, tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text(
        'version: 1\nconnections:\n  a: {type: amazon-s3, name: x, nmae: y}\n"bad\\e[31mkey": 1\n'
    )
    result = cli("validate", "m.yaml")
    assert "unknown key 'nmae'" in result.err
    assert "\x1b" not in result.err and "bad\\x1b[31mkey" in result.err


def test_aliases_expanding_past_the_byte_limit_are_refused(cli: Any, tmp_path: Path) -> None:
    big = "x" * 800_000
    lines = ["version: 1", f"big: &big {big}", "connections:"]
    lines += [f"  c{i}: {{type: amazon-s3, name: *big}}" for i in range(300)]
    (tmp_path / "m.yaml").write_text("\n".join(lines) + "\n")
    result = cli("validate", "m.yaml")
    assert result.code == 1
    problems = result.err.splitlines()[:-1]
    assert len(problems) == 1 and problems[0].startswith("m.yaml:")
    assert f"{yamltree.MAX_EXPANDED_BYTES // 1024 // 1024} MB of text" in problems[0]
    assert len(result.out + result.err) < 2000
    figure("anchor_bomb", anchor_bytes=len(big), uses=300, output_chars=len(result.err))
