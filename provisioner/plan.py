"""The plan as data: one Change per address, computed from manifest, state and remote listing.

The plan never holds a secret value: desired secrets appear only as fingerprints, and the
Resource records (which carry Secrets) stay beside the plan in `Plan.resources`, which is
never serialised. Rendering (render/) and executing (apply.py) both read this data.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypedDict

from provisioner import diff, kinds
from provisioner.errors import PlanError
from provisioner.model import RemoteConnection, Resource
from provisioner.secrets import Secret
from provisioner.state import State, StateEntry, fingerprint


class Action(enum.Enum):
    CREATE = "create"
    ADOPT = "adopt"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"
    RECREATE = "recreate"
    NOOP = "no-op"


@dataclass(frozen=True)
class Drift:
    """A change made outside provisioner, seen by comparing the state with the remote side."""

    deleted: bool
    fields: tuple[diff.FieldChange, ...] = ()
    updated_by: str | None = None
    updated_at: int | None = None  # epoch milliseconds, as Flow Service gives it


@dataclass(frozen=True)
class Change:
    action: Action
    org: str
    sandbox: str
    address: str
    kind: str
    name: str
    fields: tuple[diff.FieldChange, ...] = ()
    remote_id: str | None = None
    remote_etag: str | None = None
    also_update: bool = False  # adopt that must also update
    protect: bool = False
    drift: Drift | None = None
    secret_fingerprints: Mapping[str, str] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.org, self.sandbox, self.address)

    @property
    def is_change(self) -> bool:
        return self.action is not Action.NOOP


@dataclass(frozen=True)
class Plan:
    org: str
    changes: tuple[Change, ...]
    lineage: str
    serial: int
    manifest_digest: str
    sandboxes: tuple[str, ...]
    resources: Mapping[tuple[str, str, str], Resource] = field(default_factory=dict, repr=False)
    remote: Mapping[tuple[str, str], RemoteConnection] = field(default_factory=dict, repr=False)

    @property
    def has_changes(self) -> bool:
        return any(c.is_change for c in self.changes)

    def counts(self) -> dict[str, int]:
        """Terraform-style totals: a replace counts as one create and one delete."""
        n = {"create": 0, "update": 0, "delete": 0, "adopt": 0}
        for c in self.changes:
            if c.action in (Action.CREATE, Action.RECREATE):
                n["create"] += 1
            elif c.action is Action.UPDATE:
                n["update"] += 1
            elif c.action is Action.DELETE:
                n["delete"] += 1
            elif c.action is Action.REPLACE:
                n["create"] += 1
                n["delete"] += 1
            elif c.action is Action.ADOPT:
                n["adopt"] += 1
                if c.also_update:
                    n["update"] += 1
        return n

    def summary_line(self) -> str:
        n = self.counts()
        return (
            f"Plan: {n['create']} to create, {n['update']} to update, "
            f"{n['delete']} to delete, {n['adopt']} to adopt."
        )


def fingerprints(resource: Resource, salt: str) -> dict[str, str]:
    """Salted fingerprints of the resource's secret params: how a rotation is seen."""
    return {
        k: fingerprint(salt, v.reveal())
        for k, v in resource.params.items()
        if isinstance(v, Secret)
    }


def compute(
    *,
    org: str,
    resources: Iterable[Resource],
    state: State,
    remote: Mapping[str, list[RemoteConnection]],
    sandboxes: Iterable[str],
    manifest_digest: str,
) -> Plan:
    """Compare desired, owned and existing connections; raise PlanError for what cannot be planned.

    `remote` maps each sandbox in scope to its full listing (all kinds' connections).
    """
    scope = sorted(set(sandboxes))
    declared: dict[tuple[str, str, str], Resource] = {}
    for r in resources:
        declared[(org, r.sandbox, r.address)] = r

    by_id: dict[tuple[str, str], RemoteConnection] = {}
    for sandbox, conns in remote.items():
        for conn in conns:
            by_id[(sandbox, conn.id)] = conn
    owned_ids = {(e.sandbox, e.id) for e in state.entries.values() if e.org == org}

    problems: list[str] = []
    _check_unique_names(declared.values(), problems)

    changes: list[Change] = []
    for key in sorted(declared):
        res = declared[key]
        entry = state.get(*key)
        fps = fingerprints(res, state.salt)
        if entry is not None:
            changes.append(
                _plan_owned(org, res, entry, by_id.get((res.sandbox, entry.id)), fps, problems)
            )
        else:
            changes.append(
                _plan_new(org, res, remote.get(res.sandbox, []), owned_ids, fps, problems)
            )

    for key, entry in sorted(state.entries.items()):
        if entry.org != org or entry.sandbox not in scope or key in declared:
            continue
        if entry.protect:
            problems.append(
                f"{entry.sandbox}/{entry.address} is protected (protect: true) and no longer "
                "declared, so it would be deleted; declare it again, or set protect: false and "
                "apply before removing it, or 'provisioner state rm' it to stop managing it"
            )
            continue
        changes.append(delete_change(entry, by_id.get((entry.sandbox, entry.id))))

    if problems:
        raise PlanError(_join(problems))
    changes.sort(key=lambda c: (c.sandbox, c.address))
    return Plan(
        org=org,
        changes=tuple(changes),
        lineage=state.lineage,
        serial=state.serial,
        manifest_digest=manifest_digest,
        sandboxes=tuple(scope),
        resources=declared,
        remote=by_id,
    )


