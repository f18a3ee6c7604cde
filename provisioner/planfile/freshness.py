"""Staleness checks of a saved plan, and turning it back into a Plan that apply can run.

`apply FILE` refuses the plan when anything it relied on moved: the state (lineage and serial),
the manifests (their digest and what each resolves to), the remote connections (their etags),
and the secrets in the environment (their salted fingerprints, compared per parameter, never by
value).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from provisioner import kinds
from provisioner.errors import PlanError
from provisioner.model import Remote, Resource
from provisioner.plan import Action, Plan
from provisioner.planfile.codec import SavedPlan, _public_view, _where
from provisioner.planner import fingerprints
from provisioner.state import State


def _state_cause(
    saved: SavedPlan, lineage: str, digests: Mapping[str, str], state_path: str
) -> str | None:
    """The state moved where the plan looked: its lineage, or the entries of a planned sandbox.
    An apply in another sandbox (a serial bump elsewhere) does not make this plan stale."""
    plan = saved.plan
    if lineage != plan.lineage:
        return (
            f"the state changed: {state_path} has lineage {lineage}, but the plan was made "
            f"against lineage {plan.lineage} (a different state file)"
        )
    moved = sorted(s for s in plan.sandboxes if digests.get(s) != plan.state_digests.get(s))
    if moved:
        return (
            f"the state changed: what {state_path} records in sandbox{'es' if len(moved) > 1 else ''} "
            f"{', '.join(moved)} differs from plan time (another run wrote it since)"
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
            fields = _leaf_names(view, now) or fields
            moved.append(f"{where} ({', '.join(fields)})")
    if moved:
        return (
            "the manifests resolve differently (an ${env:} value changed since the plan): "
            + "; ".join(moved)
        )
    return None


def _leaf_names(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """The dotted paths of the leaves that differ between two public documents."""
    from provisioner import document as doc

    a = {doc.dotted(p): v for p, v in doc.leaves(before)}
    b = {doc.dotted(p): v for p, v in doc.leaves(after)}
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))


def _remote_cause(
    saved: SavedPlan, remote: Mapping[str, list[Remote]], owned: set[tuple[str, str]]
) -> str | None:
    by_id = {(s, c.id): c for s, conns in remote.items() for c in conns}
    moved: list[str] = []
    for c in saved.plan.changes:
        where = _where(c.sandbox, c.address)
        if c.remote_id is not None and not (c.drift is not None and c.drift.deleted):
            conn = by_id.get((c.sandbox, c.remote_id))
            if conn is None:
                moved.append(f"{where} ({c.label} {c.remote_id} was deleted)")
            elif conn.etag != c.remote_etag:
                moved.append(f"{where} (etag {c.remote_etag} is now {conn.etag})")
        elif c.action in (Action.CREATE, Action.RECREATE):
            kind = kinds.get(c.kind)
            clash = sorted(
                item.id
                for item in remote.get(c.sandbox, [])
                if kind.adopt_by_name and item.kind == c.kind and item.name == c.name
                and (c.sandbox, item.id) not in owned
            )
            if clash:
                moved.append(
                    f"{where} (a {kind.label} named {c.name!r} now exists: {', '.join(clash)})"
                )
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
                moved.append(f"{where} {param}")
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
    digests: Mapping[str, str],
    salt: str,
    owned: set[tuple[str, str]],
    manifest_digest: str,
    resources: Iterable[Resource],
    remote: Mapping[str, list[Remote]],
) -> None:
    """Raise PlanError naming every reason the saved plan no longer holds; return if it holds."""
    by_where = {_where(r.sandbox, r.address): r for r in resources}
    causes = [
        cause
        for cause in (
            _state_cause(saved, lineage, digests, state_path),
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


def continued_state(saved: SavedPlan, state: State) -> State:
    """The state to apply to: the plan's own lineage and salt when no state existed on either
    side (so that the fresh plan computes the same fingerprints), else `state`."""
    plan = saved.plan
    if state.serial == 0 and not state.entries and plan.serial == 0 and saved.salt:
        return State(lineage=plan.lineage, serial=0, salt=saved.salt)
    return state


def check_target(saved: SavedPlan, *, path: str, org: str, endpoint: str) -> None:
    """PlanError unless the plan is applied to the org and endpoint it was made against."""
    plan = saved.plan
    if org != plan.org:
        raise PlanError(
            f"the saved plan {path} was made for org {plan.org}, but the credentials are for "
            f"org {org}; apply it with the credentials it was planned with"
        )
    if endpoint != saved.endpoint:
        raise PlanError(
            f"the saved plan {path} was made against {saved.endpoint}, but this apply would "
            f"run against {endpoint}; apply it where it was planned (AEP_PLATFORM_URL, "
            "--emulator), or make a new plan there"
        )


def _canonical(plan: Plan) -> list[dict[str, Any]]:
    """The changes in their one data form (plan_data), without the plan's --allow-delete
    (compared on its own below)."""
    from provisioner.plan_data import change_data

    return [change_data(c) for c in plan.changes]


def _differences(saved: Plan, fresh: Plan) -> list[str]:
    """Where the fresh plan differs from the saved one (by address), as short phrases."""
    old = {(c["sandbox"], c["address"]): c for c in _canonical(saved)}
    new = {(c["sandbox"], c["address"]): c for c in _canonical(fresh)}
    out: list[str] = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        where = "/".join(key)
        if a == b:
            continue
        if a is None or b is None:
            out.append(f"{where} ({'not in the saved plan' if a is None else 'no longer planned'})")
            continue
        keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        out.append(f"{where} ({', '.join(keys)})")
    if tuple(saved.sandboxes) != tuple(fresh.sandboxes):
        out.append(
            f"the sandboxes ({', '.join(saved.sandboxes)} in the file, "
            f"{', '.join(fresh.sandboxes) or 'none'} now)"
        )
    if saved.allow_delete != fresh.allow_delete:
        out.append("--allow-delete")
    return out


def prepare(
    saved: SavedPlan,
    *,
    path: str,
    state_path: str,
    state: State,
    fresh: Plan,
    manifests_digest: str,
    resources: Iterable[Resource],
    read: Callable[[str, str, list[str]], list[Remote]] | None = None,
) -> Plan:
    """The plan to execute: `fresh` (made now against the live state and remote), provided that
    nothing the saved plan relied on moved and that it is the saved plan, change for change.

    `read(sandbox, kind, ids)` reads the items the saved plan names that the fresh plan's
    reads did not cover (ids no longer owned, or renamed), so that a cause is named exactly.

    The file is never trusted for what apply may touch: what runs is always the fresh plan, and
    it runs only if it equals what was reviewed. PlanError otherwise, naming every reason.
    """
    remote: dict[str, list[Remote]] = {}
    for (sandbox, _id), item in sorted(fresh.remote.items()):
        remote.setdefault(sandbox, []).append(item)
    missing: dict[tuple[str, str], list[str]] = {}
    for c in saved.plan.changes:
        if c.remote_id is not None and (c.sandbox, c.remote_id) not in fresh.remote:
            missing.setdefault((c.sandbox, c.kind), []).append(c.remote_id)
    if read is not None:
        for (sandbox, kind), ids in sorted(missing.items()):
            remote.setdefault(sandbox, []).extend(read(sandbox, kind, sorted(set(ids))))
    owned = {(e.sandbox, e.id) for e in state.entries.values() if e.org == fresh.org}
    check_fresh(
        saved,
        path=path,
        state_path=state_path,
        lineage=state.lineage,
        digests=fresh.state_digests,
        salt=state.salt,
        owned=owned,
        manifest_digest=manifests_digest,
        resources=resources,
        remote=remote,
    )
    differs = _differences(saved.plan, fresh)
    if differs:
        raise PlanError(
            f"the saved plan {path} does not match a fresh plan of the same manifests, state "
            "and Flow Service, so nothing was applied (was the file edited?): it differs in "
            + "; ".join(differs)
            + f". Make and review a new plan with 'provisioner plan --out {path}'."
        )
    return fresh
