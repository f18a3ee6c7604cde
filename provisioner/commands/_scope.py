"""Which sandboxes a state-driven command (refresh, destroy) acts on."""

from __future__ import annotations

from provisioner.state import State


def scope_sandboxes(state: State, org: str, paths: list[str], sandbox: str | None) -> list[str]:
    """--sandbox if given; else the sandboxes the given manifests target; else all in the state."""
    if sandbox:
        return [sandbox]
    if paths:
        from provisioner.manifest import load
        from provisioner.runtime import default_sandbox

        manifests = load(
            paths, sandbox_override=None, default_sandbox=default_sandbox(), resolve_env=False
        )
        return sorted({r.sandbox for r in manifests.resources})
    return sorted({e.sandbox for e in state.entries.values() if e.org == org})
