"""The steps plan, apply, refresh and import share: manifests + state + listing -> Plan."""

from __future__ import annotations

import gc
from collections.abc import Sequence

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
        return load(list(paths), sandbox_override=sandbox, default_sandbox=default_sandbox())
    finally:
        if enabled:
            gc.enable()


def make_plan(
    runtime: Runtime, manifests: Manifests, state: State, sandbox: str | None
) -> planning.Plan:
    sandboxes = {r.sandbox for r in manifests.resources}
    if sandbox:
        sandboxes.add(sandbox)
    org = runtime.settings.org_id
    wanted = kinds_in_use(manifests.resources, state, org, sandboxes)
    remote = runtime.ahead.take(sandboxes, wanted) if runtime.ahead is not None else None
    if remote is None:
        remote = fetch_remote(runtime.client, sandboxes, wanted)
    return planning.compute(
        org=org,
        resources=manifests.resources,
        state=state,
        remote=remote,
        sandboxes=sandboxes,
        manifest_digest=manifests.digest,
        lookups=lookups.find(runtime.client, manifests.resources),
    )


def kinds_in_use(
    resources: Sequence[Resource], state: State, org: str, sandboxes: set[str]
) -> frozenset[str]:
    """The managed kinds a plan must list: those declared and those the state holds there."""
    from provisioner import kinds

    names = {r.kind for r in resources}
    names |= {e.kind for e in state.entries.values() if e.org == org and e.sandbox in sandboxes}
    return frozenset(n for n in names if kinds.get(n).managed)
