"""The --debug HTTP log: a line per request, bodies at DEBUG, and never a secret."""

from __future__ import annotations

import logging

import pytest
from client_helpers import CLIENT_ID, CLIENT_SECRET, s3_body

from provisioner.errors import ApiError

S3_SECRET = "SENTINEL-s3-secret-key-0xC0FFEE"
NEW_S3_SECRET = "SENTINEL-rotated-secret-0xBEEF"
SESSION_TOKEN = "SENTINEL-session-token-0xFACE"


def test_debug_log_shows_requests_and_no_secret(emulator, make_client, caplog):
    caplog.set_level(logging.DEBUG, logger="provisioner.http")
    client = make_client(emulator.url)
    body = s3_body("logged", secret=S3_SECRET)
    body["auth"]["params"]["s3SessionToken"] = SESSION_TOKEN
    conn_id, etag = client.create_connection("prod", body)
    client.patch_connection(
        "prod",
        conn_id,
        etag,
        [
            {"op": "replace", "path": "/auth/params/s3SecretKey", "value": NEW_S3_SECRET},
            {"op": "replace", "path": "/description", "value": "rotated"},
        ],
    )
    client.get_connection("prod", conn_id)
    list(client.list_connections("prod", name="logged"))
    bad = s3_body("rejected", secret=S3_SECRET)
    bad["auth"]["specName"] = "Nope"
    with pytest.raises(ApiError) as info:
        client.create_connection("prod", bad)

    text = caplog.text
    token = client.tokens.token().reveal()
    for secret in (S3_SECRET, NEW_S3_SECRET, SESSION_TOKEN, CLIENT_SECRET, token):
        assert secret not in text
        assert secret not in str(info.value)
    assert f"client_id={CLIENT_ID} client_secret=(sensitive)" in text
    assert "POST /ims/token/v3 -> 200 OK" in text
    assert "POST /data/foundation/flowservice/connections -> 201 Created" in text
    assert f"PATCH /data/foundation/flowservice/connections/{conn_id} -> 200 OK" in text
    assert (
        "GET /data/foundation/flowservice/connections?limit=100&property=name==logged -> 200"
        in text
    )
    assert "POST /data/foundation/flowservice/connections -> 400" in text
    assert "attempt 1" in text and "request id " in text
    assert "Authorization: Bearer (sensitive)" in text
    assert '"description": "rotated"' in text  # bodies are logged, only secrets masked


def test_without_debug_nothing_is_logged(emulator, make_client, caplog):
    caplog.set_level(logging.WARNING, logger="provisioner.http")
    list(make_client(emulator.url).list_connections("prod"))
    assert caplog.records == []


def test_retries_are_logged(emulator_factory, make_client, caplog):
    caplog.set_level(logging.INFO, logger="provisioner.http")
    emu = emulator_factory(fail_rate=1.0)
    client = make_client(emu.url, max_retries=1, sleep=lambda s: None)
    with pytest.raises(ApiError):
        client.get_connection("prod", "x")
    messages = [r.getMessage() for r in caplog.records]
    assert any("-> 503 Service Unavailable" in m and "attempt 1" in m for m in messages)
    assert any("retry 1/1 in " in m for m in messages)
    assert any("attempt 2" in m for m in messages)
    assert not any("request body" in m for m in messages)  # bodies only at DEBUG
