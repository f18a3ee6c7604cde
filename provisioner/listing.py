"""The plan's remote listing: which items of which collections a command must see, read over
the API client (`provisioner.client_api.Client`) in parallel lanes, never a GET per resource."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from provisioner import kinds
from provisioner.client_api import Client
from provisioner.model import Remote

# Lanes for the plan's reads (the limiter may use fewer).
READ_LANES = 16


@dataclass
class Wanted:
    """What a plan must see of one collection in one sandbox: the items with these ids (owned)
    and these names (declared: adoption candidates, and duplicates of owned names), or every
    item (`full`). `early_ids` are owned ids the name reads will not find (a resource no
    longer declared, or renamed): read alongside the names rather than after them."""

    ids: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)
    early_ids: set[str] = field(default_factory=set)
    full: bool = False


# (sandbox, kind name) -> what to read there.
Scope = dict[tuple[str, str], Wanted]
# One read under way: its collection, and its outcome.
Pending = tuple[tuple[str, str], "Future[None]"]
# Called in the read lane with each answer's items as they arrive: (sandbox, items).
OnRead = Callable[[str, list[Remote]], None]


class RemoteReader:
    """The plan's remote reads: per sandbox and collection, id-filtered listings of what the
    state owns and name-filtered listings of what the manifests declare, chunked to a safe URL
    size and sent over parallel lanes; the whole collection paged where no filter can serve
    (Data Prep mapping sets, a name a filter cannot carry) or the service refuses one. Each
    answer is read into Remotes as it arrives. Reads already done are not repeated, so a
    guessed scope (ListingAhead) can be completed by the exact one. `on_read`, when set, is
    given each answer's items in the lane that read them, after they are kept (the plan
    compares them there, while other answers are still on their way)."""

    def __init__(
        self, client: Client, lanes: int = READ_LANES, on_read: OnRead | None = None
    ) -> None:
        self.client = client
        self.lanes = lanes
        self.on_read = on_read
        self._lock = threading.Lock()
        self._items: dict[tuple[str, str], dict[str, Remote]] = {}
        self._asked: dict[tuple[str, str, str], set[str]] = {}  # (sandbox, kind, field) -> values
        self._full: set[tuple[str, str]] = set()

    def read(self, scope: Scope) -> None:
        """Read everything `scope` asks for that was not read yet."""
        registry = kinds.all_kinds().kinds
        with ThreadPoolExecutor(max_workers=self.lanes, thread_name_prefix="read") as pool:
            first: list[Pending] = []
            for key, wanted in sorted(scope.items()):
                kind = registry[key[1]]
                self._items.setdefault(key, {})
                if not _filterable(kind, wanted):
                    first += self._submit_full(pool, key)
                    continue
                names = set(wanted.names) if kind.adopt_by_name else set()
                first += self._submit(pool, key, "name", names)
                first += self._submit(pool, key, "id", wanted.early_ids & wanted.ids)
            refused = self._settle(first)
            # Owned items the name reads did not bring: renamed, or gone (then no answer).
            second: list[Pending] = []
            for key in sorted(refused):
                second += self._submit_full(pool, key)
            for key, wanted in sorted(scope.items()):
                if key in self._full or key in refused:
                    continue
                missing = {i for i in wanted.ids if i not in self._items[key]}
                second += self._submit(pool, key, "id", missing)
            refused = self._settle(second)
            self._settle([p for key in sorted(refused) for p in self._submit_full(pool, key)])

    def remote(self, sandboxes: Iterable[str], kind_names: Iterable[str]) -> dict[str, list[Remote]]:
        """Every item read in these sandboxes of these kinds (kinds in the given order)."""
        names = sorted(set(kind_names))
        return {
            sandbox: [r for name in names for r in self._items.get((sandbox, name), {}).values()]
            for sandbox in sorted(set(sandboxes))
        }

    def _submit(
        self, pool: ThreadPoolExecutor, key: tuple[str, str], field_name: str, values: set[str]
    ) -> list[Pending]:
        from provisioner.client import filter_chunks

        asked = self._asked.setdefault((*key, field_name), set())
        fresh = sorted(values - asked)
        asked.update(fresh)
        kind = kinds.get(key[1])
        chunks = filter_chunks(field_name, fresh, self.client.page_size)
        return [(key, pool.submit(self._read_chunk, key, kind, field_name, c)) for c in chunks]

    def _submit_full(self, pool: ThreadPoolExecutor, key: tuple[str, str]) -> list[Pending]:
        if key in self._full:
            return []
        self._full.add(key)
        return [(key, pool.submit(self._read_all, key, kinds.get(key[1])))]

    def _read_chunk(
        self, key: tuple[str, str], kind: kinds.Kind, field_name: str, chunk: list[str]
    ) -> None:
        found = [
            kind.read(item, key[0])
            for item in self.client.list_matching(kind, key[0], field_name, chunk)
        ]
        self._keep(key, found)

    def _read_all(self, key: tuple[str, str], kind: kinds.Kind) -> None:
        self._keep(key, [kind.read(item, key[0]) for item in self.client.list_items(kind, key[0])])

    def _keep(self, key: tuple[str, str], found: list[Remote]) -> None:
        with self._lock:
            items = self._items.setdefault(key, {})
            for remote in found:
                items[remote.id] = remote
        on_read = self.on_read
        if on_read is not None and found:
            on_read(key[0], found)

    @staticmethod
    def _settle(futures: list[Pending]) -> set[tuple[str, str]]:
        """Wait for every read; the collections whose filter the service refused. Any other
        error is raised (the first one submitted), once all have ended."""
        from provisioner.client import FilterRefusedError

        refused: set[tuple[str, str]] = set()
        error: BaseException | None = None
        for key, future in futures:
            exc = future.exception()
            if isinstance(exc, FilterRefusedError):
                refused.add(key)
            elif exc is not None and error is None:
                error = exc
        if error is not None:
            raise error
        return refused


def _filterable(kind: kinds.Kind, wanted: Wanted) -> bool:
    from provisioner.client import filterable

    if wanted.full or kind.endpoint.service != "flowservice":
        return False  # Data Prep's mapping sets have no id filter on the list: paged in full
    return all(filterable(v) for v in (*wanted.names, *wanted.ids))


def fetch_remote(
    client: Client,
    sandboxes: Iterable[str],
    kind_names: Iterable[str] | None = None,
    *,
    scope: Scope | None = None,
    reader: RemoteReader | None = None,
    on_read: OnRead | None = None,
) -> dict[str, list[Remote]]:
    """The remote items a command must see, never a GET per resource. With `scope`, the
    filtered reads it asks for (see RemoteReader); without, one paged listing per sandbox and
    kind (in parallel). Without `kind_names`, every managed kind. `on_read` is given each
    answer's items as they arrive (see RemoteReader)."""
    registry = kinds.all_kinds().kinds
    names = sorted(kind_names) if kind_names is not None else sorted(
        n for n, k in registry.items() if k.managed
    )
    boxes = sorted(set(sandboxes))
    if scope is None:
        scope = {(s, n): Wanted(full=True) for s in boxes for n in names}
    reader = reader or RemoteReader(client)
    if on_read is not None:
        reader.on_read = on_read
    reader.read(scope)
    return reader.remote(boxes, names)
