"""Executes a plan with bounded parallelism, writing each result to the state as it is known."""

from __future__ import annotations

import queue
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from provisioner import kinds
from provisioner.errors import (
    ApiError,
    PlanError,
    PreconditionError,
    ProvisionerError,
    UncertainWriteError,
)
from provisioner.http.errors import UnreachableError
from provisioner.model import RemoteConnection, Resource
from provisioner.plan import Action, Change, Plan
from provisioner.secrets import Secret
from provisioner.state import State, StateEntry

CREATE_ATTEMPTS = 4
UPDATE_ATTEMPTS = 4  # PATCHes sent; each 412 between them re-reads and re-checks first
_NOT_ATTEMPTED = (
    "not attempted: an earlier change could not reach the service at all; run apply again "
    "once it answers"
)


class Client(Protocol):
    def list_connections(
        self, sandbox: str, *, spec_id: str | None = None, name: str | None = None
    ) -> Any: ...
    def get_connection(self, sandbox: str, id: str) -> dict[str, Any] | None: ...
    def create_connection(self, sandbox: str, body: dict[str, Any]) -> tuple[str, str]: ...
    def patch_connection(
        self, sandbox: str, id: str, etag: str, ops: list[dict[str, Any]]
    ) -> str: ...
    def delete_connection(self, sandbox: str, id: str) -> bool: ...


class Writer(Protocol):
    def put(self, entry: StateEntry) -> None: ...
    def remove(self, org: str, sandbox: str, address: str) -> object: ...


@dataclass(frozen=True)
class Outcome:
    change: Change
    done: str  # created, adopted, updated, replaced, deleted, refreshed, skipped, failed
    id: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def entry_for(
    res: Resource, id: str, etag: str, fingerprints: dict[str, str], org: str
) -> StateEntry:
    kind = kinds.get(res.kind)
    return StateEntry(
        org=org,
        sandbox=res.sandbox,
        address=res.address,
        id=id,
        etag=etag,
        name=res.name,
        description=res.description,
        type=res.kind,
        spec_id=kind.spec_id,
        spec_version=kind.spec_version,
        auth_spec=res.auth_spec,
        params={k: v for k, v in res.params.items() if not isinstance(v, Secret)},
        secret_fingerprints=dict(fingerprints),
        protect=res.protect,
    )


def patch_ops(
    res: Resource, conn: RemoteConnection, *, rotate_secrets: bool
) -> list[dict[str, Any]]:
    """The JSON Patch that turns `conn` into `res` (params are replaced whole, secrets included)."""
    ops: list[dict[str, Any]] = []
    if conn.name != res.name:
        ops.append({"op": "replace", "path": "/name", "value": res.name})
    if res.description != conn.description:
        if not res.description:
            ops.append({"op": "remove", "path": "/description"})
        else:
            op = "replace" if conn.description else "add"
            ops.append({"op": op, "path": "/description", "value": res.description})
    visible = {k: v for k, v in res.params.items() if not isinstance(v, Secret)}
    if rotate_secrets or visible != dict(conn.params):
        params = {k: (v.reveal() if isinstance(v, Secret) else v) for k, v in res.params.items()}
        ops.append({"op": "replace", "path": "/auth/params", "value": params})
    return ops


