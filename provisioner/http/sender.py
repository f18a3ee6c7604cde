"""The one retry loop: sends a Call over the shared Session, renews the token on 401, logs."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol
from urllib.parse import quote_plus, urlencode, urlsplit

import requests
from requests.structures import CaseInsensitiveDict
from requests.utils import check_header_validity

from provisioner.config import clear_text_refusal
from provisioner.errors import ConfigError, NotFoundError, TransientError
from provisioner.http import httplog
from provisioner.http.body import read_body
from provisioner.http.call import Call
from provisioner.http.deadline import WATCHDOG, DeadlineExceeded, WatchedAdapter
from provisioner.http.errors import body_json, nothing_sent, retryable_exception, translate
from provisioner.http.limits import (
    CONNECT_TIMEOUT_CAP,
    DEADLINE_FACTOR,
    MAX_BODY_BYTES,
    MAX_TOKEN_BODY_BYTES,
    RETRY_AFTER_GIVE_UP,
)
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
    # Its connections let the watchdog end an attempt that outlives its deadline.
    adapter = WatchedAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


@dataclass(frozen=True)
class Reply:
    """A final answer, and whether an earlier attempt may already have done the write."""

    call: Call
    response: requests.Response
    attempts: int
    maybe_applied: bool
    held: float = 0.0  # seconds the pacer held its attempts back (not the service's time)

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
        # (connect, read): a dead host fails fast, a slow answer gets the whole timeout; and
        # each attempt, its whole body included, must end within the deadline.
        self.timeout = (min(timeout, CONNECT_TIMEOUT_CAP), timeout)
        self.deadline = DEADLINE_FACTOR * timeout
        self.sleep = sleep
        self.pacer = pacer
        self._observe: Callable[[int, float | None], None] | None = getattr(pacer, "observe", None)
        self._rng = rng or random.Random()
        self._clock = clock
        # Prepared URLs by (url, params), and the (service, url) pairs clear-text checked.
        self._urls: dict[tuple[str, tuple[tuple[str, str], ...]], str] = {}
        self._plain_ok: set[tuple[str, str]] = set()
        self._valid_headers: set[tuple[str, str]] = set()  # (name, value) found valid

    def send(
        self, call: Call, *, tokens: TokenSource | None = None, allow_not_found: bool = False
    ) -> Reply:
        """The 2xx answer (or 404 when allowed); any other end raises a provisioner error."""
        self._check_clear_text(call)
        start = self._clock()
        attempts = retries = 0
        renewed = maybe_applied = False
        held = 0.0
        while True:
            attempts += 1
            if self.pacer is not None and tokens is not None:
                asked = self._clock()
                self.pacer.acquire()
                held += self._clock() - asked
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
            retry_after: float | None = None
            if isinstance(outcome, requests.Response):
                status = outcome.status_code
                if self._observe is not None and tokens is not None:
                    self._observe(status, parse_retry_after(outcome.headers.get("Retry-After")))
                if 200 <= status < 300:
                    return Reply(call, outcome, attempts, maybe_applied, held)
                told = replace(call, sensitive=sensitive)  # error messages mask the token too
                if status == 401 and tokens and token and tokens.renewable and not renewed:
                    # The token may have been revoked or expired early: renew once.
                    tokens.invalidate(token)
                    renewed = True
                    continue
                if status not in RETRY_STATUSES:
                    error = translate(outcome, told, attempts=attempts, maybe_applied=maybe_applied)
                    if allow_not_found and status == 404 and type(error) is NotFoundError:
                        return Reply(call, outcome, attempts, maybe_applied, held)
                    raise error
                if status != 429:  # a 429 is refused before any work; the rest may have worked
                    maybe_applied = True
                if call.mode is Mode.CREATE and status != 429:
                    raise translate(outcome, told, attempts=attempts, maybe_applied=True)
                if status in HONOURS_RETRY_AFTER:
                    retry_after = parse_retry_after(outcome.headers.get("Retry-After"))
                    patience = min(RETRY_AFTER_GIVE_UP, self.policy.max_elapsed)
                    if retry_after is not None and retry_after > patience:
                        if maybe_applied and call.mode is not Mode.READ:
                            raise translate(outcome, told, attempts=attempts, maybe_applied=True)
                        raise _too_long_a_wait(told, status, retry_after, patience)
            else:
                told = replace(call, sensitive=sensitive)
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
        """One attempt, its whole body read (within the size limit and the deadline)."""
        attempt = WATCHDOG.start(self.deadline)
        try:
            response = self._request(call, headers)
            read_body(response, MAX_TOKEN_BODY_BYTES if call.service == "IMS" else MAX_BODY_BYTES)
            return response
        except UnicodeEncodeError:
            # http.client sends header values as Latin-1; translate names the setting at fault.
            return requests.exceptions.InvalidHeader("a header value is not Latin-1 text")
        except Exception as exc:
            if attempt.expired:
                # Whatever the shut-down socket made the read raise: the deadline passed.
                return DeadlineExceeded(attempt.seconds)
            if isinstance(exc, requests.RequestException):
                return exc
            raise
        finally:
            WATCHDOG.finish(attempt)

    def _request(self, call: Call, headers: dict[str, str]) -> requests.Response:
        """What `session.request` does for our calls, less its per-request merging: the
        session's headers, hooks and cookie jar as they are, the environment's proxies and CA
        bundle (cached by CountingSession), TLS verified, no redirects, the body streamed (read
        by read_body, with its limit). requests' generic merging cost about a quarter of the
        CPU of a create."""
        prepared = self._prepare(call, headers)
        # verify=True: the default CA bundle or the one REQUESTS_CA_BUNDLE names, never off.
        environment = self.session.merge_environment_settings(
            prepared.url or call.url, {}, True, True, None
        )
        return self.session.send(
            prepared, timeout=self.timeout, allow_redirects=False, **environment
        )

    def _prepare(self, call: Call, headers: dict[str, str]) -> requests.PreparedRequest:
        """The request `PreparedRequest.prepare` makes of the call (same method, URL, headers in
        the same order, body and hooks), for less CPU: the URL with its query is prepared once
        per distinct (url, params) and kept; an empty cookie jar is not asked for a Cookie
        header (it has none to give). No auth step: the Authorization header is ours, never
        ~/.netrc credentials (only `Session.prepare_request` reads those) nor a user and
        password in the URL (`prepare_auth` would make a Basic header of them)."""
        session = self.session
        given = {name.lower() for name in headers}
        merged = {k: v for k, v in session.headers.items() if k.lower() not in given}
        merged.update(headers)
        prepared = requests.PreparedRequest()
        prepared.prepare_method(call.method)
        key = (call.url, tuple(call.params))
        url = self._urls.get(key)
        if url is None:
            prepared.prepare_url(with_query(call.url, call.params), None)
            if len(self._urls) < _KEPT:
                self._urls[key] = prepared.url or ""
        else:
            prepared.url = url
        prepared.headers = self._headers(merged)
        cookies = session.cookies
        if len(cookies):
            prepared.prepare_cookies(cookies)
        else:
            prepared._cookies = cookies
        prepared.prepare_body(call.form, None, call.json)
        prepared.prepare_hooks(session.hooks)
        return prepared

    def _headers(self, merged: dict[str, str]) -> CaseInsensitiveDict[str | bytes]:
        """What `PreparedRequest.prepare_headers` makes of `merged`: each header checked (no
        line break, no leading space: requests' InvalidHeader otherwise), in the same order.
        A header found valid once is not checked again; the Authorization header (the token)
        is always checked and never kept."""
        headers: CaseInsensitiveDict[str | bytes] = CaseInsensitiveDict()
        valid = self._valid_headers
        for header in merged.items():
            if header not in valid:
                check_header_validity(header)
                if header[0] != "Authorization" and len(valid) < _KEPT:
                    valid.add(header)
            headers[header[0]] = header[1]  # names are str: to_native_string leaves them
        return headers

    def _check_clear_text(self, call: Call) -> None:
        """_refuse_clear_text, asked once per distinct (service, url): its answer is a function
        of those two alone."""
        key = (call.service, call.url)
        if key in self._plain_ok:
            return
        _refuse_clear_text(call)
        if len(self._plain_ok) < _KEPT:
            self._plain_ok.add(key)


def with_query(url: str, params: Sequence[tuple[str, str]]) -> str:
    """The URL with its query as requests would encode it, but '=' and ',' left as they are
    (both are allowed in a query, RFC 3986's sub-delimiters, and Adobe writes its filters so:
    `property=name==a,b`). Percent-encoded, they put a '%' in every filtered listing's query,
    and urllib3 then re-encodes the whole query (3 KB) byte by byte, twice per request."""
    if not params:
        return url
    return f"{url}?{urlencode(list(params), safe='=,', quote_via=quote_plus)}"


# How many entries each of a Sender's memos keeps (prepared URLs with their queries, headers
# found valid, URLs found not clear text): every create of a run shares one URL; reads of
# single items each have their own, and past this many are worked out anew.
_KEPT = 4096


def _refuse_clear_text(call: Call) -> None:
    """Nothing goes over plain http:// to a host that is not this machine (the URLs are checked
    when the settings are read; this also holds for settings made in code)."""
    ims = call.service == "IMS"
    variable = "AEP_IMS_URL" if ims else "AEP_PLATFORM_URL"
    if clear_text_refusal(variable, call.url):
        configured = call.settings.ims_url if ims else call.settings.platform_url
        raise ConfigError(
            clear_text_refusal(variable, configured) or clear_text_refusal(variable, call.url) or ""
        )


def _too_long_a_wait(call: Call, status: int, seconds: float, patience: float) -> TransientError:
    return TransientError(
        f"{call.service} answered {call.label} with {status} and asked to wait {seconds:.0f} s "
        f"(Retry-After) before trying again, longer than the {patience:g} s the tool waits for "
        "a request; try again later",
        status=status,
    )
