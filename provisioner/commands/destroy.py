"""`provisioner destroy`: delete everything the state owns (dependents first), except protected
resources."""

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
    from provisioner.commands._session import writing
    from provisioner.errors import UsageError
    from provisioner.planner import destroy_plan
    from provisioner.render import escape, text

    with writing(
        console,
        state=state,
        command="destroy",
        lock_timeout=lock_timeout,
        emulator=emulator,
        pool_size=parallelism,
    ) as session:
        current = session.state
        sandboxes = scope_sandboxes(current, session.org, paths, sandbox)
        plan, kept = destroy_plan(current, session.org, sandboxes)
        for e in kept:
            console.out(f"  # {e.sandbox}/{e.address} is protected (protect: true) and is kept")
        console.out("\n".join(text.render(console, plan)))  # one write, not one per line
        changes = plan.changes
        if not changes:
            return 0
        if not auto_approve:
            if not console.interactive:
                raise UsageError("destroy needs --auto-approve when it does not run on a terminal")
            if not console.confirm(
                f"Do you really want to delete {len(changes)} {plan.noun[:-1]}"
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

        with session.store.writer(current) as writer:
            outcomes = Executor(
                plan=plan,
                state=current,
                client=session.runtime.client,
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
