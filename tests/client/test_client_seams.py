"""What the emulator cannot produce, against a tiny local server: timeouts, resets, odd headers."""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import pytest
from client_helpers import (
    CLIENT_ID,
    CLIENT_SECRET,
    ORG_ID,
    Answer,
    Seen,
    Sleeps,
    s3_body,
    settings_for,
    with_ims,
)

from provisioner.errors import ApiError, AuthError, TransientError, UncertainWriteError
from provisioner.http.retry import parse_retry_after

EMPTY = {"items": []}


def test_every_request_carries_the_documented_headers(seam, make_client):
    server = seam(with_ims(lambda s: Answer(201, {"id": "c1", "etag": '"e1"'})))
    client = make_client(server.url)
    client.create_connection("dev", s3_body("one"))
    token, post = server.seen
    assert token.method == "POST" and token.path == "/ims/token/v3"
    assert token.headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = dict(parse_qsl(token.body.decode()))
    assert form == {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "scope": "openid,session,AdobeID,read_organizations,additional_info.projectedProductContext",
    }
    assert post.path == "/data/foundation/flowservice/connections"
    assert post.headers["Authorization"].startswith("Bearer seam-token-")
    assert post.headers["x-api-key"] == CLIENT_ID
    assert post.headers["x-gw-ims-org-id"] == ORG_ID
    assert post.headers["x-sandbox-name"] == "dev"
    assert post.headers["Content-Type"] == "application/json"
    assert post.headers["Accept"] == "application/json"
    assert json.loads(post.body) == s3_body("one")


def test_if_match_is_sent_exactly_as_the_etag_was_received(seam, make_client):
    server = seam(with_ims(lambda s: Answer(200, {"id": "c1", "etag": '"e2"'})))
    client = make_client(server.url)
    assert (
        client.patch_connection(
            "prod", "c1", '"e1-quoted"', [{"op": "replace", "path": "/name", "value": "x"}]
        )
        == '"e2"'
    )
    patch = server.seen[-1]
    assert patch.method == "PATCH"
    assert patch.headers["If-Match"] == '"e1-quoted"'
    assert patch.headers["Content-Type"] == "application/json"


def test_read_timeout_on_get_is_retried(seam, make_client):
    calls = []

    def handler(seen: Seen) -> Answer:
        calls.append(seen)
        return Answer(200, EMPTY, delay=1.0 if len(calls) == 1 else 0)

    server = seam(with_ims(handler))
    sleeps = Sleeps()
    client = make_client(server.url, timeout=0.3, sleep=sleeps)
    assert list(client.list_connections("prod")) == []
    assert len(calls) == 2 and len(sleeps) == 1


def test_read_timeout_on_create_is_an_uncertain_write_never_retried(seam, make_client):
    server = seam(with_ims(lambda s: Answer(201, {"id": "c1", "etag": '"e"'}, delay=1.0)))
    sleeps = Sleeps()
    client = make_client(server.url, timeout=0.3, sleep=sleeps)
    with pytest.raises(UncertainWriteError) as info:
        client.create_connection("prod", s3_body("slow"))
    assert "may or may not" in str(info.value)
    assert [s.method for s in server.seen] == ["POST", "POST"]  # token, then one create
    assert sleeps == []


def test_connection_reset_after_sending_a_create_is_uncertain(seam, make_client):
    server = seam(with_ims(lambda s: Answer(hang_up=True)))
    client = make_client(server.url, sleep=Sleeps())
    with pytest.raises(UncertainWriteError):
        client.create_connection("prod", s3_body("reset"))
    assert len([s for s in server.seen if s.path.endswith("/connections")]) == 1


def test_connection_refused_is_retried_even_for_a_create_then_transient(make_client):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sleeps = Sleeps()
    client = make_client(f"http://127.0.0.1:{port}", max_retries=2, sleep=sleeps)
    with pytest.raises(TransientError) as info:
        client.create_connection("prod", s3_body("nowhere"))
    assert not isinstance(info.value, UncertainWriteError)
    assert "could not connect to http://127.0.0.1:" in str(info.value)
    assert "AEP_IMS_URL" in str(info.value)  # the token exchange is the first to fail
    assert len(sleeps) == 3  # the token provider's own retries


def test_connection_refused_on_create_after_a_token_is_retried(seam, make_client):
    ims = seam(with_ims(lambda s: Answer(404)))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = settings_for(f"http://127.0.0.1:{port}", ims_url=ims.url)
    sleeps = Sleeps()
    client = make_client(settings, max_retries=2, sleep=sleeps)
    with pytest.raises(TransientError) as info:
        client.create_connection("prod", s3_body("nowhere"))
    assert not isinstance(info.value, UncertainWriteError)
    assert "AEP_PLATFORM_URL" in str(info.value)
    assert len(sleeps) == 2
    assert client.requests_sent == 4  # 1 token + 3 attempts


