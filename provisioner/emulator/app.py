"""Routing: one request in, one answer out; the gateway's checks, IMS, then Flow Service."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

from provisioner.emulator import errors, specs
from provisioner.emulator.config import EmulatorConfig
from provisioner.emulator.connections import Connections
from provisioner.emulator.faults import Faults
from provisioner.emulator.ims import Ims, Principal
from provisioner.emulator.listing import QUERY_PARAMS
from provisioner.emulator.patch import parse_ops
from provisioner.emulator.store import Store

PREFIX = "/data/foundation/flowservice"
IMS_TOKEN = "/ims/token/v3"


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # without the query string
    query: str
    headers: Mapping[str, str]  # case-insensitive (an email.message.Message)
    body: bytes


@dataclass
class Response:
    status: int
    body: Any = None  # JSON-serialisable, or None for no body
    headers: dict[str, str] = field(default_factory=dict)


class App:
    """The emulated services behind one HTTP server."""

    def __init__(self, config: EmulatorConfig, ims: Ims, store: Store, s3: dict[str, Any] | None):
        self.config = config
        self.ims = ims
        self.faults = Faults(config)
        self.connections = Connections(store, s3)

    def handle(self, req: Request) -> Response:
        self.faults.delay()
        if req.path.rstrip("/") == IMS_TOKEN:
            return self._token(req)
        if req.path == PREFIX or req.path.startswith(PREFIX + "/"):
            self.faults.before()
            return self._flow(req)
        raise errors.HttpError(404, {"error_code": "404", "message": "Not Found"})

    def _token(self, req: Request) -> Response:
        if req.method != "POST":
            raise errors.ims(405, "invalid_request", "use POST")
        form = {k: v[-1] for k, v in parse_qs(req.query).items()}
        if req.body:
            # IMS takes the fields as a form body or as query parameters.
            text = req.body.decode("utf-8", "replace")
            form.update({k: v[-1] for k, v in parse_qs(text).items()})
        return Response(200, self.ims.issue(form))

    def _flow(self, req: Request) -> Response:
        who = self.ims.authenticate(req.headers)
        if req.method in ("POST", "PATCH", "PUT"):
            content_type = req.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if content_type not in ("application/json", "application/json-patch+json"):
                raise errors.bad_content_type()
        sandbox = self._sandbox(req.headers)
        parts = [unquote(p) for p in req.path[len(PREFIX) :].strip("/").split("/")]
        params = parse_qs(req.query, keep_blank_values=True)
        method = req.method
        conns = self.connections
        if parts == ["connections"]:
            if method == "GET":
                return Response(200, conns.list(who, sandbox, params, self.config))
            if method == "POST":
                created = conns.create(who, sandbox, _json(req.body))
                self.faults.after_write()
                location = f"{PREFIX}/connections/{created['id']}"
                return Response(201, created, {"Location": location})
            raise _not_allowed("GET, POST")
        if len(parts) == 2 and parts[0] == "connections" and parts[1]:
            return self._connection(req, who, sandbox, parts[1])
        if len(parts) == 3 and parts[0] == "connections" and parts[2] == "test":
            if method != "GET":
                raise _not_allowed("GET")
            return Response(200, conns.test(who, sandbox, parts[1]))
        if parts == ["connectionSpecs"]:
            if method != "GET":
                raise _not_allowed("GET")
            return Response(200, _list_specs(params))
        if len(parts) == 2 and parts[0] == "connectionSpecs":
            if method != "GET":
                raise _not_allowed("GET")
            spec = specs.SPECS.get(parts[1])
            if spec is None:
                raise errors.not_found(parts[1])
            return Response(200, {"items": [specs.public(spec)]})
        raise errors.flow("1003-404", f"No resource at {req.path}.")

    def _connection(self, req: Request, who: Principal, sandbox: str, id_: str) -> Response:
        conns = self.connections
        if req.method == "GET":
            return Response(200, conns.get(who, sandbox, id_))
        if req.method == "DELETE":
            conns.delete(who, sandbox, id_)
            self.faults.after_write()
            return Response(204)
        if req.method == "PATCH":
            if_match = req.headers.get("If-Match")
            if not if_match or not if_match.strip():
                raise errors.flow(
                    "1403-400",
                    "The header 'If-Match' is missing in the request. "
                    "Please provide the header and try again.",
                )
            ops = parse_ops(_json(req.body))
            updated = conns.update(who, sandbox, id_, if_match, ops)
            self.faults.after_write()
            return Response(200, updated)
        raise _not_allowed("GET, PATCH, DELETE")

    def _sandbox(self, headers: Mapping[str, str]) -> str:
        name = headers.get("x-sandbox-name")
        if not name:
            raise errors.flow(
                "2105-400",
                "The header x-sandbox-name is missing in the request. "
                "Please add the header in the request and try again.",
            )
        if name not in self.config.sandboxes:
            raise errors.flow(
                "2100-404",
                f"The sandbox with the name '{name}' could not be found. "
                "Please ensure that the sandbox name is correct and try again.",
            )
        return name


def _json(body: bytes) -> Any:
    if not body.strip():
        raise errors.flow(
            "1405-400",
            "The request body cannot be null or empty. Please provide a request body and try again.",
        )
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        where = (
            f" (line {exc.lineno}, column {exc.colno})"
            if isinstance(exc, json.JSONDecodeError)
            else ""
        )
        raise errors.flow("1000-400", f"The request body is not valid JSON{where}.") from None


def _not_allowed(allow: str) -> errors.HttpError:
    error = errors.flow("1005-405", f"The method is not allowed here; allowed: {allow}.")
    error.headers["Allow"] = allow
    return error


def _list_specs(params: dict[str, list[str]]) -> dict[str, Any]:
    unknown = sorted(set(params) - QUERY_PARAMS)
    if unknown:
        raise errors.flow("1451-400", f"Invalid params {unknown[0]} provided in query params.")
    found = list(specs.SPECS.values())
    for prop in params.get("property", []):
        field_, op, raw = prop.partition("==")
        if not op:
            raise errors.flow("1450-400", f"Invalid operator in filter params {prop}.")
        if field_ not in ("id", "name", "providerId", "version"):
            raise errors.flow("1449-400", f"Invalid field {field_} in filter params.")
        wanted = set(raw.split(","))
        found = [s for s in found if s[field_] in wanted]
    if params.get("count", ["false"])[-1].lower() == "true":
        return {"count": len(found)}
    return {"items": [specs.public(s) for s in found]}
