"""Client: what the commands, the listing and the executor need of the API client.

`provisioner.client.FlowServiceClient` is the one implementation (mypy checks it satisfies
this wherever one is handed on as a Client). This module imports no HTTP library, so the
layers that only call the API do not load one to name its type.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol

from provisioner.kinds import Kind


class Client(Protocol):
    """Flow Service, Data Prep and Catalog calls, by kind; items are JSON objects as answered."""

    @property
    def page_size(self) -> int:
        """The most items asked per page (and values per multi-value filter)."""
        ...

    def list_items(
        self,
        kind: Kind,
        sandbox: str,
        *,
        name: str | None = None,
        filters: Sequence[tuple[str, str]] = (),
    ) -> Iterator[dict[str, Any]]: ...

    def list_matching(
        self, kind: Kind, sandbox: str, field: str, values: Sequence[str]
    ) -> Iterator[dict[str, Any]]: ...

    def get_item(self, kind: Kind, sandbox: str, item_id: str) -> dict[str, Any] | None: ...

    def create_item(
        self, kind: Kind, sandbox: str, body: Mapping[str, Any]
    ) -> tuple[str, str]: ...

    def put_item(
        self, kind: Kind, sandbox: str, item_id: str, body: Mapping[str, Any]
    ) -> dict[str, Any]: ...

    def patch_item(
        self, kind: Kind, sandbox: str, item_id: str, etag: str, ops: Sequence[Mapping[str, Any]]
    ) -> str: ...

    def delete_item(self, kind: Kind, sandbox: str, item_id: str) -> bool: ...

    def action(self, kind: Kind, sandbox: str, item_id: str, op: str) -> str: ...

    def explore(
        self, sandbox: str, connection_id: str, folder: str
    ) -> list[dict[str, Any]] | None: ...

    def runs(self, sandbox: str, flow_id: str, *, limit: int = 5) -> list[dict[str, Any]]: ...

    def test_connection(self, sandbox: str, connection_id: str) -> bool: ...

    def close(self) -> None: ...
