"""The registry of connection kinds: `type:` in a manifest names one of these.

A kind says which Flow Service connection spec it stands for, its auth specs and which of their
params are secret, and how to turn a Resource into an API body and an API item back into a
RemoteConnection. A new kind is one new module added to _KINDS, not a new `if` elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from provisioner.model import RemoteConnection, Resource


@dataclass(frozen=True)
class AuthSpec:
    """One auth spec of a connection spec: its params, and which are required or secret."""

    name: str
    required: frozenset[str]
    optional: frozenset[str]
    secret: frozenset[str]

    @property
    def params(self) -> frozenset[str]:
        return self.required | self.optional


class Kind(Protocol):
    @property
    def name(self) -> str:
        """The manifest's `type:`."""
        ...

    @property
    def title(self) -> str: ...

    @property
    def spec_id(self) -> str: ...

    @property
    def spec_version(self) -> str: ...

    @property
    def auth_specs(self) -> Mapping[str, AuthSpec]: ...

    def create_body(self, resource: Resource) -> dict[str, Any]:
        """The POST /connections body, secrets revealed (only ever sent, never logged)."""
        ...

    def read(self, item: Mapping[str, Any], sandbox: str) -> RemoteConnection:
        """A RemoteConnection from one `items[]` element of a Flow Service response."""
        ...


def _load() -> dict[str, Kind]:
    from provisioner.kinds import amazon_s3

    kinds: list[Kind] = [amazon_s3.KIND]
    return {k.name: k for k in kinds}


_KINDS: dict[str, Kind] | None = None


def registry() -> Mapping[str, Kind]:
    global _KINDS
    if _KINDS is None:
        _KINDS = _load()
    return _KINDS


def get(name: str) -> Kind:
    """The kind named `name`; KeyError if there is none (the schema has already refused it)."""
    return registry()[name]


def by_spec_id(spec_id: str) -> Kind | None:
    for kind in registry().values():
        if kind.spec_id == spec_id:
            return kind
    return None
