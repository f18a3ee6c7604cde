"""`provisioner validate`: check manifests offline (YAML, schema, references, duplicates, secrets)."""

from __future__ import annotations

import os
from collections.abc import Sequence

from provisioner.config import DEFAULT_SANDBOX
from provisioner.console import Console


def run(*, console: Console, paths: Sequence[str], quiet: bool = False) -> int:
    """Exit 0 when every manifest is valid; problems raise ManifestError (the CLI prints them).

    Works with no credentials and no secrets: an unset ${env:NAME} is only a warning here.
    With `quiet`, only errors are printed: no warnings and no success line.
    """
    from provisioner import manifest

    try:
        loaded = manifest.load(
            paths,
            sandbox_override=None,
            default_sandbox=os.environ.get("AEP_SANDBOX") or DEFAULT_SANDBOX,
            resolve_env=False,
        )
    except manifest.InvalidManifests as exc:
        if not quiet:
            _warn(console, exc.warnings)
        raise
    if quiet:
        return 0
    _warn(console, loaded.warnings)
    from provisioner import kinds

    declared = [r for r in loaded.resources if "." not in r.address]  # not the derived ones
    n, files = len(declared), len(loaded.files)
    only_connections = all(kinds.get(r.kind).section == "connections" for r in declared)
    what = "connection" if only_connections else "resource"
    console.out(
        console.style("Success!", "green", "bold")
        + f" {n} {what}{'s' if n != 1 else ''} in {files} file{'s' if files != 1 else ''} "
        + ("is" if n == 1 else "are")
        + " valid."
    )
    return 0


def _warn(console: Console, warnings: Sequence[object]) -> None:
    for warning in warnings:
        console.err(console.style("Warning: ", "yellow", stream="err") + str(warning))
