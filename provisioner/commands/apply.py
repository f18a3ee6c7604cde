"""`provisioner apply`: plan, confirm, then create/update/delete with per-result state writes."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from provisioner.console import Console
from provisioner.render import escape

if TYPE_CHECKING:
    from provisioner.client_api import Client


def run(
    *,
    console: Console,
    paths: list[str],
    auto_approve: bool,
    parallelism: int,
    allow_delete: bool,
    verify: bool,
    state: str,
    sandbox: str | None,
    lock_timeout: float,
    emulator: bool,
    json: bool = False,
) -> int:
    from provisioner import planfile
    from provisioner.apply import Executor
    from provisioner.commands import apply_events as events
    from provisioner.commands.state import waiting
    from provisioner.errors import UsageError
    from provisioner.render import text
    from provisioner.runtime import connect, endpoint
    from provisioner.state import StateStore
    from provisioner.workflow import load_manifests, make_plan

    saved, plan_path = None, ""
    if len(paths) == 1 and planfile.claims(paths[0]):
        # A reviewed plan: re-read the manifests it names (for their secrets), no prompt.
        plan_path, saved = paths[0], planfile.load(paths[0])
        if sandbox and sandbox != saved.sandbox:
            raise UsageError(f"--sandbox cannot change the sandbox of the saved plan {plan_path}")
        if allow_delete and not saved.plan.allow_delete:
            raise UsageError(
                f"the saved plan {plan_path} was made without --allow-delete, and deletes are "
                "decided at plan time (the reviewed plan says they will not run); make the "
                f"plan with 'provisioner plan --allow-delete --out {plan_path}'"
            )
        allow_delete = saved.plan.allow_delete
        paths, sandbox, emulator = list(saved.paths), saved.sandbox, emulator or saved.emulator
    manifests = load_manifests(paths, sandbox)
    store = StateStore(state)
    with store.lock("apply", lock_timeout, on_wait=waiting(console, lock_timeout)):
        current = store.load()
        with connect(emulator=emulator, pool_size=parallelism) as runtime:
            if saved is not None:
                planfile.check_target(
                    saved, path=plan_path, org=runtime.settings.org_id, endpoint=endpoint(runtime)
                )
                current = planfile.continued_state(saved, current)
            plan = make_plan(runtime, manifests, current, sandbox, allow_delete=allow_delete)
            if saved is not None:
                # Never the file's word for what to touch: the fresh plan runs, if it is the
                # saved one.
                plan = planfile.prepare(
                    saved,
                    path=plan_path,
                    state_path=state,
                    state=current,
                    fresh=plan,
                    manifests_digest=manifests.digest,
                    resources=manifests.resources,
                    read=_reader(runtime.client),
                )
            for warning in plan.warnings:
                console.err(console.style("Warning: ", "yellow", "bold", stream="err") + warning)
            if json:
                if plan.has_changes and saved is None and not auto_approve:
                    raise UsageError(
                        "apply --json needs --auto-approve or a saved PLANFILE (nobody can answer "
                        "a confirmation between JSON events)"
                    )
                events.emit(console, events.plan_event(plan))
            else:
                console.out("\n".join(text.render(console, plan)))  # one write, not one per line
            if plan.has_changes and saved is None and not auto_approve and not _confirmed(console):
                console.err("Apply cancelled.")
                return 1
            total = sum(1 for c in plan.changes if c.is_change)
            with store.writer(current) as writer:
                outcomes = Executor(
                    plan=plan,
                    state=current,
                    client=runtime.client,
                    writer=writer,
                    parallelism=parallelism,
                    allow_delete=allow_delete,
                    on_result=events.reporter(console) if json else _progress(console, total),
                ).run()
            if json:
                applied = events.finish(console, outcomes, strict=saved is not None)
            else:
                applied = (
                    summarize(console, outcomes, strict=saved is not None)
                    if plan.has_changes
                    else True
                )
            verified = not verify or _verify(console, runtime.client, store, plan, parallelism)
    return 0 if applied and verified else 1


def _reader(client: Client) -> Callable[[str, str, list[str]], list[Any]]:
    """Items by id, for the staleness check of a saved plan (one filtered read per chunk)."""
    from provisioner import kinds

    def read(sandbox: str, kind_name: str, ids: list[str]) -> list[Any]:
        kind = kinds.get(kind_name)
        if kind.endpoint.service != "flowservice":
            found = (client.get_item(kind, sandbox, i) for i in ids)
            return [kind.read(item, sandbox) for item in found if item is not None]
        return [kind.read(item, sandbox) for item in client.list_matching(kind, sandbox, "id", ids)]

    return read


def _confirmed(console: Console) -> bool:
    """Ask for "yes" on a terminal; without one, nobody can answer, so refuse at once."""
    from provisioner.errors import UsageError

    if not console.interactive:
        raise UsageError(
            "apply needs --auto-approve when it does not run on a terminal "
            "(nobody can answer the confirmation)"
        )
    console.out()
    return console.confirm("Do you want to perform these actions?")


def _progress(console: Console, total: int) -> Callable[[Any], None]:
    """One line per finished change, numbered; failures on stderr."""
    count = 0

    def report(o: Any) -> None:
        nonlocal count
        if o.done == "refreshed":  # a state record brought up to date: nothing to tell
            return
        count += 1
        where = f"{o.change.sandbox}/{o.change.address}"
        if not o.ok:
            console.err(f"{where}: " + console.style("failed", "red") + f": {escape.plain(o.error)}")
        elif o.done == "skipped":
            what = "replace" if o.change.action.value == "replace" else "delete"
            msg = console.style(f"{what} skipped (needs --allow-delete)", "yellow")
            console.out(f"{where}: {msg} [{count}/{total}]")
        else:
            ident = f" (id {escape.plain(o.id)})" if o.id else ""
            console.out(f"{where}: {console.style(o.done, 'green')}{ident} [{count}/{total}]")

    return report


def _verify(console: Console, client: Client, store: Any, plan: Any, parallelism: int) -> bool:
    """Test the credentials of every declared connection the state now owns."""
    from provisioner import verify as checks

    final = store.load()
    targets = [
        checks.Target(f"{e.sandbox}/{e.address}", e.sandbox, e.id)
        for key in sorted(plan.resources)
        if (e := final.get(*key)) is not None and e.kind in _connection_kinds()
    ]
    return checks.report(console, checks.verify(client, targets, parallelism))


def _connection_kinds() -> set[str]:
    from provisioner import kinds

    return {k.name for k in kinds.registry().values()}


def summarize(console: Console, outcomes: list[Any], *, strict: bool = False) -> bool:
    """Print the closing summary of an apply; True when nothing failed. With `strict` (a saved
    plan), a planned change that did not run (a delete not allowed) is a failure too: a reviewed
    plan is applied whole or the apply exits non-zero."""
    done = Counter(o.done for o in outcomes if o.ok and o.done != "refreshed")
    failed = [o for o in outcomes if not o.ok]
    console.out()
    summary = (
        f"{done['created']} created, {done['updated']} updated, {done['replaced']} replaced, "
        f"{done['deleted']} deleted, {done['adopted']} adopted"
    )
    skipped = done["skipped"]
    if skipped:
        were, them = ("s were", "them") if skipped != 1 else (" was", "it")
        how = (
            f"make the plan with --allow-delete to delete {them}"
            if strict
            else f"run apply with --allow-delete to delete {them}"
        )
        console.err(f"Warning: {skipped} planned delete{were} not performed; {how}.")
        if strict and not failed:
            console.err(
                console.style("Apply incomplete: ", "red", "bold", stream="err")
                + f"the saved plan was not applied whole ({summary}, {skipped} not run)."
            )
            return False
    if failed:
        console.err(
            console.style("Apply failed: ", "red", "bold", stream="err")
            + f"{len(failed)} of {len(failed) + sum(done.values())} changes failed ({summary}). "
            "Run apply again to retry them."
        )
        return False
    console.out(console.style("Apply complete! ", "green", "bold") + summary + ".")
    return True
