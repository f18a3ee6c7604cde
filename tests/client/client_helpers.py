"""Helpers for the client tests: Settings for a server, an S3 body, a recording sleep, seam types."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from provisioner.config import Settings
from provisioner.secrets import Secret

S3_SPEC = "ecadc60c-7455-4d87-84dc-2a0e293d997b"
CLIENT_ID = "client-tests"
ORG_ID = "CLIENTTESTORG0000000000@AdobeOrg"
CLIENT_SECRET = "SENTINEL-client-secret-4f1d2"


def settings_for(url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "client_id": CLIENT_ID,
        "org_id": ORG_ID,
        "client_secret": Secret(CLIENT_SECRET),
        "platform_url": url,
        "ims_url": url,
    }
    values.update(overrides)
    return Settings(**values)


def s3_body(
    name: str, *, secret: str = "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY01"
) -> dict[str, Any]:
    return {
        "name": name,
        "description": f"{name} description",
        "auth": {
            "specName": "Access Key",
            "params": {"s3AccessKey": "AKIAIOSFODNN7EXAMPLE", "s3SecretKey": secret},
        },
        "connectionSpec": {"id": S3_SPEC, "version": "1.0"},
    }


class Sleeps(list[float]):
    """An injectable sleep that records each wait; `real=True` also waits (for rate limits)."""

    def __init__(self, real: bool = False) -> None:
        super().__init__()
        self.real = real

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        if self.real:
            time.sleep(seconds)


# -- the seam: a tiny local server for what the emulator cannot produce ---------------------


@dataclass
class Seen:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class Answer:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # wait before answering (a read timeout on the client side)
    hang_up: bool = False  # close the connection without answering (a reset after sending)
    raw: bytes | None = None  # a body sent as is, instead of `body` as JSON


Handler = Callable[[Seen], Answer]


@dataclass
class Seam:
    url: str
    seen: list[Seen]


def _token_answer(seen: Seen) -> Answer | None:
    if seen.path == "/ims/token/v3":
        return Answer(
            200, {"access_token": f"seam-token-{time.monotonic_ns()}", "expires_in": 86399}
        )
    return None


def with_ims(handler: Handler) -> Handler:
    """A handler that also answers the IMS token exchange."""

    def both(seen: Seen) -> Answer:
        return _token_answer(seen) or handler(seen)

    return both
