"""`provisioner plan`: read manifests, state and Flow Service; print what apply would do."""

from __future__ import annotations

from provisioner.console import Console


def run(
    *,
    console: Console,
    paths: list[str],
    out: str | None,
    json: bool,
    markdown: bool,
    detailed_exitcode: bool,
    verify: bool,
    state: str,
    sandbox: str | None,
    lock_timeout: float,
    emulator: bool,
    allow_delete: bool = False,
    parallelism: int = 64,
) -> int:
    from provisioner.manifest import parse_ahead
    from provisioner.runtime import connect, listing_ahead

    # Forked helpers parse some of the manifests (before any thread starts: a fork copies only
    # the thread that forks); the listing (network-bound) runs while the rest is imported and
    # the manifests and state are read (CPU-bound).
    with parse_ahead(paths) as parsing, listing_ahead(
        paths, sandbox, emulator=emulator, lanes=parallelism
    ) as ahead:
        from provisioner import verify as checks
        from provisioner.commands.state import waiting
        from provisioner.render import outputs
        from provisioner.runtime import endpoint
        from provisioner.state import StateStore
        from provisioner.workflow import load_manifests, make_plan

        manifests = load_manifests(paths, sandbox, parsing)
        store = StateStore(state)
        # As Terraform's plan does: no apply may write the state while it is read and compared.
        # The state is read before the listing is waited for (connect waits for its client).
        with store.lock("plan", lock_timeout, on_wait=waiting(console, lock_timeout)):
            current = store.load()
            with connect(emulator=emulator, pool_size=parallelism, ahead=ahead) as runtime:
                plan = make_plan(runtime, manifests, current, sandbox, allow_delete=allow_delete)
                where = endpoint(runtime)
                verdicts = None
                if verify:
                    targets = [
                        checks.Target(f"{c.sandbox}/{c.address}", c.sandbox, c.remote_id)
                        for c in plan.changes
                        if c.remote_id
                        and c.action.value in ("no-op", "update", "adopt")
                        and c.label == "connection"
                    ]
                    verdicts = checks.verify(runtime.client, targets)
                    path_targets, later = checks.path_targets(plan)
                    path_verdicts = checks.explore(runtime.client, path_targets)
    outputs.emit(console, plan, as_json=json, as_markdown=markdown)
    if out:
        outputs.save_plan(
            console,
            plan,
            out=out,
            paths=paths,
            sandbox=sandbox,
            emulator=emulator,
            state=current,
            endpoint=where,
            quiet=json or markdown,
        )
    # With --json/--markdown stdout is a document: the verify report goes to stderr then.
    if verdicts is not None:
        connections_ok = checks.report(console, verdicts, to_stderr=json or markdown)
        paths_ok = checks.report_paths(console, path_verdicts, later, to_stderr=json or markdown)
        if not (connections_ok and paths_ok):
            return 1
    if detailed_exitcode and plan.has_changes:
        return 2
    return 0
