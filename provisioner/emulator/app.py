"""Routing: one request in, one answer out; the gateway's checks, IMS, then Flow Service,
Data Prep (mapping sets) or Catalog (datasets)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

from provisioner.emulator import chain, docquery, errors, explore, fixtures, specs
from provisioner.emulator.catalog import Catalog
from provisioner.emulator.chain import FLOW, SOURCE, TARGET, Chain
from provisioner.emulator.config import EmulatorConfig
from provisioner.emulator.connections import Connections
from provisioner.emulator.dataprep import MappingSets, invalid, problem
from provisioner.emulator.faults import Faults
from provisioner.emulator.ims import Ims, Principal
from provisioner.emulator.listing import QUERY_PARAMS
from provisioner.emulator.patch import parse_ops
from provisioner.emulator.runs import Runs
from provisioner.emulator.store import Store

PREFIX = "/data/foundation/flowservice"
CONVERSION = "/data/foundation/conversion"
CATALOG = "/data/foundation/catalog"
IMS_TOKEN = "/ims/token/v3"
_KINDS = {"sourceConnections": SOURCE, "targetConnections": TARGET, "flows": FLOW}


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
        self.clock = config.clock
        self.connections = Connections(store, s3, config.clock)
        self.store = store
        catalog = fixtures.Catalog.build(config.datasets)
        self.chain = Chain(store, catalog, config.clock)
        self.runs = Runs(self.chain)
        self.chain.before_flow_read = self.runs.materialize
        self.chain.last_runs = self.runs.last_details
        self.chain._flow_deleted = self.runs.forget_flow
        self.mappings = MappingSets(store, catalog, config.clock)
        self.catalog = Catalog(catalog)

    def handle(self, req: Request) -> Response:
        self.faults.begin(req.method, req.path, req.query, req.body)
        self.faults.delay()
        if req.path.rstrip("/") == IMS_TOKEN:
            return self._token(req)
        for prefix, serve in (
            (PREFIX, self._flow),
            (CONVERSION, self._conversion),
            (CATALOG, self._catalog),
        ):
            if req.path == prefix or req.path.startswith(prefix + "/"):
                if prefix == PREFIX:
                    self.faults.before()
                    return serve(req)
                try:
                    self.faults.before()
                    return serve(req)
                except errors.HttpError as exc:
                    raise _as_problem(exc) from None
        raise errors.HttpError(404, {"error_code": "404", "message": "Not Found"})

    def _common(self, req: Request, prefix: str, flow_style: bool) -> tuple[Principal, str]:
        """The gateway's checks, the JSON content type of a write, and the sandbox."""
        who = self.ims.authenticate(req.headers)
        action = req.path.rstrip("/").endswith("/action") and not req.body.strip()
        if req.method in ("POST", "PATCH", "PUT") and not action:
            content_type = req.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if content_type not in ("application/json", "application/json-patch+json"):
                raise errors.bad_content_type()
        if flow_style:
            return who, self._sandbox(req.headers)
        name = req.headers.get("x-sandbox-name")
        if not name:
            raise invalid("The header x-sandbox-name is missing in the request.")
        if name not in self.config.sandboxes:
            raise problem(404, "Sandbox not found", f"The sandbox {name!r} could not be found.")
        return who, name

    def _conversion(self, req: Request) -> Response:
        who, sandbox = self._common(req, CONVERSION, flow_style=False)
        parts = [unquote(p) for p in req.path[len(CONVERSION) :].strip("/").split("/")]
        params = parse_qs(req.query, keep_blank_values=True)
        maps = self.mappings
        if parts == ["mappingSets"]:
            if req.method == "GET":
                return Response(200, maps.listing(who, sandbox, params))
            if req.method == "POST":
                created = maps.create(who, sandbox, _json_any(req.body))
                self.faults.after_write()
                return Response(200, created)
            raise _not_allowed_problem("GET, POST")
        if len(parts) == 2 and parts[0] == "mappingSets" and parts[1]:
            if req.method == "GET":
                version = params.get("version", [None])[-1]
                return Response(200, maps.get(who, sandbox, parts[1], version))
            if req.method == "PUT":
                updated = maps.put(who, sandbox, parts[1], _json_any(req.body))
                self.faults.after_write()
                return Response(200, updated)
            if req.method == "DELETE":
                maps.delete(who, sandbox, parts[1])
                self.faults.after_write()
                return Response(204)
            raise _not_allowed_problem("GET, PUT, DELETE")
        raise problem(404, "Not Found", f"No resource at {req.path}.")

    def _catalog(self, req: Request) -> Response:
        who, _sandbox = self._common(req, CATALOG, flow_style=False)
        parts = [unquote(p) for p in req.path[len(CATALOG) :].strip("/").split("/")]
        params = parse_qs(req.query, keep_blank_values=True)
        if req.method != "GET":
            raise _not_allowed_problem("GET")
        if parts == ["dataSets"]:
            return Response(200, self.catalog.listing(who, params))
        if len(parts) == 2 and parts[0] == "dataSets" and parts[1]:
            return Response(200, self.catalog.get(who, parts[1], params))
        raise problem(404, "Not Found", f"No resource at {req.path}.")

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
        who, sandbox = self._common(req, PREFIX, flow_style=True)
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
        if len(parts) == 3 and parts[0] == "connections" and parts[2] == "explore":
            if method != "GET":
                raise _not_allowed("GET")
            row = self.store.get(who.org, sandbox, parts[1])
            if row is None:
                raise errors.not_found(parts[1])
            return Response(200, explore.explore(row, params))
        if parts[0] in _KINDS:
            return self._chain(req, who, sandbox, parts, params)
        if parts == ["flowSpecs"]:
            if method != "GET":
                raise _not_allowed("GET")
            return Response(200, _list_flow_specs(params))
        if len(parts) == 2 and parts[0] == "flowSpecs":
            if method != "GET":
                raise _not_allowed("GET")
            flow_spec = fixtures.flow_spec(parts[1])
            if flow_spec is None:
                raise errors.not_found(parts[1])
            return Response(200, {"items": [flow_spec]})
        if parts == ["runs"]:
            if method != "GET":
                raise _not_allowed("GET")
            return Response(200, self.runs.listing(who, sandbox, params, self.config))
        if len(parts) == 2 and parts[0] == "runs":
            if method != "GET":
                raise _not_allowed("GET")
            return Response(200, self.runs.get(who, sandbox, parts[1]))
        raise errors.flow("1003-404", f"No resource at {req.path}.")

    def _chain(
        self,
        req: Request,
        who: Principal,
        sandbox: str,
        parts: list[str],
        params: dict[str, list[str]],
    ) -> Response:
        kind = _KINDS[parts[0]]
        method = req.method
        ch = self.chain
        if len(parts) == 1:
            if method == "GET":
                return Response(200, ch.listing(kind, who, sandbox, params, self.config))
            if method == "POST":
                body = _json(req.body)
                create = {SOURCE: ch.create_source, TARGET: ch.create_target, FLOW: ch.create_flow}
                created = create[kind](who, sandbox, body)
                self.faults.after_write()
                return Response(201, created, {"Location": f"{PREFIX}/{parts[0]}/{created['id']}"})
            raise _not_allowed("GET, POST")
        id_ = parts[1]
        if len(parts) == 3 and kind == FLOW and parts[2] == "action" and id_:
            if method != "POST":
                raise _not_allowed("POST")
            op = params.get("op", [""])[-1]
            if not op:
                raise chain.missing("op")
            done = ch.flow_action(who, sandbox, id_, op)
            self.faults.after_write()
            return Response(200, done)
        if len(parts) != 2 or not id_:
            raise errors.flow("1003-404", f"No resource at {req.path}.")
        if method == "GET":
            return Response(200, ch.get(kind, who, sandbox, id_))
        if method == "DELETE":
            ch.delete(kind, who, sandbox, id_)
            self.faults.after_write()
            return Response(204)
        if method == "PATCH":
            if_match = _if_match(req)
            ops = parse_ops(_json(req.body))
            patch = {SOURCE: ch.patch_source, TARGET: ch.patch_target, FLOW: ch.patch_flow}
            updated = patch[kind](who, sandbox, id_, if_match, ops)
            self.faults.after_write()
            return Response(200, updated)
        raise _not_allowed("GET, PATCH, DELETE")

    def _connection(self, req: Request, who: Principal, sandbox: str, id_: str) -> Response:
        conns = self.connections
        if req.method == "GET":
            return Response(200, conns.get(who, sandbox, id_))
        if req.method == "DELETE":
            with self.store.atomic():
                if conns_exists := self.store.get(who.org, sandbox, id_):
                    users = self.chain.flows_on_base(who, sandbox, conns_exists.id)
                    if users:
                        raise errors.flow(
                            "1418-400",
                            f"The base connection with the ID {id_} cannot be deleted because "
                            "the base connection is being used in one or more flows. Please "
                            "ensure that corresponding flows are deleted before deleting a base "
                            "connection.",
                            flows=users,
                        )
                conns.delete(who, sandbox, id_)
            self.faults.after_write()
            return Response(204)
        if req.method == "PATCH":
            if_match = _if_match(req)
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


