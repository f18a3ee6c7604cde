"""Secrets: sentinels run through every command with --debug and appear nowhere, output or file."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from provisioner.secrets import MASK
from tests.aep import RawApi, s3, write_manifest
from tests.conftest import EMULATOR_CLIENT_ID, EMULATOR_ORG_ID
from tests.reliability.helpers import figure

S3_SENTINEL = "SENTINEL-s3-secret-4b1d9e"
CLIENT_SENTINEL = "SENTINEL-client-secret-c07e55"
N = 30


def _scan(texts: dict[str, str | bytes], sentinels: list[str]) -> list[str]:
    leaks = []
    for where, text in texts.items():
        data = text.encode() if isinstance(text, str) else text
        for s in sentinels:
            if s.encode() in data:
                leaks.append(f"{s} in {where}")
    return leaks


@pytest.mark.slow
@pytest.mark.parametrize("credential", ["client-secret", "access-token"])
def test_sentinel_secrets_never_leak_from_any_command(
    credential: str, emulator_factory: Any, run_cli: Any, spawn_cli: Any, tmp_path: Path
) -> None:
    emu = emulator_factory(latency_ms=5)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AEP_")}
    env.update(
        AEP_CLIENT_ID=EMULATOR_CLIENT_ID,
        AEP_ORG_ID=EMULATOR_ORG_ID,
        AEP_PLATFORM_URL=emu.url,
        AEP_IMS_URL=emu.url,
        TEST_S3_KEY="AKIAEXAMPLEKEY",
        TEST_S3_SECRET=S3_SENTINEL,
    )
    if credential == "client-secret":
        env["AEP_CLIENT_SECRET"] = CLIENT_SENTINEL
        sentinels = [S3_SENTINEL, CLIENT_SENTINEL]
    else:
        token = RawApi(emu.url, client_id=EMULATOR_CLIENT_ID, secret="any").token
        env["AEP_ACCESS_TOKEN"] = token
        sentinels = [S3_SENTINEL, token]
    # Someone else's connection holding the sentinel, to import.
    other = RawApi(emu.url).create(
        "Imported", params={"s3AccessKey": "AKIAOTHER", "s3SecretKey": S3_SENTINEL}
    )
    conns = {f"c{i:02d}": s3(f"Secret {i:02d}") for i in range(N)}
    conns["imported"] = s3("Imported")
    write_manifest(tmp_path / "m.yaml", conns)
    seen: dict[str, str | bytes] = {}

    def run(*argv: str, codes: tuple[int, ...] = (0,)) -> Any:
        r = run_cli("--debug", *argv, cwd=tmp_path, env=env)
        label = " ".join(argv)
        seen[f"stdout of {label}"] = r.stdout
        seen[f"stderr of {label}"] = r.stderr
        assert r.returncode in codes, (label, r.stdout[-1500:], r.stderr[-1500:])
        return r

    run("validate", "m.yaml")
    run("import", "imported", other["id"], "m.yaml")
    run("plan", "m.yaml", "--detailed-exitcode", codes=(2,))
    run("plan", "m.yaml", "--json")
    run("plan", "m.yaml", "--markdown")
    run("plan", "m.yaml", "--out", "saved.plan")
    run("show", "saved.plan")
    run("show", "saved.plan", "--json")
    run("apply", "saved.plan")
    # A rotation (every connection PATCHed with the secret) killed mid-way: the journal holds
    # what was done, the lock is left behind, and both are read by the next commands.
    env["TEST_S3_SECRET"] = S3_SENTINEL + "-rotated"
    proc = spawn_cli(
        "--debug", "apply", "m.yaml", "--auto-approve", "--parallelism", "1", cwd=tmp_path, env=env
    )
    journal = tmp_path / "provisioner.state.json.journal"
    deadline = time.monotonic() + 30
    while not journal.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.001)
    proc.send_signal(signal.SIGKILL)
    out, err = proc.communicate(timeout=30)
    seen["stdout of killed apply"], seen["stderr of killed apply"] = out, err
    assert journal.exists(), "the apply was not killed mid-way; the journal could not be checked"
    seen["journal of the killed apply"] = journal.read_bytes()
    run("state", "list")
    run("state", "show", "c00")
    run("apply", "m.yaml", "--auto-approve", codes=(1,))  # the stale lock
    run("force-unlock")
    run("apply", "m.yaml", "--auto-approve")
    run("refresh", "m.yaml")
    run("show")
    run("show", "--json")
    run("plan", "m.yaml", "--sandbox", "nope", codes=(1,))  # an error path, with --debug
    run("destroy", "m.yaml", "--auto-approve")
    for path in tmp_path.rglob("*"):
        if path.is_file():
            seen[f"file {path.relative_to(tmp_path)}"] = path.read_bytes()
    assert {
        "file provisioner.state.json",
        "file provisioner.state.json.backup",
        "file saved.plan",
    } <= set(seen)
    # The debug log did show the bodies that carry the secrets, masked.
    rotated = str(seen["stderr of apply m.yaml --auto-approve"])
    assert "request body:" in rotated and '"s3SecretKey": "' + MASK in rotated
    assert _scan(seen, sentinels) == []
    assert RawApi(emu.url).list() == []
    figure(
        "secrets",
        credential=credential,
        commands_run=sum(1 for k in seen if k.startswith("stdout of")),
        outputs_and_files_scanned=len(seen),
        bytes_scanned=sum(len(v) for v in seen.values()),
        leaks=0,
    )


@pytest.mark.parametrize("field", ["description", "name", "s3AccessKey", "bucketName"])
def test_a_secret_variable_reused_in_a_shown_field_is_refused(
    field: str, emulator_factory: Any, cli: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The value of a variable used as a secret must not reach the plan or the state through a
    # field that is shown and stored, wherever the manifests use it.
    emu = emulator_factory()
    for name, value in {
        "AEP_CLIENT_ID": EMULATOR_CLIENT_ID,
        "AEP_ORG_ID": EMULATOR_ORG_ID,
        "AEP_CLIENT_SECRET": "x",
        "AEP_PLATFORM_URL": emu.url,
        "AEP_IMS_URL": emu.url,
        "TEST_S3_KEY": "AKIAEXAMPLEKEY",
        "TEST_S3_SECRET": S3_SENTINEL,
    }.items():
        monkeypatch.setenv(name, value)
    entry = s3("Alpha")
    if field in ("description", "name"):
        entry[field] = "${env:TEST_S3_SECRET}"
    else:
        entry["auth"]["params"][field] = "${env:TEST_S3_SECRET}"
    write_manifest(tmp_path / "a.yaml", {"alpha": s3("Alpha")})
    write_manifest(
        tmp_path / "b.yaml",
        {"beta": entry | {"name": entry["name"] if field == "name" else "Beta"}},
    )
    for argv in (
        ("validate", "a.yaml", "b.yaml"),
        ("plan", "a.yaml", "b.yaml"),
        ("apply", "a.yaml", "b.yaml", "--auto-approve"),
    ):
        r = cli(*argv)
        assert r.code == 1, (argv, r.out)
        assert S3_SENTINEL not in r.out + r.err
        assert "TEST_S3_SECRET" in r.err and "secret" in r.err, r.err
    assert not (tmp_path / "provisioner.state.json").exists()
