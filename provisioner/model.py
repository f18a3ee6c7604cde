"""Typed records that cross module boundaries: desired resources and remote connections."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from provisioner.secrets import Secret

ParamValue = str | Secret


@dataclass(frozen=True, order=True)
class Location:
    """Where something was written: file, 1-based line and column."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Resource:
    """One declared connection, validated and with ${env:} references resolved.

    Secret parameters are `Secret`s; everything else is plain text. `sandbox` is the final
    sandbox (--sandbox > the manifest's `sandbox:` > AEP_SANDBOX > prod), resolved at loading.
    """

    address: str
    kind: str
    name: str
    auth_spec: str
    params: Mapping[str, ParamValue]
    location: Location
    description: str = ""
    protect: bool = False
    sandbox: str = "prod"


@dataclass(frozen=True)
class RemoteConnection:
    """A connection as Flow Service returned it (secret params are never readable)."""

    id: str
    etag: str
    name: str
    description: str
    spec_id: str
    spec_version: str
    auth_spec: str
    params: Mapping[str, str]  # non-secret params only
    sandbox: str
    state: str = "enabled"
    created_at: int | None = None
    created_by: str | None = None
    updated_at: int | None = None
    updated_by: str | None = None
    updated_client: str | None = None
