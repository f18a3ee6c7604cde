"""A service that echoes a secret back, in any encoding, never gets it printed."""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from provisioner.secrets import MASK, mask_echoes
from tests.aep import s3, write_manifest
from tests.conftest import EMULATOR_ORG_ID
from tests.reliability.helpers import figure

SECRET = 'Echo+Me/s3cr"t\\val&ue=%Z é'


def encodings(value: str) -> dict[str, str]:
    q = urllib.parse.quote(value, safe="")
    return {
        "raw": value,
        "json": json.dumps(value)[1:-1],
        "json-utf8": json.dumps(value, ensure_ascii=False)[1:-1],
        "json-slash": json.dumps(value).replace("/", "\\/")[1:-1],
        "url": q,
        "url-lower": re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), q),
        "latin-1": value.encode("utf-8").decode("latin-1"),
        "url-path": urllib.parse.quote(value),
        "form": urllib.parse.quote_plus(value),
        "url-twice": urllib.parse.quote(q, safe=""),
        "repr": repr(value)[1:-1],
    }


def test_mask_echoes_every_encoding() -> None:
    for name, form in encodings(SECRET).items():
        assert mask_echoes(f"<{form}>", [SECRET]) == f"<{MASK}>", name


@pytest.fixture
def echoing_ims() -> Iterator[str]:
    """A loopback IMS that refuses the token request, quoting what it got in every encoding."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = urllib.parse.parse_qs(self.rfile.read(length).decode())
            got = form.get("client_secret", [""])[0]
            body = " ".join(f"{k}={v}" for k, v in encodings(got).items()).encode()
            self.send_response(400)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_echoed_client_secret_is_masked_in_errors_and_debug_log(
    cli: Any, echoing_ims: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AEP_CLIENT_ID", "cid")
    monkeypatch.setenv("AEP_CLIENT_SECRET", SECRET)
    monkeypatch.setenv("AEP_ORG_ID", EMULATOR_ORG_ID)
    monkeypatch.setenv("AEP_IMS_URL", echoing_ims)
    monkeypatch.setenv("AEP_PLATFORM_URL", echoing_ims)
    monkeypatch.setenv("TEST_S3_KEY", "AKIA")
    monkeypatch.setenv("TEST_S3_SECRET", "s3-secret-value")
    write_manifest(tmp_path / "m.yaml", {"a": s3("n")})
    result = cli("plan", "m.yaml", "--debug")
    assert result.code == 1
    shown = result.out + result.err
    leaked = [name for name, form in encodings(SECRET).items() if form in shown]
    assert leaked == []
    assert MASK in shown
    figure("secret_echoes", encodings=len(encodings(SECRET)), leaked=len(leaked))