def _as_problem(exc: errors.HttpError) -> errors.HttpError:
    """A Flow Service-shaped error (an injected fault) in Data Prep's and Catalog's shape."""
    report = exc.body.get("report")
    if not isinstance(report, dict):
        return exc
    out = problem(exc.status, str(exc.body["title"]), str(report["detailed-message"]))
    out.headers.update(exc.headers)
    return out


def _if_match(req: Request) -> str:
    if_match = req.headers.get("If-Match")
    if not if_match or not if_match.strip():
        raise errors.flow(
            "1403-400",
            "The header 'If-Match' is missing in the request. "
            "Please provide the header and try again.",
        )
    return if_match


def _json_any(body: bytes) -> Any:
    """A Data Prep body: its errors in Data Prep's (assumed) problem shape."""
    try:
        return _json(body)
    except errors.HttpError as exc:
        raise invalid(str(exc.body["report"]["detailed-message"])) from None


def _not_allowed_problem(allow: str) -> errors.HttpError:
    error = problem(405, "Method Not Allowed", f"The method is not allowed here; allowed: {allow}.")
    error.headers["Allow"] = allow
    return error


def _list_flow_specs(params: dict[str, list[str]]) -> dict[str, Any]:
    unknown = sorted(set(params) - {"property"})
    if unknown:
        raise errors.flow("1451-400", f"Invalid params {unknown[0]} provided in query params.")
    found = [fixtures.flow_spec(i) for i in fixtures.FLOW_SPECS]
    items = [s for s in found if s is not None]
    for prop in params.get("property", []):
        test = docquery.predicate(prop)
        items = [s for s in items if test(s)]
    return {"items": items}


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
