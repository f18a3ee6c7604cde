"""Connections: the S3 tutorial's call, reads, masking, PATCH and etags, DELETE, sandboxes, bodies."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest
import requests
from emulator_helpers import BASE, CLIENT, MASK, ORG, S3, Api, flow_code, s3_body, validate
from openapi_core.exceptions import OpenAPIError

TUTORIAL_BODY = """{
        "name": "Amazon S3 base connection",
        "description": "Amazon S3 base connection with temporary session token",
        "auth": {
            "specName": "Access Key",
            "params": {
                "s3AccessKey": "{S3_ACCESS_KEY}",
                "s3SecretKey": "{S3_SECRET_KEY}",
                "s3SessionToken": "{S3_SESSION_TOKEN}"
            }
        },
        "connectionSpec": {
            "id": "ecadc60c-7455-4d87-84dc-2a0e293d997b",
            "version": "1.0"
        }
    }"""


def test_the_s3_tutorial_curl_call_creates_and_the_listing_masks_its_secrets(api: Api) -> None:
    # Adobe's curl, headers and body as published (with the tutorial's missing quote closed).
    url = f"{api.url}{BASE}/connections"
    headers = {
        "Authorization": f"Bearer {api.token}",
        "x-api-key": api.client,
        "x-gw-ims-org-id": api.org,
        "x-sandbox-name": "prod",
        "Content-Type": "application/json",
    }
    command = ["curl", "-s", "-i", "-X", "POST", url]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run(
        [*command, "-d", TUTORIAL_BODY], capture_output=True, text=True, timeout=30, check=True
    ).stdout
    head, _, body = out.replace("\r\n", "\n").partition("\n\n")
    status_line, *header_lines = head.splitlines()
    assert status_line.startswith("HTTP/1.1 201")
    answer_headers = dict(line.split(": ", 1) for line in header_lines)
    validate("POST", url, headers, TUTORIAL_BODY.encode(), 201, answer_headers, body.encode())
    created = json.loads(body)
    assert set(created) == {"id", "etag"}
    assert created["etag"].startswith('"') and created["etag"].endswith('"')

    items = api.list_all()
    assert [i["id"] for i in items] == [created["id"]]
    params = items[0]["auth"]["params"]
    assert params == {"s3AccessKey": "{S3_ACCESS_KEY}", "s3SecretKey": MASK, "s3SessionToken": MASK}


def test_post_answers_201_with_location_and_get_returns_every_documented_field(api: Api) -> None:
    resp = api.call(
        "POST",
        "/connections",
        json=s3_body(
            "landing", s3AccessKey="AK", s3SecretKey="SK", bucketName="acme", folderPath="in/2026"
        ),
    )
    assert resp.status_code == 201
    created = resp.json()
    assert resp.headers["Location"] == f"{BASE}/connections/{created['id']}"

    answer = api.call("GET", f"/connections/{created['id']}").json()
    assert len(answer["items"]) == 1
    item = answer["items"][0]
    assert set(item) == {
        "id",
        "createdAt",
        "updatedAt",
        "createdBy",
        "updatedBy",
        "createdClient",
        "updatedClient",
        "sandboxId",
        "sandboxName",
        "imsOrgId",
        "name",
        "description",
        "connectionSpec",
        "state",
        "auth",
        "version",
        "etag",
    }
    assert item["id"] == created["id"]
    assert item["etag"] == item["version"] == created["etag"]
    assert item["createdAt"] == item["updatedAt"] and item["createdAt"] > 1_600_000_000_000  # ms
    assert (
        item["createdBy"]
        == item["updatedBy"]
        == item["createdClient"]
        == item["updatedClient"]
        == CLIENT
    )
    assert (item["sandboxName"], item["imsOrgId"], item["state"]) == ("prod", ORG, "enabled")
    assert item["connectionSpec"] == {"id": S3, "version": "1.0"}
    assert item["auth"] == {
        "specName": "Access Key",
        "params": {
            "s3AccessKey": "AK",
            "s3SecretKey": MASK,
            "bucketName": "acme",
            "folderPath": "in/2026",
        },
    }
    # A trailing slash reads the same connection.
    assert api.call("GET", f"/connections/{created['id']}/").json() == answer


def test_iam_role_connection_and_no_description(api: Api) -> None:
    body = {
        "name": "on AWS",
        "auth": {"specName": "IAMRole Based", "params": {"bucketName": "acme-data"}},
        "connectionSpec": {"id": S3, "version": "1.0"},
    }
    item = api.get(api.create(body)["id"])
    assert "description" not in item
    assert item["auth"] == {"specName": "IAMRole Based", "params": {"bucketName": "acme-data"}}


def test_names_are_not_unique(api: Api) -> None:
    a, b = api.create(s3_body("same")), api.create(s3_body("same"))
    assert a["id"] != b["id"]
    assert len(api.list_all(property="name==same")) == 2


def _error(api: Api, body: Any, *, raw: bool = False) -> requests.Response:
    kwargs: dict[str, Any] = {"data": body} if raw else {"json": body}
    headers = {"Content-Type": "application/json"}
    return api.call("POST", "/connections", headers=headers, validate_request=False, **kwargs)


@pytest.mark.parametrize(
    ("body", "code", "words"),
    [
        (
            {
                **s3_body(),
                "connectionSpec": {"id": "00000000-0000-0000-0000-000000000000", "version": "1.0"},
            },
            "1413-400",
            "spec ID provided is invalid",
        ),
        ({**s3_body(), "connectionSpec": {"id": S3, "version": "9.9"}}, "1413-400", "spec ID"),
        (
            {k: v for k, v in s3_body().items() if k != "connectionSpec"},
            "1304-400",
            "connectionSpec.id",
        ),
        (
            {**s3_body(), "auth": {"specName": "Basic", "params": {}}},
            "1415-400",
            "auth spec 'Basic'",
        ),
        ({**s3_body(), "auth": {"params": {}}}, "1304-400", "auth.specName"),
        ({**s3_body(), "auth": {"specName": "Access Key"}}, "1304-400", "auth.params"),
        (s3_body(s3AccessKey="AK"), "1304-400", "mandatory field s3SecretKey"),
        (s3_body(s3AccessKey="AK", s3SecretKey=""), "1304-400", "s3SecretKey"),
        (
            s3_body(s3AccessKey="AK", s3SecretKey="SK", roleArn="arn:aws:iam::1:role/x"),
            "1312-400",
            "roleArn",
        ),
        (
            {
                **s3_body(),
                "auth": {
                    "specName": "IAMRole Based",
                    "params": {"bucketName": "b", "s3AccessKey": "A"},
                },
            },
            "1312-400",
            "s3AccessKey",
        ),
        ({k: v for k, v in s3_body().items() if k != "name"}, "1304-400", "mandatory field name"),
        ({**s3_body(), "name": "  "}, "1304-400", "name"),
        ({**s3_body(), "description": 5}, "1000-400", "description"),
        ([s3_body()], "1000-400", "JSON object"),
    ],
)
def test_bad_create_bodies_get_flow_service_errors(
    api: Api, body: Any, code: str, words: str
) -> None:
    resp = _error(api, body)
    assert flow_code(resp) == code
    assert words in resp.json()["report"]["detailed-message"]
    assert api.list_all() == []


def test_a_non_string_secret_is_refused_without_echoing_it(api: Api) -> None:
    resp = _error(api, s3_body(s3AccessKey="AK", s3SecretKey=123456789))  # type: ignore[arg-type]
    assert flow_code(resp) == "1312-400"
    assert "123456789" not in resp.text


def test_unparsable_and_empty_bodies(api: Api) -> None:
    assert flow_code(_error(api, '{"name": "x",', raw=True)) == "1000-400"
    assert flow_code(_error(api, "", raw=True)) == "1405-400"


def _patch(api: Api, id_: str, ops: Any, if_match: str | None, **kw: Any) -> requests.Response:
    headers = {} if if_match is None else {"If-Match": if_match}
    return api.call("PATCH", f"/connections/{id_}", json=ops, headers=headers, **kw)


def test_patch_with_the_quoted_etag_updates_and_changes_the_etag(api: Api) -> None:
    created = api.create()
    ops = [
        {"op": "replace", "path": "/name", "value": "renamed"},
        {"op": "add", "path": "/description", "value": "new words"},
        {"op": "add", "path": "/auth/params/s3SessionToken", "value": "session-1"},
    ]
    resp = _patch(api, created["id"], ops, created["etag"])
    assert resp.status_code == 200
    assert resp.json()["id"] == created["id"]
    new_etag = resp.json()["etag"]
    assert new_etag != created["etag"] and new_etag.startswith('"')
    item = api.get(created["id"])
    assert (item["name"], item["description"], item["etag"], item["version"]) == (
        "renamed",
        "new words",
        new_etag,
        new_etag,
    )
    assert item["auth"]["params"]["s3SessionToken"] == MASK
    assert item["updatedAt"] >= item["createdAt"]


def test_patch_accepts_the_etag_without_quotes_as_update_md_sends_it(api: Api) -> None:
    created = api.create()
    resp = _patch(
        api,
        created["id"],
        [{"op": "replace", "path": "/name", "value": "x"}],
        created["etag"].strip('"'),
    )
    assert resp.status_code == 200


def test_patch_with_a_stale_etag_is_412_and_changes_nothing(api: Api) -> None:
    created = api.create()
    first = _patch(
        api, created["id"], [{"op": "replace", "path": "/name", "value": "one"}], created["etag"]
    )
    assert first.status_code == 200
    stale = _patch(
        api, created["id"], [{"op": "replace", "path": "/name", "value": "two"}], created["etag"]
    )
    assert stale.status_code == 412
    assert flow_code(stale) == "1404-412"
    assert api.get(created["id"])["name"] == "one"
    for bad in ("*", "W/" + created["etag"], "nonsense"):
        assert (
            _patch(api, created["id"], [{"op": "remove", "path": "/description"}], bad).status_code
            == 412
        )


def test_patch_without_if_match_is_1403(api: Api) -> None:
    created = api.create()
    resp = _patch(
        api,
        created["id"],
        [{"op": "replace", "path": "/name", "value": "x"}],
        None,
        validate_request=False,
    )
    assert (resp.status_code, flow_code(resp)) == (400, "1403-400")


def test_patch_replacing_all_params_keeps_validation(api: Api) -> None:
    created = api.create(s3_body(s3AccessKey="AK", s3SecretKey="SK", bucketName="b"))
    # Replacing the whole object drops what it does not repeat (JSON Patch semantics).
    ok = _patch(
        api,
        created["id"],
        [
            {
                "op": "replace",
                "path": "/auth/params",
                "value": {"s3AccessKey": "AK2", "s3SecretKey": "SK2"},
            }
        ],
        created["etag"],
    )
    assert ok.status_code == 200
    assert api.get(created["id"])["auth"]["params"] == {"s3AccessKey": "AK2", "s3SecretKey": MASK}
    # An untouched secret still counts as present.
    etag = ok.json()["etag"]
    ok2 = _patch(
        api,
        created["id"],
        [{"op": "replace", "path": "/auth/params/s3AccessKey", "value": "AK3"}],
        etag,
    )
    assert ok2.status_code == 200


@pytest.mark.parametrize(
    ("ops", "code"),
    [
        ([{"op": "remove", "path": "/auth/params/s3SecretKey"}], "1304-400"),
        ([{"op": "add", "path": "/auth/params/roleArn", "value": "arn"}], "1312-400"),
        ([{"op": "replace", "path": "/name", "value": ""}], "1304-400"),
        ([{"op": "remove", "path": "/name"}], "1304-400"),
        ([{"op": "replace", "path": "/connectionSpec/id", "value": "other"}], "1414-400"),
        (
            [{"op": "replace", "path": "/connectionSpec", "value": {"id": "x", "version": "1.0"}}],
            "1414-400",
        ),
        ([{"op": "move", "from": "/name", "path": "/description"}], "1434-400"),
        ([{"op": "replace", "path": "/id", "value": "x"}], "1455-400"),
        ([{"op": "replace", "path": "/keyWhichDoesNotExist", "value": "x"}], "1455-400"),
        ([{"op": "remove", "path": "/auth/params/bucketName"}], "1455-400"),
        ([{"op": "replace", "path": "/name"}], "1455-400"),
        ([{"op": "replace", "path": "/auth/params", "value": "text"}], "1455-400"),
        ([], "1405-400"),
    ],
)
def test_bad_patches_are_refused_and_change_nothing(api: Api, ops: list[Any], code: str) -> None:
    created = api.create()
    before = api.get(created["id"])
    resp = _patch(api, created["id"], ops, created["etag"], validate_request=False)
    assert flow_code(resp) == code
    assert api.get(created["id"]) == before


def test_patch_and_get_of_an_unknown_id_are_404(api: Api) -> None:
    resp = _patch(api, "no-such-id", [{"op": "replace", "path": "/name", "value": "x"}], '"x"')
    assert (resp.status_code, flow_code(resp)) == (404, "1101-404")
    assert flow_code(api.call("GET", "/connections/no-such-id")) == "1101-404"
    assert flow_code(api.call("GET", "/connections/no-such-id/test")) == "1101-404"


@pytest.mark.parametrize("slash", ["", "/"])
def test_delete_answers_204_then_the_connection_is_404(api: Api, slash: str) -> None:
    created = api.create()
    resp = api.call("DELETE", f"/connections/{created['id']}{slash}")
    assert resp.status_code == 204 and resp.content == b""
    gone = api.call("GET", f"/connections/{created['id']}")
    assert (gone.status_code, flow_code(gone)) == (404, "1101-404")
    again = api.call("DELETE", f"/connections/{created['id']}{slash}")
    assert (again.status_code, flow_code(again)) == (404, "1101-404")
    assert api.list_all() == []


def test_sandboxes_are_isolated(api: Api) -> None:
    prod = api.create(s3_body("in-prod"), sandbox="prod")
    dev = api.create(s3_body("in-dev"), sandbox="dev")
    assert [i["name"] for i in api.list_all("prod")] == ["in-prod"]
    assert [i["name"] for i in api.list_all("dev")] == ["in-dev"]
    assert api.get(dev["id"], sandbox="dev")["sandboxName"] == "dev"
    assert api.get(prod["id"])["sandboxId"] != api.get(dev["id"], sandbox="dev")["sandboxId"]
    for method in ("GET", "DELETE"):
        resp = api.call(method, f"/connections/{prod['id']}", sandbox="dev")
        assert flow_code(resp) == "1101-404"
    resp = _patch(
        api,
        prod["id"],
        [{"op": "replace", "path": "/name", "value": "x"}],
        prod["etag"],
        sandbox="dev",
    )
    assert flow_code(resp) == "1101-404"
    assert api.get(prod["id"])["name"] == "in-prod"


def test_orgs_are_isolated(emulator: Any) -> None:
    mine, theirs = Api(emulator.url), Api(emulator.url, client="other", org="OTHER@AdobeOrg")
    created = mine.create()
    assert theirs.list_all() == []
    assert flow_code(theirs.call("GET", f"/connections/{created['id']}")) == "1101-404"


def test_connection_specs(api: Api) -> None:
    listed = api.call("GET", "/connectionSpecs", params={"property": f"id=={S3}"}).json()
    one = api.call("GET", f"/connectionSpecs/{S3}").json()
    assert listed == one
    spec = one["items"][0]
    assert (spec["id"], spec["name"], spec["version"]) == (S3, "Amazon S3", "1.0")
    auth = {a["name"]: a for a in spec["authSpec"]}
    assert auth["Access Key"]["type"] == "KeyBased"
    key = auth["Access Key"]["spec"]
    assert key["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert sorted(key["required"]) == ["s3AccessKey", "s3SecretKey"]
    assert set(key["properties"]) == {
        "s3AccessKey",
        "s3SecretKey",
        "s3SessionToken",
        "serviceUrl",
        "bucketName",
        "folderPath",
    }
    secret = {n for n, p in key["properties"].items() if p.get("format") == "password"}
    assert secret == {"s3SecretKey", "s3SessionToken"}
    assert auth["IAMRole Based"]["spec"]["required"] == ["bucketName"]
    assert api.call("GET", "/connectionSpecs", params={"property": "id==nope"}).json() == {
        "items": []
    }
    assert flow_code(api.call("GET", "/connectionSpecs/nope")) == "1101-404"
    assert (
        flow_code(api.call("GET", "/connectionSpecs", params={"property": "foo==1"})) == "1449-400"
    )


def test_connection_test_passes_everything_without_a_credentials_file(api: Api) -> None:
    created = api.create()
    assert api.call("GET", f"/connections/{created['id']}/test").json() == {"result": True}


def test_connection_test_checks_the_s3_credentials_file(
    emulator_factory: Any, tmp_path: Any
) -> None:
    creds = tmp_path / "s3.json"
    creds.write_text(
        json.dumps({"accessKeys": {"AKIAGOOD": "right-secret"}, "buckets": ["bucket-a"]})
    )
    api = Api(emulator_factory(s3_credentials_file=str(creds)).url)

    def result(params: dict[str, str], spec_name: str = "Access Key") -> bool:
        body = {**s3_body(), "auth": {"specName": spec_name, "params": params}}
        created = api.create(body)
        return bool(api.call("GET", f"/connections/{created['id']}/test").json()["result"])

    assert result({"s3AccessKey": "AKIAGOOD", "s3SecretKey": "right-secret"}) is True
    assert result({"s3AccessKey": "AKIAGOOD", "s3SecretKey": "wrong-secret"}) is False
    assert result({"s3AccessKey": "AKIAOTHER", "s3SecretKey": "right-secret"}) is False
    assert result({"bucketName": "bucket-a"}, "IAMRole Based") is True
    assert result({"bucketName": "bucket-b"}, "IAMRole Based") is False


def test_unknown_routes_and_methods(api: Api) -> None:
    resp = api.session.get(f"{api.url}{BASE}/segments", headers=api.headers())
    assert (
        resp.status_code == 404
        and resp.json()["report"]["request-id"] == resp.headers["x-request-id"]
    )
    resp = api.session.put(f"{api.url}{BASE}/connections", headers=api.headers(), json={})
    assert resp.status_code == 405 and resp.headers["Allow"] == "GET, POST"
    assert api.session.get(f"{api.url}/nowhere").status_code == 404


def test_the_stored_database_holds_no_secret(emulator_factory: Any, tmp_path: Any) -> None:
    db = tmp_path / "emu.db"
    api = Api(emulator_factory(db_path=str(db)).url)
    api.create(
        s3_body(
            s3AccessKey="AK", s3SecretKey="very-secret-value-42", s3SessionToken="tok-secret-77"
        )
    )
    data = b"".join(p.read_bytes() for p in tmp_path.glob("emu.db*"))
    assert b"very-secret-value-42" not in data and b"tok-secret-77" not in data
    assert b"AK" in data  # the non-secret param is there: the search would have found a secret


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, {"items": [{"id": "x", "createdAt": "yesterday"}]}),
        (200, {"items": {"id": "x"}}),
        (404, {"message": "not found"}),
        (412, {"error_code": "1404", "message": "stale"}),
        (
            503,
            {"type": "https://ns.adobe.com/aep/errors/FLOW-1103-503", "title": "x", "status": 503},
        ),
    ],
)
def test_the_validator_itself_rejects_answers_adobe_does_not_describe(
    status: int, body: dict[str, Any]
) -> None:
    # Guards the guard: the checks above would be worthless if these passed.
    with pytest.raises((OpenAPIError, AssertionError)):
        validate(
            "GET",
            f"http://127.0.0.1:1{BASE}/connections",
            {"Authorization": "Bearer t", "x-api-key": "k", "x-gw-ims-org-id": ORG},
            b"",
            status,
            {"x-request-id": "r", "Content-Type": "application/json"},
            json.dumps(body).encode(),
        )
