"""The `--debug` HTTP log: one line per attempt, and redacted headers and bodies at DEBUG."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import requests

from provisioner.http.call import Call
from provisioner.http.errors import scrub
from provisioner.secrets import MASK, redact

log = logging.getLogger("provisioner.http")

_REDACTED_HEADERS = {"authorization": f"Bearer {MASK}", "x-api-key": MASK}
_MAX_BODY = 2000


def attempt(
    call: Call,
    number: int,
    headers: Mapping[str, str],
    outcome: requests.Response | requests.RequestException,
    elapsed_ms: float,
    sensitive: tuple[str, ...],
) -> None:
    """One line per attempt: method, path and query, status, duration, request id, attempt."""
    if not log.isEnabledFor(logging.INFO):
        return
    if isinstance(outcome, requests.Response):
        rid = outcome.headers.get("x-request-id") or "-"
        result = f"{outcome.status_code} {outcome.reason or ''}".rstrip()
    else:
        rid = "-"
        result = type(outcome).__name__
    line = (
        f"{call.method} {call.target} -> {result} in {elapsed_ms:.0f} ms "
        f"(request id {rid}, attempt {number})"
    )
    log.info(scrub(line, sensitive))
    if log.isEnabledFor(logging.DEBUG):
        _details(call, headers, outcome, sensitive)


def retrying(call: Call, retry: int, max_retries: int, delay: float) -> None:
    log.info("%s %s: retry %d/%d in %.2f s", call.method, call.target, retry, max_retries, delay)


def _details(
    call: Call,
    headers: Mapping[str, str],
    outcome: requests.Response | requests.RequestException,
    sensitive: tuple[str, ...],
) -> None:
    log.debug("  request headers: %s", scrub(_headers(headers), sensitive))
    if call.form is not None:
        # The IMS form is never logged: only who asked, never the secret.
        log.debug("  request form: client_id=%s client_secret=%s", call.form.get("client_id"), MASK)
    elif call.json is not None:
        log.debug("  request body: %s", scrub(_dump(redact(call.json)), sensitive))
    if isinstance(outcome, requests.Response):
        log.debug("  response body: %s", scrub(_response_text(outcome), sensitive))


def _headers(headers: Mapping[str, str]) -> str:
    shown = {k: _REDACTED_HEADERS.get(k.lower(), v) for k, v in headers.items()}
    return ", ".join(f"{k}: {v}" for k, v in sorted(shown.items()))


def _response_text(response: requests.Response) -> str:
    if not response.content:
        return "(empty)"
    try:
        return _dump(redact(response.json()))
    except ValueError:
        return response.text[:_MAX_BODY]


def _dump(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= _MAX_BODY else text[:_MAX_BODY] + f"... ({len(text)} chars)"
