"""IMS: issues OAuth Server-to-Server tokens and checks the gateway headers that carry them."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from provisioner.emulator import errors


@dataclass(frozen=True)
class Client:
    secret: str
    org: str


@dataclass
class _Token:
    client_id: str
    org: str | None  # None until first used (default mode): then bound to that org
    expires_at: float


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's client id and org."""

    client_id: str
    org: str


def load_clients(path: str) -> dict[str, Client]:
    """Read a clients file; ValueError/OSError with a plain message when it is unusable."""
    with open(path, encoding="utf-8") as fh:
        try:
            data = json.load(fh)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path} is not valid JSON ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(data, dict) or not data:
        raise ValueError(
            f'{path} must be a JSON object {{"CLIENT_ID": {{"secret": ..., "org": ...}}}}'
        )
    clients = {}
    for client_id, entry in data.items():
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("secret"), str)
            and isinstance(entry.get("org"), str)
            and entry["secret"]
            and entry["org"]
        ):
            raise ValueError(f'{path}: client {client_id!r} needs a "secret" and an "org" string')
        clients[client_id] = Client(entry["secret"], entry["org"])
    return clients


class Ims:
    """Token issuing and checking. Tokens live in memory only: a restart forgets them."""

    def __init__(
        self,
        clients: Mapping[str, Client] | None,
        ttl: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._clients = clients
        self._ttl = ttl
        self._clock = clock
        self._tokens: dict[str, _Token] = {}
        self._lock = threading.Lock()

    def issue(self, form: Mapping[str, str]) -> dict[str, object]:
        if form.get("grant_type") != "client_credentials":
            raise errors.ims(400, "unsupported_grant_type", "grant_type must be client_credentials")
        client_id = form.get("client_id", "")
        secret = form.get("client_secret", "")
        if not client_id:
            raise errors.ims(400, "invalid_request", "missing client_id parameter")
        if not secret:
            raise errors.ims(400, "invalid_request", "missing client_secret parameter")
        if not form.get("scope"):
            raise errors.ims(400, "invalid_scope", "missing scope parameter")
        org: str | None = None
        if self._clients is not None:
            client = self._clients.get(client_id)
            if client is None:
                raise errors.ims(401, "invalid_client", "invalid client_id parameter")
            if not secrets.compare_digest(client.secret, secret):
                raise errors.ims(401, "invalid_client", "invalid client_secret parameter")
            org = client.org
        token = secrets.token_urlsafe(48)
        with self._lock:
            self._tokens[token] = _Token(client_id, org, self._clock() + self._ttl)
        return {"access_token": token, "token_type": "bearer", "expires_in": self._ttl}

    def authenticate(self, headers: Mapping[str, str]) -> Principal:
        """The gateway's checks, in this order: token present, api key present, token valid,
        api key = token's client, org present, org = token's org."""
        authorization = headers.get("Authorization")
        if not authorization:
            raise errors.gateway("403010", "Oauth token is missing.")
        api_key = headers.get("x-api-key")
        if not api_key:
            raise errors.gateway("403000", "Api Key is required")
        scheme, _, value = authorization.partition(" ")
        now = self._clock()
        with self._lock:
            token = self._tokens.get(value.strip()) if scheme.lower() == "bearer" else None
            if token is not None and token.expires_at <= now:
                del self._tokens[value.strip()]
                token = None
            if token is None:
                raise errors.gateway("401013", "Oauth token is not valid")
            if api_key != token.client_id:
                raise errors.gateway("403003", "Api Key is invalid")
            org = headers.get("x-gw-ims-org-id")
            if not org:
                raise errors.gateway("400003", "Missing header")
            if token.org is None:
                token.org = org
            if org != token.org:
                raise errors.gateway("403025", "Profile is not valid")
            return Principal(token.client_id, org)
