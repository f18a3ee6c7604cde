"""A test client for the emulator that validates every answer against Adobe's OpenAPI file.

Adobe's `flow-service.yaml` is used as published, with these test-side adjustments for its
known quirks (tests/emulator/adobe/README.md) and its silences:
- `servers` is set to the base path, so the emulator's URL can be matched;
- PATCH's body is a JSON Patch array (the spec declares one object; the service takes an array);
- PATCH/DELETE are declared only on `/connections/{id}/`: calls without the slash are matched
  against that path;
- an empty `content: {}` (DELETE's 204) is read as "no body";
- the spec documents only 2xx, 403 and 503 (the latter two with no body). Every other status,
  and the bodies of 403/503, are checked against the error bodies Adobe documents elsewhere
  (Adobe's Flow Service API guide, https://experienceleague.adobe.com/en/docs/experience-platform/sources/api-tutorials/troubleshooting
  and docs/client.md): Flow Service's {type, title, status, report}, the gateway's
  {error_code, message}, and the BadRequestError of a bad Content-Type.
IMS is not in the file: its answers are checked against the documented token response.

The chain's other two services are checked against their own vendored files the same way:
`data-prep.yaml` (mapping sets; its dates are typed date-time strings while every Adobe example,
and the emulator, carry epoch-millisecond integers, so integers are accepted there) and
`catalog.yaml` (datasets; its bare integer status keys are read as strings, only its dataset
paths are loaded, and the file is not run through the OpenAPI checker, which some of its unused
parts fail). Their error bodies,
which Adobe does not document, are checked against the emulator's problem shape
{type, title, status, detail}. `DELETE /mappingSets/{id}` is in neither file (Adobe's own client
calls it): only its error bodies are checked.
"""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import jsonschema
import requests
import yaml
from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse

SPEC_FILE = Path(__file__).resolve().parent / "adobe" / "flow-service.yaml"  # vendored, unchanged
DATA_PREP_FILE = SPEC_FILE.parent / "data-prep.yaml"  # vendored, unchanged
CATALOG_FILE = SPEC_FILE.parent / "catalog.yaml"  # vendored, unchanged

BASE = "/data/foundation/flowservice"
CONVERSION = "/data/foundation/conversion"
CATALOG = "/data/foundation/catalog"
S3 = "ecadc60c-7455-4d87-84dc-2a0e293d997b"
ORG = "TESTORG0000000000000000@AdobeOrg"
OTHER_ORG = "OTHERORG000000000000000@AdobeOrg"
CLIENT = "test-client"
SECRET = "test-client-secret-value"
MASK = "********"

