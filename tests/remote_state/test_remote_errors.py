"""A missing extra, bucket or credential, a bad URL or an unreachable endpoint: one sentence
naming what to do, exit 1, no traceback, no secret."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.aep import child_env, s3, write_manifest
from tests.remote_state.seaweed import SECRET_KEY

pytestmark = pytest.mark.slow  # a real SeaweedFS and CLI subprocesses: seconds each

BLOCK_BOTO3 = """
import sys
sys.modules["boto3"] = None  # `import boto3` now raises ImportError, as without the extra
from provisioner.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _one_sentence(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    err = result.stderr.strip()
    assert err.startswith("Error: ") and "\n" not in err, err
    assert "Traceback" not in err and "internal error" not in err
    assert SECRET_KEY not in result.stdout + result.stderr
    for needle in needles:
        assert needle in err, err


def test_the_missing_extra_names_the_install_command(tmp_path: Path, seaweed: Any) -> None:
    write_manifest(tmp_path / "m.yaml", {"c0": s3("Extra")})
    for argv in (["state", "list"], ["plan", "m.yaml"], ["force-unlock"], ["show"]):
        result = subprocess.run(
            [sys.executable, "-c", BLOCK_BOTO3, *argv, "--state", "s3://state/x.json"],
            env=child_env(seaweed.env(TEST_S3_KEY="AKIAEXAMPLE", TEST_S3_SECRET="x")),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        _one_sentence(result, "needs boto3", "pip install 'provisioner[s3]'")
    # A local state never needs it.
    local = subprocess.run(
        [sys.executable, "-c", BLOCK_BOTO3, "state", "list"],
        env=child_env(seaweed.env()),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert local.returncode == 0, local.stderr


def test_bad_credentials(seaweed: Any, run_cli: Any, tmp_path: Path) -> None:
    wrong_secret = seaweed.env(AWS_SECRET_ACCESS_KEY="not-the-secret-0123456789")
    _one_sentence(
        run_cli("state", "list", "--state", "s3://state/x.json", cwd=tmp_path, env=wrong_secret),
        "S3 refused the AWS credentials (SignatureDoesNotMatch)",
        "AWS_SECRET_ACCESS_KEY",
    )
    unknown_key = seaweed.env(AWS_ACCESS_KEY_ID="AKIANOSUCHKEY0000000")
    _one_sentence(
        run_cli("force-unlock", "--state", "s3://state/x.json", cwd=tmp_path, env=unknown_key),
        "S3 refused the AWS credentials (InvalidAccessKeyId)",
    )
    none = {
        k: v
        for k, v in seaweed.env().items()
        if not k.startswith("AWS_")
        or k
        in (
            "AWS_ENDPOINT_URL_S3",
            "AWS_DEFAULT_REGION",
            "AWS_CONFIG_FILE",
            "AWS_SHARED_CREDENTIALS_FILE",
            "AWS_EC2_METADATA_DISABLED",
        )
    }
    _one_sentence(
        run_cli("state", "list", "--state", "s3://state/x.json", cwd=tmp_path, env=none),
        "no AWS credentials were found",
        "AWS_ACCESS_KEY_ID",
    )


def test_a_missing_bucket(seaweed: Any, run_cli: Any, tmp_path: Path) -> None:
    for argv in (["state", "list"], ["force-unlock"], ["state", "rm", "x"]):
        _one_sentence(
            run_cli(
                *argv, "--state", "s3://no-such-bucket/x.json", cwd=tmp_path, env=seaweed.env()
            ),
            "the bucket no-such-bucket of the state s3://no-such-bucket/x.json does not exist",
        )
    # Nothing was created on the way (SeaweedFS would create a bucket on a PUT).
    names = {b["Name"] for b in seaweed.client().list_buckets()["Buckets"]}
    assert "no-such-bucket" not in names


def test_an_unreachable_endpoint(seaweed: Any, run_cli: Any, tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing listens there
    env = seaweed.env(AWS_ENDPOINT_URL_S3=f"http://127.0.0.1:{port}")
    _one_sentence(
        run_cli("state", "list", "--state", "s3://state/x.json", cwd=tmp_path, env=env),
        f"http://127.0.0.1:{port} cannot be reached",
        "AWS_ENDPOINT_URL_S3",
    )


def test_a_bad_state_url(seaweed: Any, run_cli: Any, tmp_path: Path) -> None:
    _one_sentence(
        run_cli("state", "list", "--state", "s3://just-a-bucket", cwd=tmp_path, env=seaweed.env()),
        "names no key",
    )
