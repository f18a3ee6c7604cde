"""Staleness checks of a saved plan, and turning it back into a Plan that apply can run.

`apply FILE` refuses the plan when anything it relied on moved: the state (lineage and serial),
the manifests (their digest and what each resolves to), the remote connections (their etags),
and the secrets in the environment (their salted fingerprints, compared per parameter, never by
value).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from provisioner import kinds
from provisioner.errors import PlanError
from provisioner.model import RemoteConnection, Resource
from provisioner.plan import Action, Plan, fingerprints
from provisioner.planfile.codec import SavedPlan, _public_view, _where
from provisioner.state import State


def _state_cause(saved: SavedPlan, lineage: str, serial: int, state_path: str) -> str | None:
    plan = saved.plan
    if lineage != plan.lineage:
        return (
            f"the state changed: {state_path} has lineage {lineage}, but the plan was made "
            f"against lineage {plan.lineage} (a different state file)"
        )
    if serial != plan.serial:
        return (
            f"the state changed: {state_path} is at serial {serial}, but the plan was made at "
            f"serial {plan.serial} (another run wrote it since)"
        )
    return None


def _manifest_cause(saved: SavedPlan, digest: str, resources: Mapping[str, Resource]) -> str | None:
    if digest != saved.plan.manifest_digest:
        return "the manifests changed: their digest differs from the one the plan was made from"
    moved = []
    for where, view in sorted(saved.desired.items()):
        res = resources.get(where)
        now = _public_view(res) if res is not None else None
        if now != dict(view):
            if now is None:
                moved.append(f"{where} (no longer declared)")
                continue
            fields = sorted(k for k in set(view) | set(now) if view.get(k) != now.get(k))
            moved.append(f"{where} ({', '.join(fields)})")
    if moved:
        return (
            "the manifests resolve differently (an ${env:} value changed since the plan): "
            + "; ".join(moved)
        )
    return None


def _remote_cause(
    saved: SavedPlan, remote: Mapping[str, list[RemoteConnection]], owned: set[tuple[str, str]]
) -> str | None:
    by_id = {(s, c.id): c for s, conns in remote.items() for c in conns}
    moved: list[str] = []
    for c in saved.plan.changes:
        where = _where(c.sandbox, c.address)
        if c.remote_id is not None and not (c.drift is not None and c.drift.deleted):
            conn = by_id.get((c.sandbox, c.remote_id))
            if conn is None:
                moved.append(f"{where} (connection {c.remote_id} was deleted)")
            elif conn.etag != c.remote_etag:
                moved.append(f"{where} (etag {c.remote_etag} is now {conn.etag})")
        elif c.action in (Action.CREATE, Action.RECREATE):
            kind = kinds.get(c.kind)
            clash = sorted(
                conn.id
                for conn in remote.get(c.sandbox, [])
                if conn.name == c.name and conn.spec_id == kind.spec_id
                and (c.sandbox, conn.id) not in owned
            )
            if clash:
                moved.append(f"{where} (a connection named {c.name!r} now exists: {', '.join(clash)})")
    if moved:
        return "remote connections changed since the plan: " + "; ".join(moved)
    return None


def _secret_cause(saved: SavedPlan, resources: Mapping[str, Resource], salt: str) -> str | None:
    moved: list[str] = []
    for c in saved.plan.changes:
        where = _where(c.sandbox, c.address)
        res = resources.get(where)
        if res is None:
            continue
        now = fingerprints(res, salt)
        for param in sorted(set(now) | set(c.secret_fingerprints)):
            if now.get(param) != c.secret_fingerprints.get(param):
                moved.append(f"{where} auth.params.{param}")
    if moved:
        return (
            "a secret in the environment differs from plan time: " + ", ".join(moved)
        )
    return None


def check_fresh(
    saved: SavedPlan,
    *,
    path: str,
    state_path: str,
    lineage: str,
    serial: int,
    salt: str,
    owned: set[tuple[str, str]],
    manifest_digest: str,
    resources: Iterable[Resource],
    remote: Mapping[str, list[RemoteConnection]],
) -> None:
    """Raise PlanError naming every reason the saved plan no longer holds; return if it holds."""
    by_where = {_where(r.sandbox, r.address): r for r in resources}
    causes = [
        cause
        for cause in (
            _state_cause(saved, lineage, serial, state_path),
            _manifest_cause(saved, manifest_digest, by_where),
            _remote_cause(saved, remote, owned),
            _secret_cause(saved, by_where, salt),
        )
        if cause is not None
    ]
    if causes:
        raise PlanError(
            f"the saved plan {path} is stale, so nothing was applied:\n"
            + "\n".join(f"  - {c}" for c in causes)
            + f"\nMake and review a new plan with 'provisioner plan --out {path}'."
        )


def rebuild(
    saved: SavedPlan, resources: Iterable[Resource], remote: Mapping[str, list[RemoteConnection]]
) -> Plan:
    """The saved plan with today's resources (for their secrets) and listing, ready to execute."""
    plan = saved.plan
    declared = {(plan.org, r.sandbox, r.address): r for r in resources}
    needed = {c.key for c in plan.changes}
    by_id = {(s, c.id): c for s, conns in remote.items() for c in conns}
    return Plan(
        org=plan.org,
        changes=plan.changes,
        lineage=plan.lineage,
        serial=plan.serial,
        manifest_digest=plan.manifest_digest,
        sandboxes=plan.sandboxes,
        resources={k: v for k, v in declared.items() if k in needed},
        remote=by_id,
    )


def prepare(
    saved: SavedPlan,
    *,
    path: str,
    state_path: str,
    state: State,
    org: str,
    client: Any,
    manifests_digest: str,
    resources: Iterable[Resource],
) -> tuple[State, Plan]:
    """Check a loaded saved plan against today's state, manifests, listing and secrets.

    Returns the state to apply to (the plan's own lineage and salt when no state existed on
    either side) and the Plan to execute; PlanError if it is stale or meant for another org.
    """
    from provisioner.runtime import fetch_remote

    plan = saved.plan
    if org != plan.org:
        raise PlanError(
            f"the saved plan {path} was made for org {plan.org}, but the credentials are for "
            f"org {org}; apply it with the credentials it was planned with"
        )
    if state.serial == 0 and not state.entries and plan.serial == 0 and saved.salt:
        # Neither side had a state file: continue the plan's fresh lineage and salt.
        state = State(lineage=plan.lineage, serial=0, salt=saved.salt)
    resources = list(resources)
    remote = fetch_remote(client, plan.sandboxes)
    owned = {(e.sandbox, e.id) for e in state.entries.values() if e.org == org}
    check_fresh(
        saved,
        path=path,
        state_path=state_path,
        lineage=state.lineage,
        serial=state.serial,
        salt=state.salt,
        owned=owned,
        manifest_digest=manifests_digest,
        resources=resources,
        remote=remote,
    )
    return state, rebuild(saved, resources, remote)
