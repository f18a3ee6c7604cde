"""The one retry loop: sends a Call over the shared Session, renews the token on 401, logs."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase

from provisioner.errors import NotFoundError
from provisioner.http import httplog
from provisioner.http.call import Call
from provisioner.http.errors import body_json, nothing_sent, retryable_exception, translate
from provisioner.http.retry import (
    HONOURS_RETRY_AFTER,
    RETRY_STATUSES,
    Mode,
    RetryPolicy,
    parse_retry_after,
)
from provisioner.secrets import Secret


class TokenSource(Protocol):
    """What the sender needs from provisioner.auth.TokenProvider."""

    @property
    def renewable(self) -> bool: ...

    def token(self) -> Secret: ...

    def invalidate(self, token: Secret) -> None: ...


class Pacer(Protocol):
    """A shared rate limiter: `acquire()` blocks until one more request may go.

    A pacer that also has `observe(status, retry_after)` is told every Flow Service answer
    (provisioner.http.pacing.AdaptivePacer learns the service's rate from its 429s).
    """

    def acquire(self) -> None: ...


class CountingSession(requests.Session):
    """A Session that counts every HTTP request it sends (token exchanges included)."""

    def __init__(self) -> None:
        super().__init__()
        self._count_lock = threading.Lock()
        self.requests_sent = 0
        self._environment: dict[tuple[Any, ...], Any] = {}

    def merge_environment_settings(
        self, url: str | bytes | None, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> Any:
        """requests re-reads the proxy and CA-bundle variables (a scan of os.environ) on every
        request; they do not change during a run, so the answer is kept per scheme and host."""
        text = url.decode() if isinstance(url, bytes) else url or ""
        parts = urlsplit(text)
        key = (
            parts.scheme,
            parts.netloc,
            tuple(sorted((proxies or {}).items())),
            stream,
            verify,
            cert,
        )
        merged = self._environment.get(key)
        if merged is None:
            merged = super().merge_environment_settings(text, proxies, stream, verify, cert)
            self._environment[key] = merged
        return {**merged, "proxies": dict(merged["proxies"])}

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        with self._count_lock:
            self.requests_sent += 1
        return super().send(request, **kwargs)


def new_session(pool_size: int) -> CountingSession:
    """One Session for every lane: a pool as large as the parallelism, no urllib3 retries."""
    session = CountingSession()
    # max_retries=0: every retry decision is made in Sender.send, where it can see the method.
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


class _HeadersOnly(AuthBase):
    """Stops requests from replacing our Authorization header with ~/.netrc credentials."""

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        return r


_HEADERS_ONLY = _HeadersOnly()


@dataclass(frozen=True)
class Reply:
    """A final answer, and whether an earlier attempt may already have done the write."""

    call: Call
    response: requests.Response
    attempts: int
    maybe_applied: bool

    @property
    def not_found(self) -> bool:
        return self.response.status_code == 404

    def json(self) -> Any:
        return body_json(self.response, self.call)


class Sender:
    """Sends Calls with retries; 429/503 honour Retry-After, the rest back off with jitter."""

    def __init__(
        self,
        session: requests.Session,
        *,
        policy: RetryPolicy,
        timeout: float,
        sleep: Callable[[float], None] = time.sleep,
        pacer: Pacer | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.session = session
        self.policy = policy
        # (connect, read): a dead host fails fast, a slow answer gets the whole timeout.
        self.timeout = (min(timeout, 10.0), timeout)
        self.sleep = sleep
        self.pacer = pacer
        self._observe: Callable[[int, float | None], None] | None = getattr(pacer, "observe", None)
        self._rng = rng or random.Random()
        self._clock = clock

    def send(
        self, call: Call, *, tokens: TokenSource | None = None, allow_not_found: bool = False
    ) -> Reply:
        """The 2xx answer (or 404 when allowed); any other end raises a provisioner error."""
        start = self._clock()
        attempts = retries = 0
        renewed = maybe_applied = False
        while True:
            attempts += 1
            if self.pacer is not None and tokens is not None:
                self.pacer.acquire()
            headers = dict(call.headers)
            sensitive = call.sensitive
            token: Secret | None = None
            if tokens is not None:
                token = tokens.token()
                headers["Authorization"] = f"Bearer {token.reveal()}"
                sensitive = (*sensitive, token.reveal())
            sent_at = self._clock()
            outcome = self._once(call, headers)
            elapsed_ms = (self._clock() - sent_at) * 1000
            httplog.attempt(call, attempts, headers, outcome, elapsed_ms, sensitive)
            told = replace(call, sensitive=sensitive)  # error messages mask the token too
            retry_after: float | None = None
            if isinstance(outcome, requests.Response):
                status = outcome.status_code
                if self._observe is not None and tokens is not None:
                    self._observe(status, parse_retry_after(outcome.headers.get("Retry-After")))
                if 200 <= status < 300:
                    return Reply(call, outcome, attempts, maybe_applied)
                if status == 401 and tokens and token and tokens.renewable and not renewed:
                    # The token may have been revoked or expired early: renew once.
                    tokens.invalidate(token)
                    renewed = True
                    continue
                if status not in RETRY_STATUSES:
                    error = translate(outcome, told, attempts=attempts, maybe_applied=maybe_applied)
                    if allow_not_found and status == 404 and type(error) is NotFoundError:
                        return Reply(call, outcome, attempts, maybe_applied)
                    raise error
                if status != 429:  # a 429 is refused before any work; the rest may have worked
                    maybe_applied = True
                if call.mode is Mode.CREATE and status != 429:
                    raise translate(outcome, told, attempts=attempts, maybe_applied=True)
                if status in HONOURS_RETRY_AFTER:
                    retry_after = parse_retry_after(outcome.headers.get("Retry-After"))
            else:
                if not retryable_exception(outcome):
                    raise translate(outcome, told, attempts=attempts) from None
                sent = not nothing_sent(outcome)
                maybe_applied = maybe_applied or sent
                if call.mode is Mode.CREATE and sent:
                    raise translate(outcome, told, attempts=attempts, maybe_applied=True) from None
            delay = self.policy.wait_for(retries, retry_after, self._rng)
            out_of_time = self._clock() - start + delay > self.policy.max_elapsed
            if retries >= self.policy.max_retries or out_of_time:
                error = translate(outcome, told, attempts=attempts, maybe_applied=maybe_applied)
                raise error from None
            retries += 1
            httplog.retrying(call, retries, self.policy.max_retries, delay)
            if delay > 0:
                self.sleep(delay)

    def _once(
        self, call: Call, headers: dict[str, str]
    ) -> requests.Response | requests.RequestException:
        try:
            return self.session.request(
                call.method,
                call.url,
                params=list(call.params) or None,
                json=call.json,
                data=call.form,
                headers=headers,
                timeout=self.timeout,
                verify=True,
                allow_redirects=False,
                auth=_HEADERS_ONLY,
            )
        except requests.RequestException as exc:
            return exc
        except UnicodeEncodeError:
            # http.client sends header values as Latin-1; translate names the setting at fault.
            return requests.exceptions.InvalidHeader("a header value is not Latin-1 text")