def test_http_date_retry_after_is_honoured_and_capped(seam, make_client):
    answers = iter(
        [
            Answer(
                429,
                {},
                {
                    "Retry-After": format_datetime(
                        datetime.now(UTC) + timedelta(seconds=30), usegmt=True
                    )
                },
            ),
            Answer(503, {}, {"Retry-After": "7"}),
            Answer(200, EMPTY),
        ]
    )
    server = seam(with_ims(lambda s: next(answers)))
    sleeps = Sleeps()
    client = make_client(server.url, backoff_cap=5.0, sleep=sleeps)
    assert list(client.list_connections("prod")) == []
    assert sleeps == [5.0, 5.0]
    assert len(server.seen) == 4


def test_parse_retry_after_forms():
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:09 GMT", now=now) == 9.0
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_persistent_401_renews_the_token_once_then_fails(seam, make_client):
    server = seam(
        with_ims(
            lambda s: Answer(401, {"error_code": "401013", "message": "Oauth token is not valid"})
        )
    )
    client = make_client(server.url, sleep=Sleeps())
    with pytest.raises(AuthError) as info:
        client.get_connection("prod", "c1")
    assert client.token_requests == 2
    assert client.requests_sent == 4  # token, 401, token, 401
    assert "401013" in str(info.value) or "Oauth token is not valid" in str(info.value)


def test_next_links_keep_limit_and_filters_when_the_link_lacks_them(seam, make_client):
    def handler(seen: Seen) -> Answer:
        if dict(seen.query).get("continuationToken") == "p2":
            return Answer(200, {"items": [{"id": "b", "name": "n"}]})
        return Answer(
            200,
            {
                "items": [{"id": "a", "name": "n"}],
                "_links": {"next": {"href": "/connections?continuationToken=p2"}},
            },
        )

    server = seam(with_ims(handler))
    client = make_client(server.url, page_size=1)
    assert [c["id"] for c in client.list_connections("prod", spec_id="S", name="n")] == ["a", "b"]
    second = server.seen[-1]
    assert second.path == "/data/foundation/flowservice/connections"
    assert sorted(second.query) == sorted(
        [
            ("continuationToken", "p2"),
            ("limit", "1"),
            ("property", "connectionSpec.id==S"),
            ("property", "name==n"),
        ]
    )


def test_a_next_link_to_another_host_is_refused(seam, make_client):
    server = seam(
        with_ims(
            lambda s: Answer(
                200,
                {
                    "items": [],
                    "_links": {
                        "next": {"href": "https://evil.example/connections?continuationToken=x"}
                    },
                },
            )
        )
    )
    client = make_client(server.url)
    with pytest.raises(ApiError, match="another host"):
        list(client.list_connections("prod"))


def test_a_next_link_that_repeats_is_an_error_not_an_endless_loop(seam, make_client):
    body = {
        "items": [{"id": "a"}],
        "_links": {"next": {"href": "/connections?continuationToken=same"}},
    }
    server = seam(with_ims(lambda s: Answer(200, body)))
    client = make_client(server.url)
    with pytest.raises(ApiError, match="same next-page link twice"):
        list(client.list_connections("prod"))


def test_a_secret_echoed_in_an_error_body_is_masked(seam, make_client):
    secret = "SENTINEL-echoed-s3-secret-99"

    def handler(seen: Seen) -> Answer:
        value = json.loads(seen.body)["auth"]["params"]["s3SecretKey"]
        detail = f"The provided param value {value} is not a valid input for property=s3SecretKey."
        return Answer(
            400,
            {
                "title": "Invalid request",
                "status": 400,
                "report": {"detailed-message": detail, "request-id": "rid-7"},
            },
            {"x-request-id": "rid-7"},
        )

    server = seam(with_ims(handler))
    client = make_client(server.url)
    with pytest.raises(ApiError) as info:
        client.create_connection("prod", s3_body("echo", secret=secret))
    message = str(info.value)
    assert secret not in message
    assert "Invalid request" in message and "(sensitive)" in message and "rid-7" in message
    assert info.value.status == 400 and info.value.request_id == "rid-7"


def test_a_success_body_that_is_not_json_is_an_api_error(seam, make_client):
    server = seam(with_ims(lambda s: Answer(200, raw=b"<html>gateway</html>")))
    client = make_client(server.url)
    with pytest.raises(ApiError, match="not JSON"):
        client.get_connection("prod", "c1")


def test_tls_is_always_verified(tmp_path, make_client):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a self-signed certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        client = make_client(f"https://127.0.0.1:{server.server_address[1]}", sleep=Sleeps())
        with pytest.raises(ApiError) as info:
            client.get_connection("prod", "c1")
        assert str(info.value).startswith("TLS verification failed for https://127.0.0.1:")
        assert client.requests_sent == 1  # not retried: a bad certificate stays bad
    finally:
        server.shutdown()
        server.server_close()
