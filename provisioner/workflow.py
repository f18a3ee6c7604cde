"""The steps plan, apply, refresh and import share: manifests + state + listing -> Plan."""

from __future__ import annotations

import gc
import os
from collections.abc import Sequence
from dataclasses import replace

from provisioner import lookups
from provisioner import plan as planning
from provisioner.manifest import Manifests, load
from provisioner.model import Resource
from provisioner.runtime import Runtime, default_sandbox, fetch_remote
from provisioner.state import State


def load_manifests(paths: Sequence[str], sandbox: str | None) -> Manifests:
    # Parsing builds many small acyclic objects; the cyclic GC would walk them again and again
    # as they grow (a fifth of the load at thousands of connections), so it waits until the end.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return load(
            list(paths),
            sandbox_override=sandbox,
            default_sandbox=default_sandbox(),
            env_sandbox=os.environ.get("AEP_SANDBOX") or None,
        )
    finally:
        if enabled:
            gc.enable()


def make_plan(
    runtime: Runtime,
    manifests: Manifests,
    state: State,
    sandbox: str | None,
    *,
    allow_delete: bool = False,
) -> planning.Plan:
    sandboxes = {r.sandbox for r in manifests.resources}
    if sandbox:
        sandboxes.add(sandbox)
    org = runtime.settings.org_id
    wanted = kinds_in_use(manifests.resources, state, org, sandboxes)
    remote = runtime.ahead.take(sandboxes, wanted) if runtime.ahead is not None else None
    if remote is None:
        remote = fetch_remote(runtime.client, sandboxes, wanted)
    plan = planning.compute(
        org=org,
        resources=manifests.resources,
        state=state,
        remote=remote,
        sandboxes=sandboxes,
        manifest_digest=manifests.digest,
        lookups=lookups.find(runtime.client, manifests.resources),
        moved=manifests.moved,
        allow_delete=allow_delete,
    )
    left = undeclared_sandboxes(state, org, sandboxes)
    return replace(plan, warnings=plan.warnings + tuple(left)) if left else plan


def undeclared_sandboxes(state: State, org: str, sandboxes: set[str]) -> list[str]:
    """A warning per sandbox the state holds entries of that no given manifest declares: the
    plan leaves them alone, and says so (and how to deal with them)."""
    held: dict[str, int] = {}
    for e in state.entries.values():
        if e.org == org and e.sandbox not in sandboxes:
            held[e.sandbox] = held.get(e.sandbox, 0) + 1
    return [
        f"the state holds {n} resource{'s' if n != 1 else ''} in sandbox {name}, which no "
        f"given manifest declares, so this plan leaves {'them' if n != 1 else 'it'} alone: "
        f"plan that sandbox's manifests too, or run 'provisioner destroy --sandbox {name}' "
        f"to delete {'them' if n != 1 else 'it'} ('provisioner state rm' stops managing one)"
        for name, n in sorted(held.items())
    ]


def kinds_in_use(
    resources: Sequence[Resource], state: State, org: str, sandboxes: set[str]
) -> frozenset[str]:
    """The managed kinds a plan must list: those declared and those the state holds there."""
    from provisioner import kinds

    names = {r.kind for r in resources}
    names |= {e.kind for e in state.entries.values() if e.org == org and e.sandbox in sandboxes}
    return frozenset(n for n in names if kinds.get(n).managed)
