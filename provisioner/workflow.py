"""The steps plan, apply, refresh and import share: manifests + state + listing -> Plan."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from provisioner import lookups, planner
from provisioner.gcpause import gc_paused
from provisioner.listing import Scope, Wanted, fetch_remote
from provisioner.manifest import Manifests, load
from provisioner.manifest.parsing import Parsing
from provisioner.model import Resource
from provisioner.plan import Plan
from provisioner.runtime import Runtime, default_sandbox
from provisioner.state import State

log = logging.getLogger("provisioner.planner")


def load_manifests(
    paths: Sequence[str], sandbox: str | None, ahead: Parsing | None = None
) -> Manifests:
    with gc_paused():
        return load(
            list(paths),
            sandbox_override=sandbox,
            default_sandbox=default_sandbox(),
            env_sandbox=os.environ.get("AEP_SANDBOX") or None,
            ahead=ahead,
        )


def make_plan(
    runtime: Runtime,
    manifests: Manifests,
    state: State,
    sandbox: str | None,
    *,
    allow_delete: bool = False,
) -> Plan:
    sandboxes = {r.sandbox for r in manifests.resources}
    if sandbox:
        sandboxes.add(sandbox)
    org = runtime.settings.org_id
    wanted = kinds_in_use(manifests.resources, state, org, sandboxes)
    scope = reads_for(manifests.resources, state, org, sandboxes, wanted)
    with gc_paused():
        # Worked out while the reads started ahead are still on their way; from here on, each
        # answer's items are compared in the lane that read them.
        prepared = planner.Prepared(org, manifests.resources, state, manifests.moved)
        if runtime.ahead is not None:
            runtime.ahead.compare_as_read(prepared.compare)
        reader = runtime.ahead.reader(sandboxes) if runtime.ahead is not None else None
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="lookups") as pool:
            # Catalog look-ups (datasets) go out beside the Flow Service reads.
            found = pool.submit(lookups.find, runtime.client, manifests.resources)
            try:
                remote = fetch_remote(
                    runtime.client,
                    sandboxes,
                    wanted,
                    scope=scope,
                    reader=reader,
                    on_read=prepared.compare,
                )
            except BaseException:
                found.cancel()
                raise
            looked_up = found.result()
        plan = planner.compute(
            org=org,
            resources=manifests.resources,
            state=state,
            remote=remote,
            sandboxes=sandboxes,
            manifest_digest=manifests.digest,
            lookups=looked_up,
            moved=manifests.moved,
            allow_delete=allow_delete,
            prepared=prepared,
        )
    log.debug("%d owned resources were compared as their answers arrived", prepared.used)
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


def reads_for(
    resources: Sequence[Resource],
    state: State,
    org: str,
    sandboxes: set[str],
    kind_names: frozenset[str],
) -> Scope:
    """What the plan must see remotely, per sandbox and kind: the owned ids (state) and the
    declared names (manifests: adoption candidates, and other items bearing an owned name)."""
    from provisioner import kinds

    scope: Scope = {(s, k): Wanted() for s in sandboxes for k in kind_names}
    for res in resources:
        wanted = scope.get((res.sandbox, res.kind))
        if wanted is not None and kinds.get(res.kind).adopt_by_name and res.name:
            wanted.names.add(res.name)
    for entry in state.entries.values():
        if entry.org != org:
            continue
        wanted = scope.get((entry.sandbox, entry.kind))
        if wanted is None:
            continue
        wanted.ids.add(entry.id)
        if entry.name not in wanted.names:
            wanted.early_ids.add(entry.id)
    return scope


def kinds_in_use(
    resources: Sequence[Resource], state: State, org: str, sandboxes: set[str]
) -> frozenset[str]:
    """The managed kinds a plan must list: those declared and those the state holds there."""
    from provisioner import kinds

    names = {r.kind for r in resources}
    names |= {e.kind for e in state.entries.values() if e.org == org and e.sandbox in sandboxes}
    return frozenset(n for n in names if kinds.get(n).managed)