FLOW_ERROR = {
    "type": "object",
    "required": ["type", "title", "status", "report", "errorMessage", "errorDetails"],
    "properties": {
        "type": {
            "type": "string",
            "pattern": r"^https://ns\.adobe\.com/aep/errors/FLOW-\d{4}-\d{3}$",
        },
        "title": {"type": "string", "minLength": 1},
        "status": {"type": "integer"},
        "report": {
            "type": "object",
            "required": ["detailed-message", "request-id"],
            "properties": {
                "detailed-message": {"type": "string", "minLength": 1},
                "request-id": {"type": "string", "minLength": 1},
            },
        },
        "errorMessage": {"type": "string"},
        "errorDetails": {"type": "string"},
    },
}
GATEWAY_ERROR = {
    "type": "object",
    "required": ["error_code", "message"],
    "additionalProperties": False,
    "properties": {
        "error_code": {"type": "string", "pattern": r"^\d{6}$"},
        "message": {"type": "string"},
    },
}
BAD_REQUEST_ERROR = {
    "type": "object",
    "required": ["type", "status", "title", "detail"],
    "properties": {"title": {"enum": ["BadRequestError"]}, "status": {"enum": [400]}},
}
ERROR_BODY = {"oneOf": [FLOW_ERROR, GATEWAY_ERROR, BAD_REQUEST_ERROR]}
PROBLEM_ERROR = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string", "minLength": 1},
        "status": {"type": "integer"},
        "detail": {"type": "string", "minLength": 1},
    },
}
OTHER_ERROR_BODY = {"anyOf": [PROBLEM_ERROR, GATEWAY_ERROR]}  # BadRequestError is a problem too
TOKEN = {
    "type": "object",
    "required": ["access_token", "token_type", "expires_in"],
    "additionalProperties": False,
    "properties": {
        "access_token": {"type": "string", "minLength": 16},
        "token_type": {"enum": ["bearer"]},
        "expires_in": {"type": "integer"},
    },
}
IMS_ERROR = {
    "type": "object",
    "required": ["error", "error_description"],
    "properties": {"error": {"type": "string"}, "error_description": {"type": "string"}},
}
_SERVED = (
    "/connections",
    "/connections/{BASE_CONNECTION_ID}",
    "/connections/{BASE_CONNECTION_ID}/",
    "/connections/{BASE_CONNECTION_ID}/test",
    "/connectionSpecs",
    "/connectionSpecs/{CONNECTION_SPEC_ID}",
    "/connections/{BASE_CONNECTION_ID}/explore",
    "/sourceConnections",
    "/sourceConnections/{SOURCE_CONNECTION_ID}",
    "/targetConnections",
    "/targetConnections/{TARGET_CONNECTION_ID}",
    "/flows",
    "/flows/{FLOW_ID}",
    "/flows/{FLOW_ID}/action",
    "/flowSpecs",
    "/flowSpecs/{FLOW_SPEC_ID}",
    "/runs",
    "/runs/{RUN_ID}",
)
_JSON_PATCH = {
    "type": "array",
    "minItems": 1,
    "items": {
        "type": "object",
        "required": ["op", "path"],
        "properties": {
            "op": {"enum": ["add", "replace", "remove", "ADD", "REPLACE", "REMOVE"]},
            "path": {"type": "string"},
        },
    },
}


def _errors_documented(spec: dict[str, Any], paths: Any, body: dict[str, Any]) -> None:
    """Every non-2xx answer of the given paths carries the documented (or assumed) error body;
    an empty `content: {}` of a 2xx answer means "no body"."""
    error = {"description": "error body", "content": {"application/json": {"schema": body}}}
    for path in paths:
        for op in spec["paths"][path].values():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            responses = {str(k): v for k, v in op["responses"].items()}
            for status, answer in list(responses.items()):
                if not status.startswith("2"):
                    responses[status] = error
                elif answer.get("content") == {}:
                    del answer["content"]
            responses["default"] = error
            op["responses"] = responses


@cache
def openapi() -> OpenAPI:
    spec = yaml.safe_load(SPEC_FILE.read_text(encoding="utf-8"))
    spec = copy.deepcopy(spec)
    spec["servers"] = [{"url": BASE}]
    _errors_documented(spec, _SERVED, ERROR_BODY)
    for path in (
        "/connections/{BASE_CONNECTION_ID}/",
        "/sourceConnections/{SOURCE_CONNECTION_ID}",
        "/targetConnections/{TARGET_CONNECTION_ID}",
        "/flows/{FLOW_ID}",
    ):
        patch = spec["paths"][path]["patch"]
        patch["requestBody"]["content"]["application/json"]["schema"] = _JSON_PATCH
    return OpenAPI.from_dict(spec)


def _integer_dates(schema: dict[str, Any]) -> None:
    for name in ("createdDate", "modifiedDate"):
        if name in schema.get("properties", {}):
            schema["properties"][name] = {"type": "integer"}


@cache
def data_prep_openapi() -> OpenAPI:
    spec = yaml.safe_load(DATA_PREP_FILE.read_text(encoding="utf-8"))
    spec["servers"] = [{"url": CONVERSION}]
    _errors_documented(spec, ("/mappingSets", "/mappingSets/{MAPPING_SET_ID}"), OTHER_ERROR_BODY)
    for name in ("MappingSet", "SimpleRepresentation", "MappingOperation", "SchemaRepresentation"):
        _integer_dates(spec["components"]["schemas"][name])
    return OpenAPI.from_dict(spec)