def delete_change(
    entry: StateEntry, remote: RemoteConnection | None, *, listed: bool = True
) -> Change:
    """The deletion of an owned connection. `remote` is what the listing found of it (None:
    already gone); with listed=False nothing was listed and the state's record stands alone."""
    return Change(
        action=Action.DELETE,
        org=entry.org,
        sandbox=entry.sandbox,
        address=entry.address,
        kind=entry.type,
        name=entry.name,
        fields=diff.removed_fields(diff.entry_view(entry)),
        remote_id=entry.id,
        remote_etag=remote.etag if remote else entry.etag,
        protect=entry.protect,
        drift=Drift(deleted=True) if listed and remote is None else None,
    )


def _join(problems: list[str]) -> str:
    if len(problems) == 1:
        return problems[0] + "."
    return f"{len(problems)} problems prevent a plan:\n" + "\n".join(f"  - {p}" for p in problems)


def _check_unique_names(resources: Iterable[Resource], problems: list[str]) -> None:
    seen: dict[tuple[str | None, str, str], list[str]] = defaultdict(list)
    for r in resources:
        seen[(r.sandbox, r.kind, r.name)].append(r.address)
    for (sandbox, _kind, name), addresses in sorted(seen.items(), key=lambda kv: str(kv[0])):
        if len(addresses) > 1:
            problems.append(
                f"{' and '.join(sorted(addresses))} all declare the name {name!r} in sandbox "
                f"{sandbox}; names must be unique per sandbox so that a lost state can be "
                "recovered by name; give each its own name"
            )


class _Base(TypedDict):
    """The fields every Change of one address shares."""

    org: str
    sandbox: str
    address: str
    kind: str
    name: str


def _plan_owned(
    org: str,
    res: Resource,
    entry: StateEntry,
    conn: RemoteConnection | None,
    fps: dict[str, str],
    problems: list[str],
) -> Change:
    sandbox = res.sandbox
    base = _Base(org=org, sandbox=sandbox, address=res.address, kind=res.kind, name=res.name)
    desired = diff.desired_view(res, fps)
    if conn is None:
        return Change(
            action=Action.RECREATE,
            fields=diff.added_fields(desired),
            protect=res.protect,
            drift=Drift(deleted=True),
            secret_fingerprints=fps,
            **base,
        )
    drift_fields = diff.changes(diff.entry_view(entry, secrets=False), diff.remote_view(conn))
    drift = (
        Drift(
            deleted=False,
            fields=drift_fields,
            updated_by=conn.updated_by,
            updated_at=conn.updated_at,
        )
        if drift_fields
        else None
    )
    if res.kind != entry.type or res.auth_spec != conn.auth_spec:
        if res.protect or entry.protect:
            problems.append(
                f"{sandbox}/{res.address} is protected (protect: true), but changing its "
                f"{'type' if res.kind != entry.type else 'auth.specName'} needs a replace "
                "(delete, then create); set protect: false and apply first if you mean it"
            )
        return Change(
            action=Action.REPLACE,
            fields=diff.changes(diff.current_view(conn, entry), desired, replace=True),
            remote_id=conn.id,
            remote_etag=conn.etag,
            protect=res.protect,
            drift=drift,
            secret_fingerprints=fps,
            **base,
        )
    fields = diff.changes(diff.current_view(conn, entry), desired)
    return Change(
        action=Action.UPDATE if fields else Action.NOOP,
        fields=fields,
        remote_id=conn.id,
        remote_etag=conn.etag,
        protect=res.protect,
        drift=drift,
        secret_fingerprints=fps,
        **base,
    )


def _plan_new(
    org: str,
    res: Resource,
    listing: list[RemoteConnection],
    owned_ids: set[tuple[str, str]],
    fps: dict[str, str],
    problems: list[str],
) -> Change:
    sandbox = res.sandbox
    kind = kinds.get(res.kind)
    base = _Base(org=org, sandbox=sandbox, address=res.address, kind=res.kind, name=res.name)
    candidates = [
        c
        for c in listing
        if c.name == res.name and c.spec_id == kind.spec_id and (sandbox, c.id) not in owned_ids
    ]
    desired = diff.desired_view(res, fps)
    if not candidates:
        return Change(
            action=Action.CREATE,
            fields=diff.added_fields(desired),
            protect=res.protect,
            secret_fingerprints=fps,
            **base,
        )
    if len(candidates) > 1:
        ids = ", ".join(sorted(c.id for c in candidates))
        problems.append(
            f"{sandbox}/{res.address}: {len(candidates)} connections named {res.name!r} already "
            f"exist in sandbox {sandbox} ({ids}); choose one with "
            f"'provisioner import {res.address} CONNECTION_ID'"
        )
        return Change(action=Action.NOOP, **base)
    conn = candidates[0]
    if conn.auth_spec != res.auth_spec:
        problems.append(
            f"{sandbox}/{res.address}: the existing connection {conn.id} named {res.name!r} uses "
            f"auth.specName {conn.auth_spec!r}, not {res.auth_spec!r}; rename one of them, or "
            "delete the existing connection"
        )
        return Change(action=Action.NOOP, **base)
    # Adopting: secrets cannot be read back, so the declared ones are assumed to be in place.
    fields = diff.changes(diff.remote_view(conn, secrets=fps), desired)
    return Change(
        action=Action.ADOPT,
        fields=fields,
        remote_id=conn.id,
        remote_etag=conn.etag,
        also_update=bool(fields),
        protect=res.protect,
        secret_fingerprints=fps,
        **base,
    )
