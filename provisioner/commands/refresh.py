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
    from dataclasses import replace

    from provisioner import diff, kinds
    from provisioner.commands._scope import scope_sandboxes
    from provisioner.commands.state import waiting
    from provisioner.plan import Drift, stranger_warning
    from provisioner.render import escape
    from provisioner.render.text import when
    from provisioner.runtime import connect, fetch_remote
    from provisioner.state import StateStore

    store = StateStore(state)
    with store.lock("refresh", lock_timeout, on_wait=waiting(console, lock_timeout)):
        current = store.load()
        with connect(emulator=emulator) as runtime:
            org = runtime.settings.org_id
            sandboxes = scope_sandboxes(current, org, paths, sandbox)
            entries = [e for s in sandboxes for e in current.in_scope(org, s)]
            if not entries:
                console.out("The state owns no connection here: nothing to refresh.")
                return 0
            remote = fetch_remote(runtime.client, sandboxes, {e.kind for e in entries})
        by_id = {(s, c.id): c for s, conns in remote.items() for c in conns}
        owned = {(e.sandbox, e.id) for e in current.entries.values() if e.org == org}
        for entry in entries:
            others = sorted(
                c.id
                for c in remote.get(entry.sandbox, [])
                if kinds.get(entry.kind).adopt_by_name
                and c.kind == entry.kind
                and entry.name
                and c.name == entry.name
                and (entry.sandbox, c.id) not in owned
            )
            if others:
                console.err(
                    console.style("Warning: ", "yellow", "bold", stream="err")
                    + escape.plain(
                        stranger_warning(
                            entry.sandbox, entry.address, kinds.get(entry.kind).label,
                            entry.name, others,
                        )
                    )
                )
        drifted = deleted = 0
        with store.writer(current) as writer:
            for entry in entries:
                where = f"{entry.sandbox}/{entry.address}"
                conn = by_id.get((entry.sandbox, entry.id))
                if conn is not None and conn.kind != entry.kind:
                    conn = None
                if conn is None:
                    deleted += 1
                    console.out(
                        f"{where}: deleted outside provisioner (id {entry.id}); "
                        "the next apply creates it again"
                    )
                    continue
                kind = kinds.get(entry.kind)
                fields = diff.compare(kind, entry.document, conn.document)
                fresh = replace(
                    entry, etag=conn.etag, document=conn.document, attributes=conn.attributes
                )
                if fields:
                    drifted += 1
                    d = Drift(False, fields, conn.updated_by, conn.updated_at)
                    console.out(
                        f"{where}: changed outside provisioner by {d.updated_by or 'someone'} "
                        f"at {when(d.updated_at)}"
                    )
                    for f in fields:
                        console.out(f"    {f.path}: {f.before!r} -> {f.after!r}")
                if fresh != entry:
                    writer.put(fresh)
    console.out(
        f"Refresh complete: {len(entries)} connection{'s' if len(entries) != 1 else ''} read, "
        f"{drifted} changed outside provisioner, {deleted} deleted outside provisioner."
    )
    return 0
