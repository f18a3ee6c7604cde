"""IMS tokens and the gateway's header checks, each with Adobe's documented body."""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from chain_helpers import FakeClock
from emulator_helpers import BASE, CLIENT, ORG, OTHER_ORG, Api, check, flow_code, s3_body, validate


def test_token_response_is_the_documented_one(api: Api) -> None:
    resp = api.ims(client_id="any-id", client_secret="any-secret")
    assert resp.status_code == 200
    body = resp.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 86399


def test_token_fields_may_come_as_query_parameters(emulator: Any) -> None:
    resp = requests.post(
        f"{emulator.url}/ims/token/v3",
        params={
            "grant_type": "client_credentials",
            "client_id": "q",
            "client_secret": "s",
            "scope": "openid",
        },
        timeout=10,
    )
    assert check(resp).status_code == 200


def test_token_ttl_is_reported(emulator_factory: Any) -> None:
    api = Api(emulator_factory(token_ttl=120).url)
    assert api.ims(client_id="x", client_secret="y").json()["expires_in"] == 120


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
        ({"client_id": ""}, 400, "invalid_request"),
        ({"client_secret": ""}, 400, "invalid_request"),
        ({"scope": ""}, 400, "invalid_scope"),
    ],
)
def test_malformed_token_requests(api: Api, form: dict[str, str], status: int, error: str) -> None:
    base = {"client_id": "c", "client_secret": "s"}
    resp = api.ims(**{**base, **form})
    assert (resp.status_code, resp.json()["error"]) == (status, error)


@pytest.fixture
def clients_emulator(emulator_factory: Any, tmp_path: Any) -> Any:
    path = tmp_path / "clients.json"
    path.write_text(
        json.dumps(
            {
                CLIENT: {"secret": "right", "org": ORG},
                "other-client": {"secret": "other", "org": OTHER_ORG},
            }
        )
    )
    return emulator_factory(clients_file=str(path))


def test_clients_file_restricts_who_gets_a_token(clients_emulator: Any) -> None:
    api = Api(clients_emulator.url, secret="right")
    wrong = api.ims(client_id=CLIENT, client_secret="wrong")
    assert (wrong.status_code, wrong.json()["error"]) == (401, "invalid_client")
    assert "wrong" not in wrong.text
    unknown = api.ims(client_id="stranger", client_secret="right")
    assert (unknown.status_code, unknown.json()["error"]) == (401, "invalid_client")
    assert api.create()["id"]


def test_a_token_of_the_clients_file_is_bound_to_its_org(clients_emulator: Any) -> None:
    api = Api(clients_emulator.url, client="other-client", secret="other", org=ORG)
    resp = api.call("GET", "/connections")
    assert (resp.status_code, resp.json()) == (
        403,
        {"error_code": "403025", "message": "Profile is not valid"},
    )


def test_default_mode_binds_a_token_to_the_first_org_it_is_used_with(api: Api) -> None:
    assert api.call("GET", "/connections").status_code == 200
    resp = api.call("GET", "/connections", headers={"x-gw-ims-org-id": OTHER_ORG})
    assert resp.json() == {"error_code": "403025", "message": "Profile is not valid"}


def _gateway(resp: requests.Response) -> tuple[int, str, str]:
    body = resp.json()
    return resp.status_code, body["error_code"], body["message"]


def test_missing_authorization_is_403010(api: Api) -> None:
    resp = api.call("GET", "/connections", drop=("Authorization",), validate_request=False)
    assert _gateway(resp) == (403, "403010", "Oauth token is missing.")


@pytest.mark.parametrize("value", ["Bearer not-a-token", "not-a-token", "Basic abc"])
def test_an_unknown_token_is_401013(api: Api, value: str) -> None:
    resp = api.call("GET", "/connections", headers={"Authorization": value})
    assert _gateway(resp) == (401, "401013", "Oauth token is not valid")


def test_an_expired_token_is_401013(emulator_factory: Any) -> None:
    clock = FakeClock()
    api = Api(emulator_factory(token_ttl=60, clock=clock).url)
    assert api.call("GET", "/connections").status_code == 200
    clock.advance(59)
    assert api.call("GET", "/connections").status_code == 200  # not yet
    clock.advance(1)
    assert _gateway(api.call("GET", "/connections")) == (401, "401013", "Oauth token is not valid")
    for path in ("/flows", "/data/foundation/catalog/dataSets"):  # every service's gateway
        assert _gateway(api.call("GET", path)) == (401, "401013", "Oauth token is not valid")


def test_missing_api_key_is_403000(api: Api) -> None:
    resp = api.call("GET", "/connections", drop=("x-api-key",), validate_request=False)
    assert _gateway(resp) == (403, "403000", "Api Key is required")


def test_an_api_key_other_than_the_tokens_client_is_403003(api: Api) -> None:
    resp = api.call("GET", "/connections", headers={"x-api-key": "someone-else"})
    assert _gateway(resp) == (403, "403003", "Api Key is invalid")


def test_missing_org_is_400003(api: Api) -> None:
    resp = api.call("GET", "/connections", drop=("x-gw-ims-org-id",), validate_request=False)
    assert _gateway(resp) == (400, "400003", "Missing header")


