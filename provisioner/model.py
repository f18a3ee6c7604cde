"""Typed records that cross module boundaries: a declared resource and a remote one.

Both are `kind + document`: the kind (provisioner.kinds) says what the document means; the
document is the resource's managed shape as JSON values (provisioner.document), the same shape
on both sides so that one diff compares them.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from provisioner import document as doc
from provisioner.secrets import Secret


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
    """One declared resource, validated, with ${env:} references resolved.

    `document` may hold Secret leaves (secret values) and Ref leaves (references to other
    resources of the same sandbox, by address). `sandbox` is the final sandbox (--sandbox >
    the manifest's `sandbox:` > AEP_SANDBOX > prod), resolved at loading.
    """

    kind: str
    address: str
    document: Mapping[str, Any]
    location: Location
    sandbox: str = "prod"
    protect: bool = False
    # where each reference was written (for errors), by the path of its Ref in the document
    ref_locations: Mapping[doc.Path, Location] = field(default_factory=dict, compare=False)

    @property
    def name(self) -> str:
        return str(self.document.get("name", ""))

    @property
    def description(self) -> str:
        return str(self.document.get("description", ""))

    @functools.cached_property
    def _markers(self) -> tuple[list[tuple[doc.Path, doc.Ref]], list[tuple[doc.Path, Secret]]]:
        return doc.markers(self.document)  # once: documents are never changed

    @property
    def refs(self) -> tuple[tuple[doc.Path, doc.Ref], ...]:
        """Its references, with their paths."""
        return tuple(self._markers[0])

    @property
    def secrets(self) -> tuple[tuple[doc.Path, Secret], ...]:
        """Its secret leaves, with their paths."""
        return tuple(self._markers[1])

    @functools.cached_property
    def depends_on(self) -> tuple[str, ...]:
        return tuple(sorted({r.address for _p, r in self.refs}))


@dataclass(frozen=True)
class Remote:
    """One resource as the service returned it, as its kind's document (no secret in it)."""

    kind: str
    id: str
    etag: str
    sandbox: str
    document: Mapping[str, Any]
    # Read-only attributes other resources may reference (e.g. a dataset's schema id).
    attributes: Mapping[str, Any] = field(default_factory=dict)
    state: str = "enabled"
    created_at: int | None = None
    created_by: str | None = None
    updated_at: int | None = None
    updated_by: str | None = None

    @property
    def name(self) -> str:
        return str(self.document.get("name", ""))
