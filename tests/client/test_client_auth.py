"""The IMS token against the real emulator: fetched once, shared, renewed in time and on a 401."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
import requests
from client_helpers import CLIENT_ID, CLIENT_SECRET, ORG_ID, s3_body, settings_for

from provisioner.auth import TokenProvider, renewal_margin
from provisioner.errors import AuthError
from provisioner.secrets import Secret


def test_one_token_serves_many_requests(emulator, make_client):
    client = make_client(emulator.url)
    for _ in range(5):
        list(client.list_connections("prod"))
    client.get_connection("dev", "missing")
    assert client.token_requests == 1
    assert client.requests_sent == 1 + 6


def test_ten_threads_share_one_token_exchange(emulator, make_client):
    client = make_client(emulator.url)
    barrier = threading.Barrier(10)

    def lane(n: int) -> tuple[str, str]:
        barrier.wait()  # all ten ask for a token at the same moment
        return client.create_connection("prod", s3_body(f"lane-{n}"))

    with ThreadPoolExecutor(10) as pool:
        created = list(pool.map(lane, range(10)))
    assert len({conn_id for conn_id, _ in created}) == 10
    assert client.token_requests == 1
    assert len(list(client.list_connections("prod"))) == 10


def test_a_short_lived_token_is_renewed_before_it_expires(emulator_factory, make_client):
    # One fake clock for both sides: the emulator's token expiry and the client's renewal.
    now = [1_800_000_000.0]
    emu = emulator_factory(token_ttl=2, clock=lambda: now[0])
    client = make_client(emu.url, clock=lambda: now[0])
    list(client.list_connections("prod"))
    list(client.list_connections("prod"))
    assert client.token_requests == 1
    now[0] += 1.5  # past the renewal point (half of a 2 s lifetime), before expiry
    list(client.list_connections("prod"))
    assert client.token_requests == 2
    # Renewed ahead of time: no request was refused, so nothing was sent twice.
    assert client.requests_sent == 2 + 3


def test_renewal_margin():
    assert renewal_margin(86399) == pytest.approx(8639.9)  # 10% of a day
    assert renewal_margin(300) == 60  # at least a minute
    assert renewal_margin(2) == 1  # but never more than half the lifetime


def test_a_token_the_server_forgot_is_renewed_once_on_401(emulator_factory, make_client, tmp_path):
    db = str(tmp_path / "emulator.db")
    first = emulator_factory(db_path=db)
    port = urlsplit(first.url).port
    client = make_client(first.url)
    conn_id, _ = client.create_connection("prod", s3_body("survivor"))
    first.stop()
    emulator_factory(db_path=db, port=port)  # same data, but it issued no tokens yet
    before = client.requests_sent
    assert client.get_connection("prod", conn_id)["name"] == "survivor"
    assert client.token_requests == 2
    assert client.requests_sent - before == 3  # 401, new token, the retried GET


def test_a_given_access_token_skips_ims(emulator, make_client):
    answer = requests.post(
        f"{emulator.url}/ims/token/v3",
        data={
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": "x",
            "scope": "openid",
        },
        timeout=10,
    ).json()
    settings = settings_for(
        emulator.url, client_secret=None, access_token=Secret(answer["access_token"])
    )
    client = make_client(settings)
    assert list(client.list_connections("prod")) == []
    assert client.token_requests == 0 and client.requests_sent == 1


def test_a_wrong_access_token_is_refused_without_renewal(emulator, make_client):
    sentinel = "SENTINEL-wrong-access-token-31337"
    settings = settings_for(emulator.url, client_secret=None, access_token=Secret(sentinel))
    client = make_client(settings)
    with pytest.raises(AuthError) as info:
        list(client.list_connections("prod"))
    message = str(info.value)
    assert message.startswith("Flow Service refused the access token for GET /connections")
    assert "AEP_ACCESS_TOKEN" in message and sentinel not in message
    assert client.requests_sent == 1 and client.token_requests == 0


def test_a_bad_client_secret_is_one_clear_sentence_without_the_secret(
    emulator_factory, make_client, tmp_path
):
    clients = tmp_path / "clients.json"
    clients.write_text(json.dumps({CLIENT_ID: {"secret": "the-right-one", "org": ORG_ID}}))
    emu = emulator_factory(clients_file=str(clients))
    client = make_client(emu.url)  # sends CLIENT_SECRET, which is not the right one
    with pytest.raises(AuthError) as info:
        client.get_connection("prod", "any")
    assert str(info.value) == (
        f"IMS refused the client credentials for AEP_CLIENT_ID={CLIENT_ID}: invalid_client; "
        "check AEP_CLIENT_ID and AEP_CLIENT_SECRET"
        + (f" (request id {info.value.request_id})" if info.value.request_id else "")
    )
    assert CLIENT_SECRET not in str(info.value)
    assert client.requests_sent == 1  # a refusal is not retried


def test_the_right_client_secret_is_accepted_with_a_clients_file(
    emulator_factory, make_client, tmp_path
):
    clients = tmp_path / "clients.json"
    clients.write_text(json.dumps({CLIENT_ID: {"secret": CLIENT_SECRET, "org": ORG_ID}}))
    emu = emulator_factory(clients_file=str(clients))
    assert list(make_client(emu.url).list_connections("prod")) == []


def test_invalidate_only_drops_the_token_it_is_given(emulator):
    with requests.Session() as session:
        tokens = TokenProvider(settings_for(emulator.url), session, timeout=10)
        first = tokens.token()
        tokens.invalidate(Secret("some-older-token"))
        assert tokens.token() == first and tokens.exchanges == 1
        tokens.invalidate(first)
        assert tokens.token() != first and tokens.exchanges == 2


def test_ten_lanes_refused_by_ims_ask_it_once(emulator_factory, make_client, tmp_path):
    clients = tmp_path / "clients.json"
    clients.write_text(json.dumps({CLIENT_ID: {"secret": "the-right-one", "org": ORG_ID}}))
    emu = emulator_factory(clients_file=str(clients))
    client = make_client(emu.url)

    def lane(n: int) -> str:
        try:
            client.get_connection("prod", f"id-{n}")
        except AuthError as exc:
            return str(exc)
        return "no error"

    with ThreadPoolExecutor(10) as pool:
        outcomes = set(pool.map(lane, range(10)))
    assert len(outcomes) == 1 and next(iter(outcomes)).startswith("IMS refused")
    assert client.requests_sent == 1


def test_a_token_of_another_org_is_a_clear_403(emulator_factory, make_client, tmp_path):
    clients = tmp_path / "clients.json"
    clients.write_text(json.dumps({CLIENT_ID: {"secret": CLIENT_SECRET, "org": "OTHER@AdobeOrg"}}))
    emu = emulator_factory(clients_file=str(clients))
    client = make_client(emu.url)
    with pytest.raises(AuthError) as info:
        list(client.list_connections("prod"))
    message = str(info.value)
    assert message.startswith("Flow Service refused GET /connections (403")
    assert "403025" in message and f"AEP_ORG_ID={ORG_ID}" in message
    assert info.value.status == 403