def test_missing_sandbox_is_2105(api: Api) -> None:
    resp = api.call("GET", "/connections", sandbox=None)
    assert (resp.status_code, flow_code(resp)) == (400, "2105-400")


def test_an_unknown_sandbox_is_2100(api: Api) -> None:
    resp = api.call("GET", "/connections", sandbox="staging")
    assert (resp.status_code, flow_code(resp)) == (404, "2100-404")
    assert "'staging'" in resp.json()["report"]["detailed-message"]


def test_sandboxes_option_chooses_which_exist(emulator_factory: Any) -> None:
    api = Api(emulator_factory(sandboxes=("alpha", "beta")).url)
    assert api.call("GET", "/connections", sandbox="beta").status_code == 200
    assert flow_code(api.call("GET", "/connections", sandbox="prod")) == "2100-404"


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_a_write_without_json_content_type_is_the_documented_bad_request(
    api: Api, content_type: str | None
) -> None:
    headers = api.headers()
    if content_type:
        headers["Content-Type"] = content_type
    resp = check(
        requests.post(
            f"{api.url}{BASE}/connections", headers=headers, data=json.dumps(s3_body()), timeout=10
        ),
        validate_request=False,
    )
    assert (resp.status_code, resp.json()) == (
        400,
        {
            "type": "/placeholder/type/uri",
            "status": 400,
            "title": "BadRequestError",
            "detail": "A valid content-type must be specified",
        },
    )
    assert api.list_all() == []


def test_json_with_a_charset_is_accepted(api: Api) -> None:
    resp = api.call(
        "POST",
        "/connections",
        json=s3_body(),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert resp.status_code == 201


def test_every_answer_has_a_request_id_and_errors_repeat_it(api: Api) -> None:
    ok = api.call("GET", "/connections")
    bad = api.call("GET", "/connections/nope")
    assert ok.headers["x-request-id"] != bad.headers["x-request-id"]
    assert bad.json()["report"]["request-id"] == bad.headers["x-request-id"]
    mine = api.call("GET", "/connections/nope", headers={"x-request-id": "trace-me-1"})
    assert mine.headers["x-request-id"] == mine.json()["report"]["request-id"] == "trace-me-1"


def _raw(api: Api) -> http.client.HTTPConnection:
    url = urlsplit(api.url)
    return http.client.HTTPConnection(str(url.hostname), url.port, timeout=10)


def _answer(conn: http.client.HTTPConnection) -> tuple[int, dict[str, str], bytes]:
    resp = conn.getresponse()
    return resp.status, dict(resp.getheaders()), resp.read()


def test_the_server_keeps_connections_alive(api: Api) -> None:
    conn = _raw(api)
    try:
        for _ in range(3):
            conn.request("GET", f"{BASE}/connections", headers=api.headers())
            status, headers, body = _answer(conn)
            validate(
                "GET", f"{api.url}{BASE}/connections", api.headers(), b"", status, headers, body
            )
            assert status == 200 and json.loads(body)["items"] == []
            assert headers.get("Connection") != "close"
        assert conn.sock is not None  # the same socket served all three
    finally:
        conn.close()


def test_a_patch_without_json_content_type_is_the_documented_bad_request(api: Api) -> None:
    created = api.create()
    headers = {**api.headers(), "If-Match": created["etag"]}
    ops = [{"op": "replace", "path": "/name", "value": "x"}]
    resp = requests.patch(
        f"{api.url}{BASE}/connections/{created['id']}",
        headers=headers,
        data=json.dumps(ops),
        timeout=10,
    )
    assert check(resp, validate_request=False).json()["title"] == "BadRequestError"
    assert api.get(created["id"])["name"] == s3_body()["name"]


def test_a_chunked_request_body_is_read(api: Api) -> None:
    conn = _raw(api)
    data = json.dumps(s3_body("chunked")).encode()
    headers = {**api.headers(), "Content-Type": "application/json"}
    try:
        conn.request(
            "POST",
            f"{BASE}/connections",
            body=iter([data[:40], data[40:]]),
            headers=headers,
            encode_chunked=True,
        )
        status, answer_headers, body = _answer(conn)
        validate(
            "POST", f"{api.url}{BASE}/connections", headers, data, status, answer_headers, body
        )
        assert status == 201, body
        # The same connection is still in step for the next request.
        conn.request("GET", f"{BASE}/connections", headers=api.headers())
        assert [i["name"] for i in json.loads(_answer(conn)[2])["items"]] == ["chunked"]
    finally:
        conn.close()


@pytest.mark.parametrize(("length", "status"), [("many", 400), (str(1 << 24), 413)])
def test_badly_framed_and_oversized_bodies_are_refused(api: Api, length: str, status: int) -> None:
    conn = _raw(api)
    headers = {**api.headers(), "Content-Type": "application/json", "Content-Length": length}
    try:
        conn.putrequest("POST", f"{BASE}/connections")
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders()
        got, answer_headers, body = _answer(conn)
        assert got == status and answer_headers["Connection"] == "close"
        validate(
            "POST",
            f"{api.url}{BASE}/connections",
            headers,
            b"",
            got,
            answer_headers,
            body,
            validate_request=False,
        )
    finally:
        conn.close()
    assert api.list_all() == []
