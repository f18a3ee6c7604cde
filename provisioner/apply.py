"""Executes a plan as a graph: creates and updates after what they reference, deletes before what
they are referenced by, independent changes in parallel lanes; each result goes to the state as
soon as it is known. A failed change stops only the changes that depend on it.

Each change is one or two steps: a delete step (DELETE, and the first half of REPLACE) and an
apply step (everything else, and the second half of REPLACE). An apply step waits for the apply
steps of the resources it references; a delete step waits for every change whose state entry
references the resource being deleted (their own delete step if they are deleted too, else
their apply step, which moves them off it).
"""

from __future__ import annotations

import queue
import random
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from provisioner import diff, interrupts, kinds
from provisioner import document as doc
from provisioner.client_api import Client
from provisioner.document import Ref
from provisioner.errors import (
    ApiError,
    PlanError,
    PreconditionError,
    ProvisionerError,
    UncertainWriteError,
)
from provisioner.http.errors import UnreachableError
from provisioner.kinds import Kind
from provisioner.model import Remote, Resource
from provisioner.patch import json_patch
from provisioner.plan import Action, Change, Plan
from provisioner.planner import comparable, resolved, with_fingerprints
from provisioner.state import State, StateEntry

CREATE_ATTEMPTS = 4
# Seconds to wait before each look-up for a create that was sent but never answered.
UNANSWERED_CHECKS = (0.0, 1.0, 2.0, 4.0)
UPDATE_ATTEMPTS = 4  # PATCHes sent; each 412 between them re-reads and re-checks first
_NOT_ATTEMPTED = (
    "not attempted: an earlier change could not reach the service at all; run apply again "
    "once it answers"
)


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
    res: Resource,
    remote_doc: Mapping[str, Any],
    id: str,
    etag: str,
    fingerprints: Mapping[str, str],
    org: str,
    attributes: Mapping[str, Any] | None = None,
) -> StateEntry:
    """The state entry of `res` as written: its desired document, resolved and without secrets."""
    return StateEntry(
        org=org,
        sandbox=res.sandbox,
        address=res.address,
        kind=res.kind,
        id=id,
        etag=etag,
        document=doc.public(remote_doc),
        secret_fingerprints=dict(fingerprints),
        protect=res.protect,
        depends_on=res.depends_on,
        attributes=attributes or {},
    )


Step = tuple[str, tuple[str, str, str]]  # ("delete" | "apply", change key)