@cache
def catalog_openapi() -> OpenAPI:
    spec = yaml.safe_load(CATALOG_FILE.read_text(encoding="utf-8"))
    spec["servers"] = [{"url": CATALOG}]
    # Only the dataset paths: others (e.g. /tags/{tagNamespace}, a parameter listed twice) do
    # not pass the OpenAPI checker, and the emulator does not serve them.
    spec["paths"] = {p: spec["paths"][p] for p in ("/dataSets", "/dataSets/{DATASET_ID}")}
    for item in spec["paths"].values():  # bare YAML integers as status keys: read as strings
        for op in item.values():
            if isinstance(op, dict) and "responses" in op:
                op["responses"] = {str(k): v for k, v in op["responses"].items()}
    _errors_documented(spec, ("/dataSets", "/dataSets/{DATASET_ID}"), OTHER_ERROR_BODY)
    # Some unused component schemas break the OpenAPI checker (a `description: null`): the
    # file is used unchecked, as loaded; the validation of answers is unaffected.
    return OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None))


def _spec_path(method: str, path: str) -> str:
    rest = path[len(BASE) :]
    if method in ("PATCH", "DELETE") and re.fullmatch(r"/connections/[^/]+", rest):
        return path + "/"
    if method == "GET" and re.fullmatch(r"/connections/[^/]+/", rest):
        return path[:-1]
    return path


def check(resp: requests.Response, *, validate_request: bool = True) -> requests.Response:
    """Validate one exchange (request when asked, response always); return the response."""
    req = resp.request
    body = req.body.encode() if isinstance(req.body, str) else (req.body or b"")
    validate(
        str(req.method),
        str(req.url),
        dict(req.headers),
        body,
        resp.status_code,
        dict(resp.headers),
        resp.content,
        validate_request=validate_request,
    )
    return resp


def validate(
    method: str,
    url_text: str,
    req_headers: dict[str, str],
    req_body: bytes,
    status: int,
    resp_headers: dict[str, str],
    resp_body: bytes,
    *,
    validate_request: bool = True,
) -> None:
    """The checks of check() on raw parts, for exchanges made without requests."""
    url = urlsplit(url_text)
    host = f"{url.scheme}://{url.netloc}"
    lower = {k.lower(): v for k, v in resp_headers.items()}
    request_id = lower.get("x-request-id")
    assert request_id, "every answer carries x-request-id"
    if url.path.startswith("/ims/"):
        jsonschema.validate(json.loads(resp_body), TOKEN if status == 200 else IMS_ERROR)
        return
    if url.path.startswith(CONVERSION):
        contract = data_prep_openapi()
        if method == "DELETE":  # not in the contract: only an error body can be checked
            if status >= 300:
                jsonschema.validate(json.loads(resp_body), OTHER_ERROR_BODY)
            return
    elif url.path.startswith(CATALOG):
        contract = catalog_openapi()
    else:
        assert url.path.startswith(BASE), url.path
        contract = openapi()
    args = parse_qsl(url.query, keep_blank_values=True) if url.query else []
    content_type = {k.lower(): v for k, v in req_headers.items()}.get("content-type")
    mock_req = MockRequest(
        host,
        method,
        _spec_path(method, url.path),
        args=args,  # type: ignore[arg-type]
        headers=req_headers,
        data=req_body,
        content_type=content_type or "application/json",
    )
    if validate_request:
        contract.validate_request(mock_req)
    resp_type = lower.get("content-type", "application/json") if resp_body else None
    mock_resp = MockResponse(resp_body, status_code=status, content_type=resp_type)  # type: ignore[arg-type]
    contract.validate_response(mock_req, mock_resp)
    if status >= 300:
        data = json.loads(resp_body)
        if "report" in data:
            assert data["report"]["request-id"] == request_id
            code = data["type"].rsplit("FLOW-", 1)[1]
            assert data["status"] == status == int(code[-3:]), data
        elif "error_code" in data:
            assert status == int(data["error_code"][:3]), data


