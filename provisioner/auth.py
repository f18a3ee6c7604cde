"""The IMS Server-to-Server access token: fetched once, shared by every lane, renewed in time."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import requests

from provisioner.config import Settings
from provisioner.errors import ApiError, AuthError, ConfigError
from provisioner.http.call import Call
from provisioner.http.limits import (
    MAX_TOKEN_LIFETIME,
    MIN_TOKEN_LIFETIME,
    MIN_TOKEN_USE,
    finite_seconds,
)
from provisioner.http.retry import Mode, RetryPolicy
from provisioner.http.sender import Sender
from provisioner.secrets import Secret

TOKEN_PATH = "/ims/token/v3"
# IMS documents expires_in in seconds (86399 in its sample); used when an answer omits it.
DEFAULT_EXPIRES_IN = 86399.0
# Renew when less than max(60 s, 10% of the lifetime) remains, but never later than half-way,
# so a short-lived token (an emulator's --token-ttl 2) is still used for half its life.
MIN_MARGIN = 60.0

TOKEN_RETRIES = RetryPolicy(max_retries=3, backoff_cap=10.0, max_elapsed=60.0)


def renewal_margin(expires_in: float) -> float:
    return min(max(MIN_MARGIN, 0.1 * expires_in), expires_in / 2)


class TokenLifetimeError(ApiError):
    """IMS answered with a token that cannot be used (an expires_in that is not a lifetime)."""


class TokenProvider:
    """`token()` gives the cached token, exchanging client credentials at most one at a time."""

    def __init__(
        self,
        settings: Settings,
        session: requests.Session,
        *,
        timeout: float,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        policy: RetryPolicy = TOKEN_RETRIES,
    ) -> None:
        self._settings = settings
        self._sender = Sender(session, policy=policy, timeout=timeout, sleep=sleep)
        self._clock = clock
        self._lock = threading.Lock()
        self._token: Secret | None = settings.access_token
        self._renew_at = float("inf")
        self._refused: ApiError | None = None
        self.exchanges = 0  # token requests sent to IMS, for tests and benchmarks

    @property
    def renewable(self) -> bool:
        """False for AEP_ACCESS_TOKEN: a token minted elsewhere cannot be renewed here."""
        return self._settings.access_token is None

    def token(self) -> Secret:
        with self._lock:
            if self._refused is not None:
                # IMS said no: the lanes waiting behind the first one need not each ask again.
                raise self._refused
            if self._token is None or self._clock() >= self._renew_at:
                try:
                    self._token = self._exchange()
                except (AuthError, TokenLifetimeError) as exc:
                    # Asking again would get the same answer: every lane gets this one.
                    self._refused = exc
                    raise
            return self._token

    def invalidate(self, token: Secret) -> None:
        """Forget `token` after a 401, so the next `token()` renews it (once, for all lanes)."""
        with self._lock:
            if self.renewable and self._token == token:
                self._token = None

    def _exchange(self) -> Secret:
        settings = self._settings
        if settings.client_secret is None:
            raise ConfigError(
                "AEP_CLIENT_SECRET is not set, so no access token can be requested from IMS; "
                "export it, or export AEP_ACCESS_TOKEN"
            )
        secret = settings.client_secret.reveal()
        call = Call(
            service="IMS",
            method="POST",
            url=f"{settings.ims_url}{TOKEN_PATH}",
            mode=Mode.TOKEN,
            settings=settings,
            headers={"Accept": "application/json"},
            form={
                "grant_type": "client_credentials",
                "client_id": settings.client_id,
                "client_secret": secret,
                "scope": settings.scopes,
            },
            sensitive=(secret,),
        )
        asked_at = self._clock()
        self.exchanges += 1
        reply = self._sender.send(call)
        body = reply.json()
        value = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(value, str) or not value:
            raise ApiError(
                f"IMS at {settings.ims_url} answered the token request without an access_token; "
                "check AEP_IMS_URL",
                status=reply.response.status_code,
            )
        expires_in = _lifetime(body, settings.ims_url)
        answered_at = self._clock()
        if answered_at - asked_at > expires_in - MIN_TOKEN_USE:
            raise TokenLifetimeError(
                f"IMS at {settings.ims_url} took {answered_at - asked_at:.0f} s to answer the "
                f"token request, and its token lasts {expires_in:g} s: it would expire before it "
                "could be used; check AEP_IMS_URL and the network, then try again"
            )
        # Renew ahead of time, but use each token at least MIN_TOKEN_USE: at most one
        # exchange per second, however short the lifetime.
        renew_at = asked_at + expires_in - renewal_margin(expires_in)
        self._renew_at = max(renew_at, answered_at + MIN_TOKEN_USE)
        return Secret(value)


def _lifetime(body: dict[str, object], ims_url: str) -> float:
    """expires_in in seconds: IMS's documented 24 hours when it is missing, at most a day, and
    an error when it is not a finite number of at least MIN_TOKEN_LIFETIME seconds."""
    raw = body.get("expires_in")
    if raw is None:
        return DEFAULT_EXPIRES_IN
    seconds = finite_seconds(raw)
    if seconds is None or seconds < MIN_TOKEN_LIFETIME:
        shown = repr(raw)[:40] if isinstance(raw, (int, float, str)) else type(raw).__name__
        raise TokenLifetimeError(
            f"IMS at {ims_url} answered the token request with expires_in={shown}, not a "
            f"lifetime of at least {MIN_TOKEN_LIFETIME:g} s, so the token cannot be used; "
            "check AEP_IMS_URL"
        )
    return min(seconds, MAX_TOKEN_LIFETIME)
