"""A test client for the emulator that validates every answer against Adobe's OpenAPI file.

Adobe's `flow-service.yaml` is used as published, with these test-side adjustments for its
known quirks (shared/adobe/README.md) and its silences:
- `servers` is set to the base path, so the emulator's URL can be matched;
- PATCH's body is a JSON Patch array (the spec declares one object; the service takes an array);
- PATCH/DELETE are declared only on `/connections/{id}/`: calls without the slash are matched
  against that path;
- an empty `content: {}` (DELETE's 204) is read as "no body";
- the spec documents only 2xx, 403 and 503 (the latter two with no body). Every other status,
  and the bodies of 403/503, are checked against the error bodies Adobe documents elsewhere
  (reference §2.2-2.3): Flow Service's {type, title, status, report}, the gateway's
  {error_code, message}, and the BadRequestError of a bad Content-Type.
IMS is not in the file: its answers are checked against the documented token response.
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
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse

SPEC_FILE = Path(__file__).resolve().parent / "adobe" / "flow-service.yaml"  # vendored, unchanged

BASE = "/data/foundation/flowservice"
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
)


@cache
def openapi() -> OpenAPI:
    spec = yaml.safe_load(SPEC_FILE.read_text(encoding="utf-8"))
    spec = copy.deepcopy(spec)
    spec["servers"] = [{"url": BASE}]
    error = {
        "description": "documented error body",
        "content": {"application/json": {"schema": ERROR_BODY}},
    }
    for path in _SERVED:
        for op in spec["paths"][path].values():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            op["responses"]["default"] = error
            for status in ("403", "503"):
                if not op["responses"].get(status, {}).get("content"):
                    op["responses"][status] = error
            for answer in op["responses"].values():
                if answer.get("content") == {}:  # "no body" (DELETE's 204)
                    del answer["content"]
    patch = spec["paths"]["/connections/{BASE_CONNECTION_ID}/"]["patch"]
    patch["requestBody"]["content"]["application/json"]["schema"] = {
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
    return OpenAPI.from_dict(spec)


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
    assert url.path.startswith(BASE), url.path
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
        openapi().validate_request(mock_req)
    resp_type = lower.get("content-type", "application/json") if resp_body else None
    mock_resp = MockResponse(resp_body, status_code=status, content_type=resp_type)  # type: ignore[arg-type]
    openapi().validate_response(mock_req, mock_resp)
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
        resp = self.session.request(method, self.url + BASE + path, headers=h, timeout=30, **kwargs)
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
