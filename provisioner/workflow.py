"""The steps plan, apply, refresh and import share: manifests + state + listing -> Plan."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from provisioner import plan as planning
from provisioner.manifest import Manifests, load
from provisioner.runtime import Runtime, default_sandbox, fetch_remote
from provisioner.state import State


@dataclass(frozen=True)
class Planned:
    plan: planning.Plan
    manifests: Manifests


def load_manifests(paths: Sequence[str], sandbox: str | None) -> Manifests:
    return load(list(paths), sandbox_override=sandbox, default_sandbox=default_sandbox())


def make_plan(
    runtime: Runtime, manifests: Manifests, state: State, sandbox: str | None
) -> planning.Plan:
    sandboxes = {r.sandbox or "" for r in manifests.resources}
    if sandbox:
        sandboxes.add(sandbox)
    remote = fetch_remote(runtime.client, sandboxes)
    return planning.compute(
        org=runtime.settings.org_id,
        resources=manifests.resources,
        state=state,
        remote=remote,
        sandboxes=sandboxes,
        manifest_digest=manifests.digest,
    )
