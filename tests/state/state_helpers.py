"""Helpers for the state tests: entries, a sentinel secret, subprocess environment."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

from provisioner.state import State, StateEntry, fingerprint

REPO = Path(__file__).resolve().parents[2]
ORG = "TESTORG0000000000000000@AdobeOrg"
SPEC_ID = "ecadc60c-7455-4d87-84dc-2a0e293d997b"
# Goes through fingerprint() in every test that writes entries; must never appear in a file.
SENTINEL = "SENTINEL-s3-secret-7c1f0e-do-not-leak"


def make_entry(
    i: int | str,
    *,
    salt: str = "00" * 16,
    org: str = ORG,
    sandbox: str = "prod",
    address: str | None = None,
    **changes: Any,
) -> StateEntry:
    """An amazon-s3 base connection entry; `changes` override its fields (name, description,
    auth_spec, params, secret_fingerprints keyed by param, protect, id, etag)."""
    fields: dict[str, Any] = {
        "id": f"id-{sandbox}-{i}",
        "etag": f'"etag-{i}"',
        "name": f"Connection {i}",
        "description": f"Exports number {i}",
        "auth_spec": "Access Key",
        "params": {"s3AccessKey": f"AKIA{i}", "bucketName": "acme"},
        "secret_fingerprints": {"s3SecretKey": fingerprint(salt, SENTINEL)},
        "protect": False,
    }
    fields.update(changes)
    document: dict[str, Any] = {"type": "amazon-s3", "name": fields["name"]}
    if fields["description"]:
        document["description"] = fields["description"]
    document["auth"] = {"specName": fields["auth_spec"], "params": dict(fields["params"])}
    return StateEntry(
        org=org,
        sandbox=sandbox,
        address=address or f"conn-{i}",
        kind="amazon-s3",
        id=fields["id"],
        etag=fields["etag"],
        document=document,
        secret_fingerprints={
            f"auth.params.{k}": v for k, v in fields["secret_fingerprints"].items()
        },
        protect=fields["protect"],
    )


def state_with(state: State, n: int, **kw: Any) -> State:
    return state.with_changes(put=[make_entry(i, salt=state.salt, **kw) for i in range(n)])


def assert_no_sentinel(directory: Path) -> None:
    """No file under `directory` holds the sentinel secret (state, backup, journal, lock)."""
    files = [p for p in directory.rglob("*") if p.is_file()]
    assert files
    for path in files:
        assert SENTINEL.encode() not in path.read_bytes(), path


def python_env() -> dict[str, str]:
    env = dict(os.environ)
    paths = [str(REPO), str(Path(__file__).parent), env.get("PYTHONPATH")]
    env["PYTHONPATH"] = os.pathsep.join(filter(None, paths))
    return env


def read_line(proc: subprocess.Popen[str], stream: str = "stdout") -> str:
    line = getattr(proc, stream).readline()
    if not line:
        raise AssertionError(f"process ended early: {proc.wait()} {proc.stderr.read()}")  # type: ignore[union-attr]
    return line.rstrip("\n")