class Executor:
    """Runs the changes of a plan over `parallelism` lanes, in dependency order."""

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
        self._lock = threading.Lock()
        self._owned = {(e.sandbox, e.id) for e in state.entries.values() if e.org == plan.org}
        # What a delete may ever hit: the ids the state owned when the apply began.
        self._deletable = frozenset(self._owned)
        self._unreachable = False  # set once a change could not reach the service at all
        # What a Ref resolves to at apply time: ids (and attributes) known so far.
        self._ids: dict[tuple[str, str], str] = {}
        self._attributes: dict[tuple[str, str], dict[str, Any]] = {}
        for e in state.entries.values():
            if e.org == plan.org:
                self._ids[(e.sandbox, e.address)] = e.id
                self._attributes[(e.sandbox, e.address)] = dict(e.attributes)
        for (sandbox, address), found in plan.lookups.items():
            self._ids[(sandbox, address)] = found.id
            self._attributes[(sandbox, address)] = dict(found.attributes)
        for c in plan.changes:
            if c.remote_id and c.action in (Action.ADOPT, Action.UPDATE, Action.NOOP):
                self._ids[(c.sandbox, c.address)] = c.remote_id
                remote = plan.remote.get((c.sandbox, c.remote_id))
                if remote is not None:
                    self._attributes[(c.sandbox, c.address)] = dict(remote.attributes)

    # -- the graph ------------------------------------------------------------------------------

    def _steps(self, todo: list[Change]) -> dict[Step, set[Step]]:
        by_key = {c.key: c for c in todo}
        needs: dict[Step, set[Step]] = {}
        for c in todo:
            if c.deletes:
                needs[("delete", c.key)] = set()
            if c.action is not Action.DELETE:
                needs[("apply", c.key)] = {("delete", c.key)} if c.deletes else set()
        for c in todo:
            if c.action is not Action.DELETE:
                for dep in c.depends_on:
                    key = (c.org, c.sandbox, dep)
                    if ("apply", key) in needs:
                        needs[("apply", c.key)].add(("apply", key))
        # A delete waits for whatever still references the resource in the state.
        for entry in self.state.entries.values():
            dependent = by_key.get(entry.key)
            if dependent is None:
                continue
            for dep in entry.depends_on:
                key = (entry.org, entry.sandbox, dep)
                if ("delete", key) in needs:
                    waits = ("delete", entry.key) if dependent.action is Action.DELETE else (
                        "apply",
                        entry.key,
                    )
                    if waits in needs and waits != ("delete", key):
                        needs[("delete", key)].add(waits)
        _break_cycles(needs)
        return needs

    def run(self) -> list[Outcome]:
        todo = [c for c in self.plan.changes if c.is_change or self._stale_entry(c)]
        outcomes: list[Outcome] = []
        # A delete or replace not allowed runs no step at all (a replace's create neither).
        for c in [c for c in todo if c.deletes and not self.allow_delete]:
            outcome = Outcome(c, "skipped", c.remote_id)
            outcomes.append(outcome)
            self.on_result(outcome)
        todo = [c for c in todo if not (c.deletes and not self.allow_delete)]
        if not todo:
            return outcomes
        by_key = {c.key: c for c in todo}
        needs = self._steps(todo)
        waiting_on = {step: set(deps) for step, deps in needs.items()}
        dependents: dict[Step, list[Step]] = {step: [] for step in needs}
        for step, deps in needs.items():
            for dep in deps:
                dependents[dep].append(step)
        failed_steps: dict[Step, str] = {}
        pool = ThreadPoolExecutor(max_workers=self.parallelism, thread_name_prefix="apply")
        # Finished steps arrive through a queue: wait() on the pending set would cost O(N)
        # per completion, O(N^2) for the whole apply.
        finished: queue.SimpleQueue[tuple[Step, Future[Outcome | None]]] = queue.SimpleQueue()
        running = 0

        def submit(step: Step) -> None:
            nonlocal running

            def done(f: Future[Outcome | None], s: Step = step) -> None:
                finished.put((s, f))

            # Not cut off by Ctrl-C or SIGTERM inside the pool: a worker it started but had
            # not yet recorded would be left out of shutdown(wait=True), its create unrecorded.
            with interrupts.deferred():
                running += 1
                fut = pool.submit(self._run_step, step, by_key[step[1]])
                fut.add_done_callback(done)

        def settle(step: Step, outcome: Outcome | None) -> None:
            if outcome is not None:
                outcomes.append(outcome)
                self.on_result(outcome)
                if not outcome.ok:
                    failed_steps[step] = f"{outcome.change.sandbox}/{outcome.change.address}"
            for nxt in dependents[step]:
                waiting_on[nxt].discard(step)
                if waiting_on[nxt]:
                    continue
                blocked = [failed_steps[d] for d in needs[nxt] if d in failed_steps]
                if blocked:
                    change = by_key[nxt[1]]
                    why = (
                        f"not attempted: it depends on {', '.join(sorted(set(blocked)))}, "
                        "which failed; run apply again once that is fixed"
                    )
                    settle(nxt, Outcome(change, "failed", change.remote_id, why))
                else:
                    submit(nxt)

        try:
            for step in sorted(needs):
                if not waiting_on[step]:
                    submit(step)
            while running:
                try:
                    step, fut = finished.get(timeout=0.25)  # a timeout keeps Ctrl-C responsive
                except queue.Empty:
                    continue
                running -= 1
                settle(step, fut.result())
        except KeyboardInterrupt:
            # Let the requests already in flight finish and be recorded; start nothing new.
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        finally:
            pool.shutdown(wait=True)
        return outcomes

    # -- one step -------------------------------------------------------------------------------

    def _run_step(self, step: Step, change: Change) -> Outcome | None:
        """The outcome of the change when this step ends it; None after the first half of a
        replace that went well."""
        if self._unreachable:
            # The service is down: do not spend a full retry cycle per remaining change on it.
            return Outcome(change, "failed", change.remote_id, _NOT_ATTEMPTED)
        journal_failure = getattr(self.writer, "failure", None)
        if journal_failure:
            # Results could not be recorded durably: start nothing more (issue 12 item 7).
            return Outcome(change, "failed", change.remote_id, f"not started: {journal_failure}")
        try:
            if step[0] == "delete":
                return self._delete(change)
            outcome = self._dispatch(change)
            if outcome.ok and change.moved_from is not None:
                self.writer.remove(change.org, change.sandbox, change.moved_from)
            return outcome
        except UnreachableError as exc:
            self._unreachable = True
            return Outcome(change, "failed", change.remote_id, str(exc))
        except ProvisionerError as exc:
            return Outcome(change, "failed", change.remote_id, str(exc))
        except Exception as exc:  # noqa: BLE001 - a bug must not take the other lanes down or leak a value
            return Outcome(
                change, "failed", change.remote_id, f"internal error ({type(exc).__name__})"
            )

    def _delete(self, change: Change) -> Outcome | None:
        kind = kinds.get(change.kind)
        if not self.allow_delete:
            return Outcome(change, "skipped", change.remote_id)
        assert change.remote_id is not None
        if (change.sandbox, change.remote_id) not in self._deletable:
            return Outcome(
                change,
                "failed",
                change.remote_id,
                f"refused: {kind.label} {change.remote_id} is not owned by the state, and apply "
                "deletes only what the state owns",
            )
        if change.protect:
            return Outcome(
                change,
                "failed",
                change.remote_id,
                "refused: it is protected (protect: true); set protect: false and apply first",
            )
        self.client.delete_item(kind, change.sandbox, change.remote_id)
        if change.action is Action.DELETE:
            self.writer.remove(*change.key)
            return Outcome(change, "deleted", change.remote_id)
        return None

    def _desired(self, res: Resource) -> dict[str, Any]:
        """The resource's document with every Ref filled from what is known by now."""

        def lookup(ref: Ref) -> Any:
            key = (res.sandbox, ref.address)
            with self._lock:
                if ref.attribute == "id":
                    value = self._ids.get(key)
                else:
                    value = self._attributes.get(key, {}).get(ref.attribute)
            if value is None:
                raise PlanError(
                    f"{res.sandbox}/{res.address} refers to {ref.address}, whose "
                    f"{ref.attribute} is not known; run plan again"
                )
            return value

        return dict(resolved(res, lookup))

    def _known(self, res: Resource, id: str, attributes: Mapping[str, Any] | None = None) -> None:
        with self._lock:
            self._ids[(res.sandbox, res.address)] = id
            if attributes:
                self._attributes[(res.sandbox, res.address)] = dict(attributes)

    def _dispatch(self, change: Change) -> Outcome:
        res = self.plan.resources.get(change.key)
        assert res is not None
        kind = kinds.get(res.kind)
        fps = dict(change.secret_fingerprints)
        desired = self._desired(res)
        org = self.plan.org
        if change.action in (Action.CREATE, Action.RECREATE, Action.REPLACE):
            id, etag, attributes = self._create(kind, res, desired)
            self._known(res, id, attributes)
            self.writer.put(entry_for(res, desired, id, etag, fps, org, attributes))
            done = "replaced" if change.action is Action.REPLACE else "created"
            return Outcome(change, done, id)
        assert change.remote_id is not None and change.remote_etag is not None
        remote = self.plan.remote.get((change.sandbox, change.remote_id))
        attributes = dict(remote.attributes) if remote is not None else {}
        if change.action is Action.ADOPT:
            with self._lock:
                self._owned.add((change.sandbox, change.remote_id))
            etag = change.remote_etag
            if change.also_update:
                # Record ownership first, so an interrupted update is not followed by a duplicate.
                seen = remote.document if remote is not None else desired
                self.writer.put(entry_for(res, seen, change.remote_id, etag, {}, org, attributes))
                etag, attributes = self._update(kind, res, change, desired)
            self._known(res, change.remote_id, attributes)
            self.writer.put(entry_for(res, desired, change.remote_id, etag, fps, org, attributes))
            return Outcome(change, "adopted", change.remote_id)
        if change.action is Action.UPDATE:
            etag, attributes = self._update(kind, res, change, desired)
            self._known(res, change.remote_id, attributes)
            self.writer.put(entry_for(res, desired, change.remote_id, etag, fps, org, attributes))
            return Outcome(change, "updated", change.remote_id)
        # no-op whose state entry is out of date (e.g. a new etag after an outside edit)
        self.writer.put(
            entry_for(res, desired, change.remote_id, change.remote_etag, fps, org, attributes)
        )
        return Outcome(change, "refreshed", change.remote_id)

    def _stale_entry(self, change: Change) -> bool:
        if change.action is not Action.NOOP or change.remote_id is None:
            return False
        res = self.plan.resources.get(change.key)
        entry = self.state.get(*change.key)
        if res is None or entry is None or change.remote_etag is None:
            return False
        remote = self.plan.remote.get((change.sandbox, change.remote_id))
        try:
            desired = self._desired(res)
        except PlanError:
            return False
        fresh = entry_for(
            res,
            desired,
            change.remote_id,
            change.remote_etag,
            dict(change.secret_fingerprints),
            self.plan.org,
            remote.attributes if remote is not None else entry.attributes,
        )
        return fresh != entry

    # -- the service ---------------------------------------------------------------------------

    def _create(
        self, kind: Kind, res: Resource, desired: Mapping[str, Any]
    ) -> tuple[str, str, dict[str, Any]]:
        """POST once; after an uncertain outcome, look before anything else.

        An answered 5xx means the service is done with the request: the look-up then tells
        whether it was made, and only if it was not is it posted again. A request that was sent
        but never answered (a timeout, a broken connection) may still be committed later: it is
        looked for a few times with backoff and, if still unseen, reported as uncertain and
        never posted again in this run; the next run adopts it if it appeared, or creates it.
        """
        sandbox = res.sandbox
        body = kind.body(doc.reveal(desired))
        for attempt in range(1, CREATE_ATTEMPTS + 1):
            try:
                id, etag = self.client.create_item(kind, sandbox, body)
            except UncertainWriteError as exc:
                found = self._look_for(kind, res, desired, answered=exc.status is not None)
                if found is not None:
                    return found.id, found.etag, {**kind.attributes_of(desired), **found.attributes}
                if exc.status is None:
                    raise UncertainWriteError(
                        f"the create of {res.sandbox}/{res.address} was sent but never answered, "
                        f"and no {kind.label} named {kind.identity(desired)!r} appeared in "
                        f"{len(UNANSWERED_CHECKS)} look-ups over {sum(UNANSWERED_CHECKS):g} s; it "
                        "may still be made, so it is not sent again: run apply again, which adopts "
                        "it if it appeared or creates it if it did not"
                    ) from None
                if attempt == CREATE_ATTEMPTS:
                    raise
                self.sleep(min(8.0, 0.2 * 2**attempt) * random.random())
                continue
            with self._lock:
                self._owned.add((sandbox, id))
            for op in kind.after_create(desired):
                etag = self.client.action(kind, sandbox, id, op)
            attributes = {**kind.attributes_of(desired), **self._after_create(kind, res, id)}
            if kind.update_by == "put":
                attributes["version"] = etag
            return id, etag, attributes
        raise AssertionError("unreachable")

    def _look_for(
        self, kind: Kind, res: Resource, desired: Mapping[str, Any], *, answered: bool
    ) -> Remote | None:
        """The item an uncertain create may have made: one look-up after an answer, a few
        with backoff after no answer (a slow commit shows up late)."""
        waits = (0.0,) if answered else UNANSWERED_CHECKS
        for wait in waits:
            if wait:
                self.sleep(wait)
            found = self._lookup(kind, res, desired)
            if found is not None:
                return found
        return None

    def _after_create(self, kind: Kind, res: Resource, id: str) -> dict[str, Any]:
        """Attributes other resources reference that only a read shows (none for most kinds)."""
        if not kind.read_after_create:
            return {}
        item = self.client.get_item(kind, res.sandbox, id)
        return dict(kind.read(item, res.sandbox).attributes) if item is not None else {}

    def _lookup(self, kind: Kind, res: Resource, desired: Mapping[str, Any]) -> Remote | None:
        sandbox = res.sandbox
        with self._lock:
            owned = set(self._owned)
        name = kind.identity(desired)
        found = [
            kind.read(item, sandbox)
            for item in self.client.list_items(kind, sandbox, name=name)
        ]
        found = [r for r in found if kind.matches(r, desired) and (sandbox, r.id) not in owned]
        if len(found) > 1:
            ids = ", ".join(sorted(r.id for r in found))
            raise PlanError(
                f"after an uncertain create, {len(found)} {kind.label}s named {name!r} exist "
                f"in sandbox {sandbox} ({ids}); import the right one with 'provisioner import "
                f"{res.address} ID' and delete the others"
            )
        if found:
            with self._lock:
                self._owned.add((sandbox, found[0].id))
            return found[0]
        return None

    def _update(
        self, kind: Kind, res: Resource, change: Change, desired: Mapping[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        """PATCH with If-Match; on 412 re-read, re-check, and try again with the fresh etag.

        A 412 also follows our own PATCH whose answer was lost (a 5xx after the write, retried
        with the old etag), and the re-sent PATCH can meet the same fate: so a few tries.
        """
        assert change.remote_id is not None
        entry = self.state.get(change.org, change.sandbox, change.moved_from or change.address)
        known = entry.secret_fingerprints if entry is not None else {}
        if change.action is Action.ADOPT:
            known = change.secret_fingerprints  # adopted: the declared secrets are assumed
        rotate = {f.path for f in change.fields if f.sensitive}
        want = comparable(desired, change.secret_fingerprints)
        current = self.plan.remote.get((res.sandbox, change.remote_id))
        if current is None:
            current = self._read(kind, res, change.remote_id)
        revealed = doc.reveal(desired)

        def pending(remote: Remote, *, secrets_sent: bool = False) -> list[dict[str, Any]]:
            # With secrets_sent, the secrets are taken to be the desired ones (after a PATCH
            # whose answer was lost they are, if the visible fields show that it landed).
            assumed = change.secret_fingerprints if secrets_sent else known
            have = with_fingerprints(
                remote.document,
                {k: v for k, v in assumed.items() if secrets_sent or k not in rotate},
            )
            fields = diff.compare(kind, have, want, secret=change.secret_fingerprints.keys())
            return json_patch(kind, fields, remote.document, revealed)

        if kind.update_by == "put":
            return self._put(kind, res, current, pending(current), revealed)
        ops, actions = _split_actions(kind, pending(current))
        if not ops:
            return self._act(kind, res, current.id, current.etag, actions), self._attrs(
                kind, desired, current
            )
        for attempt in range(1, UPDATE_ATTEMPTS + 1):
            try:
                etag = self.client.patch_item(kind, res.sandbox, current.id, current.etag, ops)
                etag = self._act(kind, res, current.id, etag, actions)
                return etag, self._attrs(kind, desired, current)
            except (PreconditionError, UncertainWriteError) as exc:
                fresh = self._read(kind, res, current.id)
                if isinstance(exc, UncertainWriteError) and fresh.etag != current.etag:
                    left, late = _split_actions(kind, pending(fresh, secrets_sent=True))
                    if not left:  # the PATCH did land (its answer was lost)
                        etag = self._act(kind, res, fresh.id, fresh.etag, late)
                        return etag, self._attrs(kind, desired, fresh)
                if attempt == UPDATE_ATTEMPTS:
                    raise
                # Someone else's change (or ours, not shown): re-check and send again with the
                # fresh etag; If-Match keeps that safe.
                current = fresh
            ops, actions = _split_actions(kind, pending(current))
            if not ops:
                etag = self._act(kind, res, current.id, current.etag, actions)
                return etag, self._attrs(kind, desired, current)
        raise AssertionError("unreachable")

    def _attrs(self, kind: Kind, desired: Mapping[str, Any], remote: Remote) -> dict[str, Any]:
        return {**remote.attributes, **kind.attributes_of(desired)}

    def _act(self, kind: Kind, res: Resource, id: str, etag: str, actions: list[str]) -> str:
        for op in actions:
            etag = self.client.action(kind, res.sandbox, id, op)
        return etag

    def _put(
        self,
        kind: Kind,
        res: Resource,
        current: Remote,
        ops: list[dict[str, Any]],
        revealed: Mapping[str, Any],
    ) -> tuple[str, dict[str, Any]]:
        """A whole new version (Data Prep has no etags and no PATCH)."""
        if not ops:
            return current.etag, dict(current.attributes)
        answer = self.client.put_item(kind, res.sandbox, current.id, kind.body(revealed))
        version = str(answer.get("version", ""))
        if not version:
            raise ApiError(f"Data Prep answered the PUT of {kind.label} {current.id} without a version")
        return version, {**current.attributes, "version": version}

    def _read(self, kind: Kind, res: Resource, id: str) -> Remote:
        item = self.client.get_item(kind, res.sandbox, id)
        if item is None:
            raise ApiError(
                f"{kind.label} {id} ({res.sandbox}/{res.address}) was deleted while being "
                "updated; run plan again"
            )
        return kind.read(item, res.sandbox)


def _split_actions(kind: Kind, ops: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """The JSON Patch operations, less those the kind makes through an action (a flow's
    enable/disable), and those actions."""
    if not kind.actions:
        return ops, []
    pointers = {doc.pointer(path): table for path, table in kind.actions.items()}
    patch: list[dict[str, Any]] = []
    actions: list[str] = []
    for op in ops:
        table = pointers.get(op["path"])
        if table is None:
            patch.append(op)
        elif op.get("value") in table:
            actions.append(table[op["value"]])
    return patch, actions


def _break_cycles(needs: dict[Step, set[Step]]) -> None:
    """Drop the wait edges that would close a cycle (possible only between a delete and an apply
    that a plan never orders both ways); an acyclic graph is left as it is."""
    state: dict[Step, int] = {}

    def visit(step: Step) -> None:
        state[step] = 1
        for dep in sorted(needs[step]):
            if state.get(dep) == 1:
                needs[step].discard(dep)
            elif dep not in state:
                visit(dep)
        state[step] = 2

    for step in sorted(needs):
        if step not in state:
            visit(step)
