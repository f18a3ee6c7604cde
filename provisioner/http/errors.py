"""The one place where HTTP answers and `requests` exceptions become provisioner.errors."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError

from provisioner.errors import (
    ApiError,
    AuthError,
    NotFoundError,
    PreconditionError,
    RetriedWriteRefused,
    TransientError,
    UncertainWriteError,
)
from provisioner.http.body import BodyTooLarge
from provisioner.http.call import Call
from provisioner.http.deadline import DeadlineExceeded
from provisioner.http.limits import megabytes
from provisioner.http.retry import RETRY_STATUSES, Mode
from provisioner.render import escape
from provisioner.secrets import mask_echoes

SANDBOX_NOT_FOUND = "2100-404"


class SandboxNotFoundError(ApiError):
    """The sandbox named in x-sandbox-name does not exist in the org (Flow Service 2100-404)."""


class UnreachableError(TransientError):
    """No attempt reached the service (connection refused, no such host) after every retry."""


@dataclass(frozen=True)
class ErrorBody:
    """What an error body says, whichever of Adobe's shapes it has."""

    code: str | None = None
    title: str | None = None
    detail: str | None = None
    request_id: str | None = None


def read_error_body(response: requests.Response) -> ErrorBody:
    """Flow Service {type,title,report}, gateway {error_code,message} and IMS {error,...} bodies."""
    try:
        body: Any = response.json()
    except ValueError:
        text = response.text.strip()
        return ErrorBody(detail=text[:300] or None)
    if not isinstance(body, dict):
        return ErrorBody()
    report = body.get("report")
    if not isinstance(report, dict):
        report = {}
    code = body.get("error_code") or body.get("error") or _code_from_type(body.get("type"))
    detail = (
        report.get("detailed-message")
        or body.get("message")
        or body.get("error_description")
        or body.get("errorMessage")
        or body.get("detail")
    )
    return ErrorBody(
        code=str(code) if code else None,
        title=_text(body.get("title")),
        detail=_text(detail),
        request_id=_text(report.get("request-id")),
    )


def _code_from_type(type_uri: Any) -> str | None:
    # https://ns.adobe.com/aep/errors/FLOW-2100-404 -> 2100-404
    if isinstance(type_uri, str) and "/errors/" in type_uri:
        last = type_uri.rsplit("/", 1)[-1]
        return last.split("-", 1)[1] if "-" in last else last
    return None


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def scrub(text: str, sensitive: Iterable[str]) -> str:
    """Mask every secret value that a service may have echoed back, in any of its encodings."""
    return mask_echoes(text, sensitive)


def nothing_sent(exc: BaseException) -> bool:
    """True when the request cannot have reached the server (refused, DNS, connect timeout)."""
    if isinstance(exc, requests.exceptions.SSLError):
        return True
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError):
        inner = exc.args[0] if exc.args else None
        if isinstance(inner, MaxRetryError):
            inner = inner.reason
        return isinstance(inner, (NewConnectionError, ConnectTimeoutError))
    return False


def retryable_exception(exc: requests.RequestException) -> bool:
    """Network trouble worth another attempt (TLS and malformed URLs are not)."""
    if isinstance(exc, requests.exceptions.SSLError):
        return False
    return isinstance(
        exc,
        (
            requests.exceptions.ConnectionError,
            requests.exceptions.Timeout,
            requests.exceptions.ChunkedEncodingError,
        ),
    )


def translate(
    outcome: requests.Response | requests.RequestException,
    call: Call,
    *,
    attempts: int = 1,
    maybe_applied: bool = False,
) -> ApiError:
    """The project's error for the last outcome of `call` (after `attempts` tries)."""
    if isinstance(outcome, requests.Response):
        return _from_response(outcome, call, attempts=attempts, maybe_applied=maybe_applied)
    return _from_exception(outcome, call, attempts=attempts, maybe_applied=maybe_applied)


def _request_id(response: requests.Response, body: ErrorBody) -> str | None:
    return response.headers.get("x-request-id") or body.request_id


