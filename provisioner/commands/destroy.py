"""`provisioner destroy`: delete every connection the state owns, except protected ones."""

from __future__ import annotations

from provisioner.console import Console


def run(
    *,
    console: Console,
    paths: list[str],
    auto_approve: bool,
    parallelism: int,
    state: str,
    sandbox: str | None,
    lock_timeout: float,
    emulator: bool,
) -> int:
    from provisioner.apply import Executor, Outcome
    from provisioner.commands._scope import scope_sandboxes
    from provisioner.commands.state import waiting
    from provisioner.errors import UsageError
    from provisioner.plan import Plan, delete_change
    from provisioner.render import escape, text
    from provisioner.runtime import connect
    from provisioner.state import StateStore

    store = StateStore(state)
    with store.lock("destroy", lock_timeout, on_wait=waiting(console, lock_timeout)):
        current = store.load()
        with connect(emulator=emulator, pool_size=parallelism) as runtime:
            org = runtime.settings.org_id
            sandboxes = scope_sandboxes(current, org, paths, sandbox)
            entries = [e for s in sandboxes for e in current.in_scope(org, s)]
            kept = [e for e in entries if e.protect]
            # The state's record is enough: deleting needs only the id, and a connection
            # already gone is simply forgotten.
            changes = tuple(delete_change(e, None, listed=False) for e in entries if not e.protect)
            plan = Plan(
                org=org,
                changes=changes,
                lineage=current.lineage,
                serial=current.serial,
                manifest_digest="",
                sandboxes=tuple(sandboxes),
            )
            for e in kept:
                console.out(f"  # {e.sandbox}/{e.address} is protected (protect: true) and is kept")
            for line in text.render(console, plan):
                console.out(line)
            if not changes:
                return 0
            if not auto_approve:
                if not console.interactive:
                    raise UsageError(
                        "destroy needs --auto-approve when it does not run on a terminal"
                    )
                if not console.confirm(
                    f"Do you really want to delete {len(changes)} connection"
                    f"{'s' if len(changes) != 1 else ''}? This cannot be undone."
                ):
                    console.err("Destroy cancelled.")
                    return 1

            def progress(o: Outcome) -> None:
                where = f"{o.change.sandbox}/{o.change.address}"
                if o.ok:
                    console.out(f"{where}: deleted (id {escape.plain(o.id or '')})")
                else:
                    console.err(f"{where}: failed: {escape.plain(o.error or '')}")

            with store.writer(current) as writer:
                outcomes = Executor(
                    plan=plan,
                    state=current,
                    client=runtime.client,
                    writer=writer,
                    parallelism=parallelism,
                    allow_delete=True,
                    on_result=progress,
                ).run()
    failed = [o for o in outcomes if not o.ok]
    if failed:
        console.err(f"Destroy failed: {len(failed)} of {len(outcomes)} deletes failed.")
        return 1
    console.out(f"Destroy complete! {len(outcomes)} deleted, {len(kept)} protected kept.")
    return 0