class Executor:
    """Runs the changes of a plan over `parallelism` lanes."""

    def __init__(
        self,
        *,
        plan: Plan,
        state: State,
        client: Client,
        writer: Writer,
        parallelism: int = 10,
        allow_delete: bool = False,
        on_result: Callable[[Outcome], None] = lambda o: None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.plan = plan
        self.state = state
        self.client = client
        self.writer = writer
        self.parallelism = parallelism
        self.allow_delete = allow_delete
        self.on_result = on_result
        self.sleep = sleep
        self._owned_lock = threading.Lock()
        self._owned = {(e.sandbox, e.id) for e in state.entries.values() if e.org == plan.org}
        self._unreachable = False  # set once a change could not reach the service at all

    def run(self) -> list[Outcome]:
        todo = [c for c in self.plan.changes if c.is_change or self._stale_entry(c)]
        outcomes: list[Outcome] = []
        if not todo:
            return outcomes
        pool = ThreadPoolExecutor(max_workers=self.parallelism, thread_name_prefix="apply")
        # Finished futures arrive through a queue: wait() on the pending set would cost O(N)
        # per completion, O(N^2) for the whole apply.
        finished: queue.SimpleQueue[Future[Outcome]] = queue.SimpleQueue()
        for change in todo:
            pool.submit(self._run_one, change).add_done_callback(finished.put)
        try:
            while len(outcomes) < len(todo):
                try:
                    fut = finished.get(timeout=0.25)  # a timeout keeps Ctrl-C responsive
                except queue.Empty:
                    continue
                outcome = fut.result()
                outcomes.append(outcome)
                self.on_result(outcome)
        except KeyboardInterrupt:
            # Let the requests already in flight finish and be recorded; start nothing new.
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        finally:
            pool.shutdown(wait=True)
        return outcomes

    # -- one change ---------------------------------------------------------------------------

    def _run_one(self, change: Change) -> Outcome:
        if self._unreachable:
            # The service is down: do not spend a full retry cycle per remaining change on it.
            return Outcome(change, "failed", change.remote_id, _NOT_ATTEMPTED)
        journal_failure = getattr(self.writer, "failure", None)
        if journal_failure:
            # Results could not be recorded durably: start nothing more (issue 12 item 7).
            return Outcome(change, "failed", change.remote_id, f"not started: {journal_failure}")
        try:
            return self._dispatch(change)
        except UnreachableError as exc:
            self._unreachable = True
            return Outcome(change, "failed", change.remote_id, str(exc))
        except ProvisionerError as exc:
            return Outcome(change, "failed", change.remote_id, str(exc))
        except Exception as exc:  # a bug must not take the other lanes down or leak a value
            return Outcome(
                change, "failed", change.remote_id, f"internal error ({type(exc).__name__})"
            )

    def _dispatch(self, change: Change) -> Outcome:
        res = self.plan.resources.get(change.key)
        if change.action is Action.DELETE:
            if not self.allow_delete:
                return Outcome(change, "skipped", change.remote_id)
            assert change.remote_id is not None
            self.client.delete_connection(change.sandbox, change.remote_id)
            self.writer.remove(*change.key)
            return Outcome(change, "deleted", change.remote_id)
        assert res is not None
        fps = dict(change.secret_fingerprints)
        if change.action in (Action.CREATE, Action.RECREATE):
            id, etag = self._create(res)
            self.writer.put(entry_for(res, id, etag, fps, self.plan.org))
            return Outcome(change, "created", id)
        if change.action is Action.REPLACE:
            assert change.remote_id is not None
            self.client.delete_connection(change.sandbox, change.remote_id)
            id, etag = self._create(res)
            self.writer.put(entry_for(res, id, etag, fps, self.plan.org))
            return Outcome(change, "replaced", id)
        assert change.remote_id is not None and change.remote_etag is not None
        if change.action is Action.ADOPT:
            with self._owned_lock:
                self._owned.add((change.sandbox, change.remote_id))
            etag = change.remote_etag
            if change.also_update:
                # Record ownership first, so an interrupted update is not followed by a duplicate.
                self.writer.put(entry_for(res, change.remote_id, etag, {}, self.plan.org))
                etag = self._update(res, change)
            self.writer.put(entry_for(res, change.remote_id, etag, fps, self.plan.org))
            return Outcome(change, "adopted", change.remote_id)
        if change.action is Action.UPDATE:
            etag = self._update(res, change)
            self.writer.put(entry_for(res, change.remote_id, etag, fps, self.plan.org))
            return Outcome(change, "updated", change.remote_id)
        # no-op whose state entry is out of date (e.g. a new etag after an outside edit)
        self.writer.put(entry_for(res, change.remote_id, change.remote_etag, fps, self.plan.org))
        return Outcome(change, "refreshed", change.remote_id)

    def _stale_entry(self, change: Change) -> bool:
        if change.action is not Action.NOOP or change.remote_id is None:
            return False
        res = self.plan.resources.get(change.key)
        entry = self.state.get(*change.key)
        if res is None or entry is None or change.remote_etag is None:
            return False
        fresh = entry_for(
            res,
            change.remote_id,
            change.remote_etag,
            dict(change.secret_fingerprints),
            self.plan.org,
        )
        return fresh != entry

    def _create(self, res: Resource) -> tuple[str, str]:
        """POST, and after an uncertain outcome look the name up before posting again."""
        kind = kinds.get(res.kind)
        sandbox = res.sandbox
        body = kind.create_body(res)
        for attempt in range(1, CREATE_ATTEMPTS + 1):
            try:
                id, etag = self.client.create_connection(sandbox, body)
                with self._owned_lock:
                    self._owned.add((sandbox, id))
                return id, etag
            except UncertainWriteError:
                # The POST may have happened: look before posting again, adopt what is there.
                found = self._lookup(res)
                if found is not None:
                    return found.id, found.etag
                if attempt == CREATE_ATTEMPTS:
                    raise
            self.sleep(min(8.0, 0.2 * 2**attempt) * random.random())
        raise AssertionError("unreachable")

    def _lookup(self, res: Resource) -> RemoteConnection | None:
        kind = kinds.get(res.kind)
        sandbox = res.sandbox
        with self._owned_lock:
            owned = set(self._owned)
        found = [
            kind.read(item, sandbox)
            for item in self.client.list_connections(sandbox, spec_id=kind.spec_id, name=res.name)
        ]
        found = [c for c in found if c.name == res.name and (sandbox, c.id) not in owned]
        if len(found) > 1:
            ids = ", ".join(sorted(c.id for c in found))
            raise PlanError(
                f"after an uncertain create, {len(found)} connections named {res.name!r} exist "
                f"in sandbox {sandbox} ({ids}); import the right one with 'provisioner import "
                f"{res.address} CONNECTION_ID' and delete the others"
            )
        if found:
            with self._owned_lock:
                self._owned.add((sandbox, found[0].id))
            return found[0]
        return None

    def _update(self, res: Resource, change: Change) -> str:
        """PATCH with If-Match; on 412 re-read, re-check, and try again with the fresh etag.

        A 412 also follows our own PATCH whose answer was lost (a 5xx after the write, retried
        with the old etag), and the re-sent PATCH can meet the same fate: so a few tries.
        """
        assert change.remote_id is not None and change.remote_etag is not None
        sandbox = res.sandbox
        rotate = any(f.sensitive for f in change.fields)
        conn = self.plan.remote.get((sandbox, change.remote_id))
        if conn is None:
            conn = self._read(res, change.remote_id)
        ops = patch_ops(res, conn, rotate_secrets=rotate)
        if not ops:
            return conn.etag
        for attempt in range(1, UPDATE_ATTEMPTS + 1):
            try:
                return self.client.patch_connection(sandbox, conn.id, conn.etag, ops)
            except PreconditionError:
                if attempt == UPDATE_ATTEMPTS:
                    raise
            except UncertainWriteError:
                fresh = self._read(res, conn.id)
                if fresh.etag != conn.etag and not patch_ops(res, fresh, rotate_secrets=False):
                    return fresh.etag  # the PATCH did land
                raise
            conn = self._read(res, conn.id)
            ops = patch_ops(res, conn, rotate_secrets=rotate)
            if not ops:
                return conn.etag
        raise AssertionError("unreachable")

    def _read(self, res: Resource, id: str) -> RemoteConnection:
        kind = kinds.get(res.kind)
        sandbox = res.sandbox
        item = self.client.get_connection(sandbox, id)
        if item is None:
            raise ApiError(
                f"connection {id} ({sandbox}/{res.address}) was deleted while being updated; "
                "run plan again"
            )
        return kind.read(item, sandbox)