def _from_response(
    response: requests.Response, call: Call, *, attempts: int, maybe_applied: bool
) -> ApiError:
    status = response.status_code
    body = read_error_body(response)
    # A service may echo what it was sent (a rejected param value): mask every known secret.
    body = ErrorBody(
        code=body.code,
        title=body.title and escape.plain(scrub(body.title, call.sensitive)),
        detail=body.detail and escape.plain(scrub(body.detail, call.sensitive)),
        request_id=body.request_id,
    )
    rid = _request_id(response, body)
    said = " ".join(p for p in (str(status), body.title or response.reason or "") if p)
    if body.detail:
        said += f": {body.detail}"
    if body.code and body.code not in said:
        said += f" [{body.code}]"
    kw: dict[str, Any] = {"status": status, "code": body.code, "request_id": rid}
    settings = call.settings

    if call.service == "IMS":
        if status in (400, 401, 403):
            if body.code == "invalid_scope":
                return AuthError(
                    f"IMS refused the scopes for AEP_CLIENT_ID={settings.client_id}: "
                    f"invalid_scope; check AEP_SCOPES ({settings.scopes})",
                    **kw,
                )
            return AuthError(
                f"IMS refused the client credentials for AEP_CLIENT_ID={settings.client_id}: "
                f"{body.code or status}; check AEP_CLIENT_ID and AEP_CLIENT_SECRET",
                **kw,
            )
        if status in RETRY_STATUSES:
            return TransientError(
                f"IMS at {settings.ims_url} still answered {said} after {attempts} "
                "attempts; try again later",
                **kw,
            )
        return ApiError(f"IMS answered the token request with {said}; check AEP_IMS_URL", **kw)

    if status == 401:
        if settings.access_token is not None:
            hint = (
                "the token in AEP_ACCESS_TOKEN may have expired: mint a new one, or unset it "
                "to let the tool fetch tokens with AEP_CLIENT_SECRET"
            )
        else:
            hint = (
                "check that the Developer Console project of AEP_CLIENT_ID has the Experience "
                f"Platform API for AEP_ORG_ID={settings.org_id}"
            )
        return AuthError(
            f"Flow Service refused the access token for {call.label} ({said}); {hint}", **kw
        )
    if status == 403:
        return AuthError(
            f"Flow Service refused {call.label} ({said}); check AEP_CLIENT_ID, "
            f"AEP_ORG_ID={settings.org_id} and the permissions of the project's product profile",
            **kw,
        )
    if status == 404 and (body.code == SANDBOX_NOT_FOUND or body.title == "Sandbox not found"):
        return SandboxNotFoundError(
            f"sandbox '{call.sandbox}' does not exist in org {settings.org_id}; "
            "check --sandbox, the manifest's sandbox: and AEP_SANDBOX",
            **kw,
        )
    if status == 404:
        return NotFoundError(f"Flow Service found nothing at {call.label} ({said})", **kw)
    if status == 412 and maybe_applied and call.mode is Mode.WRITE:
        # A retry of a write that may have been applied meets its own new etag, most likely.
        return RetriedWriteRefused(
            f"the outcome of {call.label} is unknown: an earlier attempt may have been applied "
            f"(its retry was refused: {said})",
            **kw,
        )
    if status == 412:
        return PreconditionError(
            f"Flow Service refused {call.label} because the etag sent in If-Match is stale "
            f"({said}); read the connection again",
            **kw,
        )
    if status in RETRY_STATUSES or status >= 500:
        if maybe_applied and call.mode is not Mode.READ:
            return UncertainWriteError(
                f"the outcome of {call.label} is unknown: Flow Service answered {said} after "
                "the request was sent, so the change may or may not have been made",
                **kw,
            )
        return TransientError(
            f"Flow Service still answered {call.label} with {said} after {attempts} "
            f"attempt{'s' if attempts != 1 else ''}; try again later",
            **kw,
        )
    return ApiError(f"Flow Service rejected {call.label} with {said}", **kw)


