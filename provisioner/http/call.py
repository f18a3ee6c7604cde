"""`Call`: one logical request (retried as a unit), with what messages and logs may say about it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from provisioner.config import Settings
from provisioner.http.retry import Mode

# Flow Service paths are shown relative to this base in messages and logs.
FLOW_BASE = "/data/foundation/flowservice"


@dataclass(frozen=True)
class Call:
    """A request as the client means it; the sender adds the token and retries it."""

    service: str  # "Flow Service" or "IMS"
    method: str
    url: str
    mode: Mode
    settings: Settings
    sandbox: str | None = None
    params: Sequence[tuple[str, str]] = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    form: Mapping[str, str] | None = None
    # Literal values that must never appear in a message or a log line (tokens, secrets).
    sensitive: tuple[str, ...] = ()

    @property
    def path(self) -> str:
        """The path (relative to the Flow Service base), for messages."""
        path = urlsplit(self.url).path
        return path[len(FLOW_BASE) :] or "/" if path.startswith(FLOW_BASE) else path

    @property
    def target(self) -> str:
        """Path and query, for the log."""
        # Decoded, so a filter reads as Adobe documents it: property=name==Marketing.
        query = "&".join(f"{k}={v}" for k, v in self.params)
        return urlsplit(self.url).path + (f"?{query}" if query else "")

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"
