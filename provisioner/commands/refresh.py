"""`provisioner refresh`: update the state from Flow Service and report drift; nothing remote changes."""

from __future__ import annotations

from provisioner.console import Console


def run(
    *,
    console: Console,
    paths: list[str],
    state: str,
    sandbox: str | None,
    lock_timeout: float,
    emulator: bool,
) -> int:
    from provisioner import kinds
    from provisioner import refresh as findings_of
    from provisioner.commands._scope import scope_sandboxes
    from provisioner.commands._session import writing
    from provisioner.listing import fetch_remote
    from provisioner.plan import Drift
    from provisioner.planner import stranger_warning
    from provisioner.render import escape
    from provisioner.render.text import when

    with writing(
        console, state=state, command="refresh", lock_timeout=lock_timeout, emulator=emulator
    ) as session:
        current, org = session.state, session.org
        sandboxes = scope_sandboxes(current, org, paths, sandbox)
        entries = [e for s in sandboxes for e in current.in_scope(org, s)]
        if not entries:
            console.out("The state owns nothing here: nothing to refresh.")
            return 0
        remote = fetch_remote(session.runtime.client, sandboxes, {e.kind for e in entries})
        owned = {(e.sandbox, e.id) for e in current.entries.values() if e.org == org}
        findings = findings_of.compare(entries, remote, owned)
        for f in findings:
            if f.strangers:
                label = kinds.get(f.entry.kind).label
                warning = stranger_warning(
                    f.entry.sandbox, f.entry.address, label, f.entry.name, list(f.strangers)
                )
                console.err(
                    console.style("Warning: ", "yellow", "bold", stream="err")
                    + escape.plain(warning)
                )
        with session.store.writer(current) as writer:
            for f in findings:
                where = f"{f.entry.sandbox}/{f.entry.address}"
                if f.remote is None:
                    console.out(
                        f"{where}: deleted outside provisioner (id {escape.plain(f.entry.id)}); "
                        "the next apply creates it again"
                    )
                    continue
                if f.fields:
                    d = Drift(False, f.fields, f.remote.updated_by, f.remote.updated_at)
                    who = escape.plain(d.updated_by or "someone")
                    console.out(
                        f"{where}: changed outside provisioner by {who} at {when(d.updated_at)}"
                    )
                    for field in f.fields:
                        console.out(
                            f"    {escape.plain(field.path)}: {escape.plain(repr(field.before))} "
                            f"-> {escape.plain(repr(field.after))}"
                        )
                if f.fresh is not None:
                    writer.put(f.fresh)
    drifted = sum(1 for f in findings if f.fields)
    deleted = sum(1 for f in findings if f.deleted)
    noun = "connection" if all(kinds.get(e.kind).label == "connection" for e in entries) else (
        "resource"
    )
    console.out(
        f"Refresh complete: {len(entries)} {noun}{'s' if len(entries) != 1 else ''} read, "
        f"{drifted} changed outside provisioner, {deleted} deleted outside provisioner."
    )
    return 0