def _from_exception(
    exc: requests.RequestException, call: Call, *, attempts: int, maybe_applied: bool
) -> ApiError:
    parts = urlsplit(call.url)
    origin = f"{parts.scheme}://{parts.netloc}"
    variable = "AEP_IMS_URL" if call.service == "IMS" else "AEP_PLATFORM_URL"
    if isinstance(exc, requests.exceptions.SSLError):
        return ApiError(
            f"TLS verification failed for {origin} ({_scrubbed_reason(exc, call)}); the tool always verifies "
            f"certificates: check {variable} and the system's CA certificates (REQUESTS_CA_BUNDLE)"
        )
    if isinstance(exc, requests.exceptions.InvalidHeader):
        return ApiError(_unsendable_header(call))
    if isinstance(exc, BodyTooLarge):
        what = (
            f"{call.service} answered {call.label} with {exc.status} and a body larger than "
            f"{megabytes(exc.limit)}, the most the tool reads"
        )
        if 200 <= exc.status < 300 and call.mode in (Mode.CREATE, Mode.WRITE):
            return UncertainWriteError(
                f"the outcome of {call.label} is unknown: {what}, so the change was probably "
                "made but its answer could not be used"
            )
        return ApiError(f"{what}; the answer was not used", status=exc.status)
    if not retryable_exception(exc):
        configured = call.settings.ims_url if call.service == "IMS" else call.settings.platform_url
        return ApiError(
            f"{variable}={configured!r} is not a usable URL ({_scrubbed_reason(exc, call)}); "
            "give it as https://host"
        )
    if isinstance(exc, DeadlineExceeded):
        what = f"{call.service} did not finish its answer to {call.label} within {exc.seconds:g} s"
    elif isinstance(exc, requests.exceptions.ConnectTimeout):
        what = f"could not connect to {origin} in time"
    elif isinstance(exc, requests.exceptions.ReadTimeout):
        what = f"{call.service} sent no answer to {call.label} in time"
    elif nothing_sent(exc):
        what = f"could not connect to {origin} ({_scrubbed_reason(exc, call)})"
    else:
        what = (
            f"the connection to {origin} broke during {call.label} ({_scrubbed_reason(exc, call)})"
        )
    if maybe_applied and call.mode in (Mode.CREATE, Mode.WRITE):
        return UncertainWriteError(
            f"the outcome of {call.label} is unknown: {what} after the request was sent, so the "
            "change may or may not have been made"
        )
    tries = f"{attempts} attempt{'s' if attempts != 1 else ''}"
    error = UnreachableError if nothing_sent(exc) else TransientError
    return error(f"{what}, after {tries}; check {variable} and the network, then try again")


def _reason(exc: BaseException) -> str:
    """The innermost explanation: requests -> urllib3 -> the OS error ("Connection refused")."""
    inner = exc
    for _ in range(8):
        nxt: BaseException | None
        if isinstance(inner, MaxRetryError):
            nxt = inner.reason
        else:
            nxt = next((a for a in inner.args if isinstance(a, BaseException)), None)
            nxt = nxt or inner.__cause__
        if nxt is None:
            break
        inner = nxt
    if isinstance(inner, OSError) and inner.strerror:
        return inner.strerror
    text = str(inner) or type(inner).__name__
    # urllib3 prefixes "HTTPConnection(host=..., port=...): "; the host is said elsewhere.
    return text.split("): ", 1)[-1].strip()


_HEADER_SOURCES = {
    "x-api-key": "AEP_CLIENT_ID",
    "x-gw-ims-org-id": "AEP_ORG_ID",
    "x-sandbox-name": "the sandbox name",
}


def _unsendable_header(call: Call) -> str:
    """Which setting put a line break, a leading space or a non-Latin-1 character into a header;
    never a secret's value."""
    for name, value in call.headers.items():
        if _unsendable(value):
            source = _HEADER_SOURCES.get(name.lower(), f"the {name} header")
            return (
                f"{source} {value!r} holds a line break, a leading space or a character outside "
                f"Latin-1, which cannot be sent in an HTTP header ({call.label}); correct it and "
                "run again"
            )
    # Not one of ours: the Authorization header, i.e. the token (whose value is never shown).
    return (
        "the access token holds a line break, a leading space or a character outside Latin-1, "
        "which cannot be sent in an HTTP header; set AEP_ACCESS_TOKEN again without them"
    )


def _unsendable(value: str) -> bool:
    if value[:1].isspace() or "\r" in value or "\n" in value:
        return True
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return True
    return False


def _scrubbed_reason(exc: BaseException, call: Call) -> str:
    return scrub(_reason(exc), call.sensitive)


def body_json(response: requests.Response, call: Call) -> Any:
    """The JSON of a successful answer; a body that is not JSON is an ApiError, not a crash."""
    if not response.content:
        return {}
    try:
        return response.json()
    except (ValueError, json.JSONDecodeError):
        rid = response.headers.get("x-request-id")
        raise ApiError(
            f"{call.service} answered {call.label} with {response.status_code} but a body that "
            "is not JSON",
            status=response.status_code,
            request_id=rid,
        ) from None
