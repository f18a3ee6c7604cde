"""`provisioner emulator`: a real process that prints how to use it and stops cleanly on Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from emulator_helpers import Api, s3_body

REPO = Path(__file__).resolve().parents[2]
# The real process imports this checkout even when the project is not installed.
ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
}


def _start(*args: str) -> tuple[subprocess.Popen[str], list[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "provisioner", "emulator", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append(line.rstrip("\n"))
        if line.startswith("Press Ctrl-C"):
            return proc, lines
    proc.kill()
    raise AssertionError(
        f"the emulator did not start: {lines} {proc.stderr.read() if proc.stderr else ''}"
    )


def _exports(lines: list[str]) -> dict[str, str]:
    return dict(
        m.groups() for line in lines if (m := re.match(r"\s*export (AEP_\w+)=(\S+)$", line))
    )


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_the_command_serves_prints_its_exports_and_stops_cleanly(
    tmp_path: Any, stop: signal.Signals
) -> None:
    proc, lines = _start("--db", str(tmp_path / "emu.db"), "--sandboxes", "prod,qa")
    try:
        url = re.search(r"listening on (http://127\.0\.0\.1:\d+)", lines[0]).group(1)  # type: ignore[union-attr]
        env = _exports(lines)
        assert set(env) == {
            "AEP_PLATFORM_URL",
            "AEP_IMS_URL",
            "AEP_CLIENT_ID",
            "AEP_CLIENT_SECRET",
            "AEP_ORG_ID",
        }
        assert env["AEP_PLATFORM_URL"] == env["AEP_IMS_URL"] == url
        api = Api(
            url, client=env["AEP_CLIENT_ID"], secret=env["AEP_CLIENT_SECRET"], org=env["AEP_ORG_ID"]
        )
        assert api.create(s3_body(), sandbox="qa")["id"]
        assert len(api.list_all("qa")) == 1
    finally:
        proc.send_signal(stop)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and err == ""
    assert out.strip().endswith("Emulator stopped.")


def test_with_a_clients_file_it_prints_the_client_but_never_its_secret(tmp_path: Any) -> None:
    clients = tmp_path / "clients.json"
    clients.write_text(
        json.dumps({"ci-client": {"secret": "do-not-print-me", "org": "CI@AdobeOrg"}})
    )
    proc, lines = _start("--clients", str(clients))
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=20)
    text = "\n".join(lines) + out
    env = _exports(lines)
    assert (env["AEP_CLIENT_ID"], env["AEP_ORG_ID"]) == ("ci-client", "CI@AdobeOrg")
    assert "do-not-print-me" not in text
    assert proc.returncode == 0


def _one_sentence(result: Any, *words: str) -> None:
    assert result.code == 1
    assert "Traceback" not in result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.err
    for word in words:
        assert word in lines[0]


def test_an_unreadable_clients_file_is_one_sentence(cli: Any, tmp_path: Any) -> None:
    _one_sentence(
        cli("emulator", "--port", "0", "--clients", str(tmp_path / "missing.json")),
        "--clients",
        "missing.json",
    )


@pytest.mark.parametrize(
    ("content", "words"),
    [("{not json", "not valid JSON"), ('{"c": {"secret": "s"}}', '"org"'), ("[]", "JSON object")],
)
def test_a_malformed_clients_file_is_one_sentence(
    cli: Any, tmp_path: Any, content: str, words: str
) -> None:
    path = tmp_path / "clients.json"
    path.write_text(content)
    _one_sentence(cli("emulator", "--port", "0", "--clients", str(path)), "--clients", words)


def test_a_malformed_s3_credentials_file_is_one_sentence(cli: Any, tmp_path: Any) -> None:
    path = tmp_path / "s3.json"
    path.write_text('{"accessKeys": ["AKIA"]}')
    _one_sentence(cli("emulator", "--port", "0", "--s3-credentials", str(path)), "--s3-credentials")


def test_a_port_in_use_is_one_sentence(cli: Any) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        _one_sentence(cli("emulator", "--port", str(port)), str(port), "--port")


def test_a_file_that_is_not_a_database_is_one_sentence(cli: Any, tmp_path: Any) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("these are not the droids\n" * 100)
    _one_sentence(cli("emulator", "--port", "0", "--db", str(path)), "--db", "notes.txt")


@pytest.mark.parametrize("value", ["Prod", "", ",", "a b", "prod,dev/x"])
def test_bad_sandbox_names_are_one_sentence(cli: Any, value: str) -> None:
    _one_sentence(cli("emulator", "--port", "0", "--sandboxes", value), "--sandboxes")


def test_a_bad_fault_option_is_a_usage_error_from_the_real_process() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "provisioner", "emulator", "--fail-rate", "2"],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
        env=ENV,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "--fail-rate" in done.stderr and "between 0 and 1" in done.stderr


def test_dataset_options_seed_catalog_datasets_in_the_real_process() -> None:
    proc, lines = _start("--dataset", "Web events", "--dataset", "Orders")
    try:
        url = re.search(r"listening on (http://127\.0\.0\.1:\d+)", lines[0]).group(1)  # type: ignore[union-attr]
        banner = next(line for line in lines if line.strip().startswith("datasets:"))
        assert "Campaign events (6461e5e5b8a3f41c0a1f2b3c)" in banner and "Orders (" in banner
        env = _exports(lines)
        api = Api(
            url, client=env["AEP_CLIENT_ID"], secret=env["AEP_CLIENT_SECRET"], org=env["AEP_ORG_ID"]
        )
        found = api.call("GET", "/data/foundation/catalog/dataSets", params={"name": "Web events"})
        [(dataset_id, body)] = found.json().items()
        assert len(dataset_id) == 24 and body["schemaRef"]["id"].startswith("https://ns.adobe.com/")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)
    assert proc.returncode == 0


@pytest.mark.parametrize("value", ["", " padded "])
def test_a_bad_dataset_name_is_one_sentence(cli: Any, value: str) -> None:
    _one_sentence(cli("emulator", "--port", "0", "--dataset", value), "--dataset")
