"""The steps plan, apply, refresh and import share: manifests + state + listing -> Plan."""

from __future__ import annotations

import gc
from collections.abc import Sequence

from provisioner import plan as planning
from provisioner.manifest import Manifests, load
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
    remote = runtime.ahead.take(sandboxes) if runtime.ahead is not None else None
    if remote is None:
        remote = fetch_remote(runtime.client, sandboxes)
    return planning.compute(
        org=runtime.settings.org_id,
        resources=manifests.resources,
        state=state,
        remote=remote,
        sandboxes=sandboxes,
        manifest_digest=manifests.digest,
    )
