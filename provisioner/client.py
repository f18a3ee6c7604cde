"""FlowServiceClient: the Flow Service connections API over one Session, paging and retrying."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

from provisioner.auth import TokenProvider
from provisioner.config import Settings
from provisioner.errors import ApiError
from provisioner.http.call import FLOW_BASE, Call
from provisioner.http.errors import SandboxNotFoundError
from provisioner.http.limiter import ConcurrencyLimiter
from provisioner.http.limits import MAX_PAGES, RETRY_WINDOW_FACTOR
from provisioner.http.paging import items_of as _items
from provisioner.http.paging import paged
from provisioner.http.retry import Mode, RetryPolicy
from provisioner.http.sender import Pacer, Reply, Sender, new_session
from provisioner.kinds import Endpoint, Kind
from provisioner.secrets import is_secret_key

__all__ = ["FilterRefusedError", "FlowServiceClient", "SandboxNotFoundError"]


class _Connections(Kind):
    """Base connections of any connection spec (the calls named *_connection)."""

    endpoint = Endpoint("flowservice", "/connections")


_CONNECTIONS = _Connections()

# The services behind the gateway: base path and the name messages use.
SERVICES = {
    "flowservice": (FLOW_BASE, "Flow Service"),
    "conversion": ("/data/foundation/conversion", "Data Prep"),
    "catalog": ("/data/foundation/catalog", "Catalog"),
}


class FlowServiceClient:
    """Flow Service base connections. Thread-safe: every lane shares one Session and token."""

    def __init__(
        self,
        settings: Settings,
        *,
        timeout: float | None = None,
        max_retries: int = 5,
        backoff_cap: float = 20.0,
        pool_size: int = 16,
        page_size: int = 100,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,  # when tokens are renewed (tests move it)
        pacer: Pacer | None = None,
        max_elapsed: float | None = None,
        limiter: ConcurrencyLimiter | None = None,
    ) -> None:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        # By default from AEP_HTTP_TIMEOUT (30 s): retries stop 4 times that after the first try.
        timeout = settings.timeout if timeout is None else timeout
        max_elapsed = RETRY_WINDOW_FACTOR * timeout if max_elapsed is None else max_elapsed
        self.settings = settings
        self.page_size = page_size
        self._session = new_session(pool_size)
        self.tokens = TokenProvider(
            settings, self._session, timeout=timeout, sleep=sleep, clock=clock
        )
        policy = RetryPolicy(
            max_retries=max_retries, backoff_cap=backoff_cap, max_elapsed=max_elapsed
        )
        self._sender = Sender(
            self._session, policy=policy, timeout=timeout, sleep=sleep, pacer=pacer
        )
        self._base = f"{settings.platform_url}{FLOW_BASE}"
        # How many requests may be in flight at once (None: as many as the caller's lanes).
        self.limiter = limiter

    # -- counters, for tests and the benchmark ------------------------------------------------

    @property
    def requests_sent(self) -> int:
        """Every HTTP request sent so far, token exchanges and retries included."""
        return self._session.requests_sent

    def count_requests(self) -> int:
        return self.requests_sent

    @property
    def token_requests(self) -> int:
        """Token exchanges sent to IMS so far."""
        return self.tokens.exchanges

    # -- connections ------------------------------------------------------------------------

    # -- any kind's collection -------------------------------------------------------------

    def list_items(
        self,
        kind: Kind,
        sandbox: str,
        *,
        name: str | None = None,
        filters: Sequence[tuple[str, str]] = (),
    ) -> Iterator[dict[str, Any]]:
        """Every item of the kind's collection (its own filters and `filters`), page after page."""
        service = kind.endpoint.service
        wanted = [*kind.endpoint.filters, *filters]
        if service == "flowservice":
            return self._list(kind.endpoint.collection, sandbox, wanted, name)
        return self._list_offset(kind, sandbox, wanted, name)

    def list_matching(
        self, kind: Kind, sandbox: str, field: str, values: Sequence[str]
    ) -> Iterator[dict[str, Any]]:
        """The items of a Flow Service collection whose `field` is one of `values`, as
        multi-value filters (`property=id==a,b,c`) of at most `page_size` values and
        `FILTER_BUDGET` characters each: one page per chunk, next links still followed.
        Exact matches only (whatever the service's own matching rules are). A value that a
        multi-value filter cannot carry (a comma, or quotes around it) raises ValueError:
        list the collection in full instead. A refused filter raises FilterRefusedError."""
        if kind.endpoint.service != "flowservice":
            raise ValueError(f"{kind.name} items cannot be filtered by {field}")
        for chunk in filter_chunks(field, values, self.page_size):
            wanted = set(chunk)
            filters = [*kind.endpoint.filters, ("property", f"{field}=={','.join(chunk)}")]
            try:
                for item in self._list(kind.endpoint.collection, sandbox, filters, None):
                    if str(item.get(field)) in wanted:
                        yield item
            except SandboxNotFoundError:
                raise
            except ApiError as exc:
                if exc.status in REFUSED_FILTER_STATUSES:
                    raise FilterRefusedError(str(exc), status=exc.status, code=exc.code) from exc
                raise

    def _list_offset(
        self, kind: Kind, sandbox: str, filters: list[tuple[str, str]], name: str | None
    ) -> Iterator[dict[str, Any]]:
        """Data Prep and Catalog page with limit and start (an offset)."""
        service = kind.endpoint.service
        path = kind.endpoint.collection
        limit = self.page_size
        start = 0
        seen: set[str] = set()
        for _page in range(MAX_PAGES):
            params = [("limit", str(limit)), ("start", str(start)), *filters]
            if name is not None:
                params.append(("name", name))
            body = self._json(
                self._send(
                    "GET", path, sandbox, Mode.READ, params=params, service=service, windowed=False
                )
            )
            page = _offset_items(service, body)
            fresh = [i for i in page if str(i.get("id")) not in seen]
            for item in fresh:
                seen.add(str(item.get("id")))
                if name is None or item.get("name") == name:
                    yield item
            total = _offset_total(body)
            start += len(page)
            if len(page) < limit or not fresh or (total is not None and start >= total):
                return
        raise ApiError(
            f"{SERVICES[service][1]} still had more of {path} after {MAX_PAGES} pages in sandbox "
            f"'{sandbox}'; the listing cannot be completed"
        )

    def get_item(self, kind: Kind, sandbox: str, item_id: str) -> dict[str, Any] | None:
        path = f"{kind.endpoint.collection}/{_seg(item_id)}"
        service = kind.endpoint.service
        reply = self._send(
            "GET", path, sandbox, Mode.READ, allow_not_found=True, service=service
        )
        if reply.not_found:
            return None
        body = self._json(reply)
        if service == "flowservice":
            items = _items(body)
            return items[0] if items else None
        found = _offset_items(service, body if service == "catalog" else [body])
        return found[0] if found else None

    def create_item(self, kind: Kind, sandbox: str, body: Mapping[str, Any]) -> tuple[str, str]:
        """POST a new item; (id, etag). Never retried once it may have reached the server:
        UncertainWriteError then means "look the name up before posting again"."""
        path = kind.endpoint.collection
        service = kind.endpoint.service
        reply = self._send(
            "POST", path, sandbox, Mode.CREATE, json=body, sensitive=_secrets_in(body),
            service=service,
        )
        answer = self._json(reply)
        item_id = answer.get("id") if isinstance(answer, dict) else None
        if not isinstance(item_id, str) or not item_id:
            raise ApiError(
                f"{SERVICES[service][1]} answered POST {path} without an id",
                status=reply.response.status_code,
                request_id=reply.response.headers.get("x-request-id"),
            )
        if service == "conversion":  # Data Prep has versions, not etags
            return item_id, str(answer.get("version", 0))
        return item_id, _etag(reply, answer)

    def put_item(
        self, kind: Kind, sandbox: str, item_id: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        """PUT a whole new version (Data Prep mapping sets); the item as answered."""
        reply = self._send(
            "PUT",
            f"{kind.endpoint.collection}/{_seg(item_id)}",
            sandbox,
            Mode.WRITE,
            json=body,
            service=kind.endpoint.service,
        )
        answer = self._json(reply)
        if not isinstance(answer, dict):
            raise ApiError(f"Data Prep answered PUT {kind.endpoint.collection} without the item")
        return answer

    def action(self, kind: Kind, sandbox: str, item_id: str, op: str) -> str:
        """POST .../{id}/action?op=OP (a flow's enable or disable); the new etag."""
        reply = self._send(
            "POST",
            f"{kind.endpoint.collection}/{_seg(item_id)}/action",
            sandbox,
            Mode.WRITE,
            params=[("op", op)],
        )
        return _etag(reply, self._json(reply))

    def explore(self, sandbox: str, connection_id: str, folder: str) -> list[dict[str, Any]] | None:
        """The items of a folder seen through a base connection; None when it does not exist."""
        params = [("objectType", "folder"), ("object", folder)]
        reply = self._send(
            "GET",
            f"/connections/{_seg(connection_id)}/explore",
            sandbox,
            Mode.READ,
            params=params,
            allow_not_found=True,
        )
        if reply.not_found:
            return None
        body = self._json(reply)
        return [i for i in body if isinstance(i, dict)] if isinstance(body, list) else []

    def runs(self, sandbox: str, flow_id: str, *, limit: int = 5) -> list[dict[str, Any]]:
        """The newest runs of a flow (at most `limit`)."""
        params = [
            ("property", f"flowId=={flow_id}"),
            ("orderby", "-createdAt"),
            ("limit", str(limit)),
        ]
        body = self._json(self._send("GET", "/runs", sandbox, Mode.READ, params=params))
        return _items(body)[:limit]

    def patch_item(
        self, kind: Kind, sandbox: str, item_id: str, etag: str, ops: Sequence[Mapping[str, Any]]
    ) -> str:
        """Apply JSON Patch `ops` if the item still has `etag`; the new etag.
        412 raises PreconditionError: read the item again and re-check."""
        reply = self._send(
            "PATCH",
            f"{kind.endpoint.collection}/{_seg(item_id)}",
            sandbox,
            Mode.WRITE,
            json=list(ops),
            # Exactly as received, quotes included: Flow Service compares the quoted form.
            headers={"If-Match": etag},
            sensitive=_secrets_in(list(ops)),
        )
        return _etag(reply, self._json(reply))

    def delete_item(self, kind: Kind, sandbox: str, item_id: str) -> bool:
        """True when deleted now, False when it was already gone."""
        reply = self._send(
            "DELETE",
            f"{kind.endpoint.collection}/{_seg(item_id)}",
            sandbox,
            Mode.WRITE,
            allow_not_found=True,
            service=kind.endpoint.service,
        )
        # A 404 after an attempt that may have reached the server means that attempt deleted it.
        return not reply.not_found or reply.maybe_applied

    # -- base connections ------------------------------------------------------------------

    def list_connections(
        self, sandbox: str, *, spec_id: str | None = None, name: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every connection matching the filters, page after page until there is no next link."""
        base: list[tuple[str, str]] = []
        if spec_id is not None:
            base.append(("property", f"connectionSpec.id=={spec_id}"))
        return self._list("/connections", sandbox, base, name)

    def _list(
        self, collection: str, sandbox: str, filters: list[tuple[str, str]], name: str | None
    ) -> Iterator[dict[str, Any]]:
        base: list[tuple[str, str]] = [("limit", str(self.page_size)), *filters]
        # `name==a,b` means "a or b" to Flow Service, so a name with a comma is matched here.
        if name is not None and "," not in name:
            base.append(("property", f"name=={name}"))
        for item in paged(
            lambda path, params: self._json(
                self._send("GET", path, sandbox, Mode.READ, params=params, windowed=False)
            ),
            collection,
            base,
            origin=self._base,
            what=f"{collection[1:]} in sandbox '{sandbox}'",
        ):
            # Exact match, whatever the service's own matching rules are.
            if name is None or item.get("name") == name:
                yield item

    # The base-connection calls are the generic ones on /connections (any connection spec).

    def get_connection(self, sandbox: str, connection_id: str) -> dict[str, Any] | None:
        """The connection, or None when Flow Service does not know the id (404)."""
        return self.get_item(_CONNECTIONS, sandbox, connection_id)

    def create_connection(self, sandbox: str, body: Mapping[str, Any]) -> tuple[str, str]:
        """POST the connection; (id, etag). Never retried once it may have reached the server:
        UncertainWriteError then means "look the name up before posting again"."""
        return self.create_item(_CONNECTIONS, sandbox, body)

    def patch_connection(
        self, sandbox: str, connection_id: str, etag: str, ops: Sequence[Mapping[str, Any]]
    ) -> str:
        """Apply JSON Patch `ops` if the connection still has `etag`; the new etag.
        412 raises PreconditionError: read the connection again and re-check."""
        return self.patch_item(_CONNECTIONS, sandbox, connection_id, etag, ops)

    def delete_connection(self, sandbox: str, connection_id: str) -> bool:
        """True when deleted now, False when it was already gone."""
        return self.delete_item(_CONNECTIONS, sandbox, connection_id)

    def test_connection(self, sandbox: str, connection_id: str) -> bool:
        """Whether Flow Service can reach the source with the connection's credentials."""
        reply = self._send("GET", f"/connections/{_seg(connection_id)}/test", sandbox, Mode.READ)
        body = self._json(reply)
        return isinstance(body, dict) and body.get("result") is True

    def get_connection_spec(self, spec_id: str) -> dict[str, Any]:
        """A connection spec (organisation-agnostic, so asked in the default sandbox)."""
        path = f"/connectionSpecs/{_seg(spec_id)}"
        reply = self._send("GET", path, self.settings.default_sandbox, Mode.READ)
        items = _items(self._json(reply))
        if not items:
            raise ApiError(f"Flow Service answered GET {path} without the connection spec")
        return items[0]

    def sandbox_exists(self, sandbox: str) -> bool:
        """One cheap listing (limit=1) in the sandbox; False when Flow Service says 2100-404."""
        try:
            self._send("GET", "/connections", sandbox, Mode.READ, params=[("limit", "1")])
        except SandboxNotFoundError:
            return False
        return True

    # -- lifecycle --------------------------------------------------------------------------

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- plumbing ---------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        sandbox: str,
        mode: Mode,
        *,
        params: Sequence[tuple[str, str]] = (),
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        sensitive: tuple[str, ...] = (),
        allow_not_found: bool = False,
        service: str = "flowservice",
        windowed: bool = True,
    ) -> Reply:
        """One call. `windowed=False`: a listing's page, which does not wait for the limiter's
        window, only for its maximum (--parallelism), though the limiter still learns from its
        answer; a slow start sized for creates would hold the plan's first reads back a round
        trip."""
        if not sandbox:
            raise ValueError("the sandbox must be given explicitly")
        settings = self.settings
        sent = {
            "Accept": "application/json",
            "x-api-key": settings.client_id,
            "x-gw-ims-org-id": settings.org_id,
            "x-sandbox-name": sandbox,
        }
        if json is not None:
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        base, service_name = SERVICES[service]
        call = Call(
            service=service_name,
            method=method,
            url=f"{settings.platform_url}{base}{path}",
            mode=mode,
            settings=settings,
            sandbox=sandbox,
            params=tuple(params),
            headers=sent,
            json=json,
            sensitive=sensitive,
        )
        limiter = self.limiter
        if limiter is None:
            return self._sender.send(call, tokens=self.tokens, allow_not_found=allow_not_found)
        limiter.acquire(windowed=windowed)
        started = time.monotonic()
        status = 0
        held = 0.0
        try:
            reply = self._sender.send(call, tokens=self.tokens, allow_not_found=allow_not_found)
            # A retried answer (after a 429, say) was a congested one: the limiter learns that.
            status = reply.response.status_code if reply.attempts == 1 else 429
            held = reply.held
            return reply
        except ApiError as exc:
            status = exc.status or 0
            raise
        finally:
            # The service's own time apart from the wait for the shared pacer: a request the
            # pacer held back was not a slow answer, it was a lane too many.
            limiter.release(
                status, time.monotonic() - started - held, held=held, windowed=windowed
            )

    def _json(self, reply: Reply) -> Any:
        return reply.json()



# The characters of one filter value list (`id==a,b,...`, before percent-encoding): with the
# rest of the URL this stays well under the 8 KB many gateways and proxies accept.
FILTER_BUDGET = 3000
# Answers that mean "this filter is not accepted here" rather than "this request failed".
REFUSED_FILTER_STATUSES = frozenset({400, 414, 431})


_PLAIN = re.compile(r"[A-Za-z0-9._~-]+")  # percent-encoding leaves these as they are


class FilterRefusedError(ApiError):
    """The service refused a filtered listing (400, or a URL it finds too long)."""


def filterable(value: str) -> bool:
    """Whether a multi-value filter can carry `value` (Flow Service splits on commas and
    strips surrounding quotes)."""
    return bool(value) and "," not in value and not (value.startswith('"') or value.endswith('"'))


def filter_chunks(field: str, values: Sequence[str], most: int) -> Iterator[list[str]]:
    """`values` (sorted, unique) in chunks of at most `most` values whose filter text
    (`field==a,b,...` percent-encoded) stays within FILTER_BUDGET characters."""
    chunk: list[str] = []
    size = len(field) + 6  # "==" encoded
    for value in sorted(set(values)):
        if not filterable(value):
            raise ValueError(f"{value!r} cannot be part of a multi-value filter")
        plain = _PLAIN.fullmatch(value) is not None
        cost = (len(value) if plain else len(quote(value, safe=""))) + 3  # the encoded comma
        if chunk and (len(chunk) >= most or size + cost > FILTER_BUDGET):
            yield chunk
            chunk, size = [], len(field) + 6
        chunk.append(value)
        size += cost
    if chunk:
        yield chunk


def _offset_items(service: str, body: Any) -> list[dict[str, Any]]:
    """The items of a Data Prep page ({data: [...]}, or a bare item list) or a Catalog answer
    (an object keyed by id, each given its id here)."""
    if service == "catalog":
        if not isinstance(body, dict):
            return []
        return [{**v, "id": k} for k, v in body.items() if isinstance(v, dict)]
    data = body.get("data") if isinstance(body, dict) else body
    return [i for i in data if isinstance(i, dict)] if isinstance(data, list) else []


def _offset_total(body: Any) -> int | None:
    page = body.get("_page") if isinstance(body, dict) else None
    count = page.get("count") if isinstance(page, dict) else None
    return count if isinstance(count, int) and not isinstance(count, bool) and count > 0 else None


def _etag(reply: Reply, answer: Any) -> str:
    etag = answer.get("etag") if isinstance(answer, dict) else None
    if isinstance(etag, str) and etag:
        return etag
    header = reply.response.headers.get("ETag")
    if header:
        return header
    raise ApiError(
        f"Flow Service answered {reply.response.request.method} without an etag",
        status=reply.response.status_code,
        request_id=reply.response.headers.get("x-request-id"),
    )


def _seg(value: str) -> str:
    """An id as one path segment (an id with a slash must not reach another endpoint)."""
    # surrogateescape: an id typed as bytes that are not UTF-8 is sent as those bytes (and not found).
    return quote(value, safe="", errors="surrogateescape")


def _secrets_in(value: Any) -> tuple[str, ...]:
    """Every secret string in a create body or a JSON Patch, to keep it out of messages
    (depth first, in the body's order)."""
    found: list[str] = []

    def walk(node: Any, secret: bool) -> None:
        # Scalars are looked at here, not in a call of their own: one call per container.
        if isinstance(node, dict):
            path = node.get("path")
            op_secret = isinstance(path, str) and _secret_key(path.rsplit("/", 1)[-1])
            for key, child in node.items():
                is_secret = (
                    secret
                    or (isinstance(key, str) and _secret_key(key))
                    or (op_secret and key == "value")
                )
                if isinstance(child, (dict, list)):
                    walk(child, is_secret)
                elif is_secret and isinstance(child, str):
                    found.append(child)
        elif isinstance(node, list):
            for child in node:
                if isinstance(child, (dict, list)):
                    walk(child, secret)
                elif secret and isinstance(child, str):
                    found.append(child)

    if isinstance(value, (dict, list)):
        walk(value, False)
    return tuple(found)


# is_secret_key by key: the keys of a run's bodies are few and asked once per body each.
_SECRET_KEYS: dict[str, bool] = {}


def _secret_key(key: str) -> bool:
    known = _SECRET_KEYS.get(key)
    if known is None:
        known = is_secret_key(key)
        if len(_SECRET_KEYS) < 4096:
            _SECRET_KEYS[key] = known
    return known