def flow_code(resp: requests.Response) -> str:
    """The catalog code of a Flow Service error answer, e.g. "1101-404"."""
    return str(resp.json()["type"]).rsplit("FLOW-", 1)[1]


def s3_body(name: str = "Amazon S3 base connection", **params: str) -> dict[str, Any]:
    return {
        "name": name,
        "description": "Connection for an Amazon S3 account",
        "auth": {
            "specName": "Access Key",
            "params": params
            or {"s3AccessKey": "AKIAEXAMPLEKEY000001", "s3SecretKey": "s3-secret-1"},
        },
        "connectionSpec": {"id": S3, "version": "1.0"},
    }


class Api:
    """One caller of the emulator: a client id, an org and a token; every call is validated."""

    def __init__(
        self, url: str, *, client: str = CLIENT, secret: str = SECRET, org: str = ORG
    ) -> None:
        self.url = url
        self.client = client
        self.org = org
        self.session = requests.Session()
        self.token = self.get_token(client, secret)

    def get_token(self, client: str, secret: str) -> str:
        resp = self.ims(client_id=client, client_secret=secret)
        assert resp.status_code == 200, resp.text
        return str(resp.json()["access_token"])

    def ims(self, **form: str) -> requests.Response:
        form.setdefault("grant_type", "client_credentials")
        form.setdefault("scope", "openid,AdobeID,read_organizations")
        return check(self.session.post(f"{self.url}/ims/token/v3", data=form, timeout=10))

    def headers(self, sandbox: str | None = "prod", **extra: str) -> dict[str, str]:
        h = {
            "Authorization": f"Bearer {self.token}",
            "x-api-key": self.client,
            "x-gw-ims-org-id": self.org,
        }
        if sandbox is not None:
            h["x-sandbox-name"] = sandbox
        h.update(extra)
        return h

    def call(
        self,
        method: str,
        path: str,
        *,
        sandbox: str | None = "prod",
        headers: dict[str, str] | None = None,
        drop: tuple[str, ...] = (),
        validate_request: bool = True,
        **kwargs: Any,
    ) -> requests.Response:
        h = self.headers(sandbox, **(headers or {}))
        for name in drop:
            h.pop(name, None)
        if "json" in kwargs:
            h.setdefault("Content-Type", "application/json")
            kwargs["data"] = json.dumps(kwargs.pop("json"))
        base = "" if path.startswith(("/data/", "/ims/")) else BASE
        resp = self.session.request(method, self.url + base + path, headers=h, timeout=30, **kwargs)
        return check(resp, validate_request=validate_request)

    def create(self, body: dict[str, Any] | None = None, sandbox: str = "prod") -> dict[str, str]:
        resp = self.call("POST", "/connections", json=body or s3_body(), sandbox=sandbox)
        assert resp.status_code == 201, resp.text
        return dict(resp.json())

    def get(self, id_: str, sandbox: str = "prod") -> dict[str, Any]:
        resp = self.call("GET", f"/connections/{id_}", sandbox=sandbox)
        assert resp.status_code == 200, resp.text
        return dict(resp.json()["items"][0])

    def list_all(self, sandbox: str = "prod", **params: Any) -> list[dict[str, Any]]:
        """Follow _links.next to the end, as aepp does (original params repeated)."""
        items: list[dict[str, Any]] = []
        resp = self.call("GET", "/connections", sandbox=sandbox, params=params)
        while True:
            assert resp.status_code == 200, resp.text
            items += resp.json()["items"]
            nxt = resp.json()["_links"].get("next")
            if not nxt:
                return items
            resp = self.call("GET", nxt["href"], sandbox=sandbox, params=params)
