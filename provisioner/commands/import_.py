"""`provisioner import ADDRESS CONNECTION_ID`: adopt an existing connection under a declared address."""

from __future__ import annotations

from provisioner.console import Console


def run(
    *,
    console: Console,
    address: str,
    connection_id: str,
    paths: list[str],
    state: str,
    sandbox: str | None,
    lock_timeout: float,
    emulator: bool,
) -> int:
    from provisioner import kinds
    from provisioner.commands._session import writing
    from provisioner.errors import PlanError
    from provisioner.manifest import load
    from provisioner.render import escape
    from provisioner.runtime import default_sandbox
    from provisioner.state import StateEntry

    manifests = load(
        list(paths), sandbox_override=sandbox, default_sandbox=default_sandbox(), resolve_env=False
    )
    matches = [r for r in manifests.resources if r.address == address]
    if not matches:
        raise PlanError(
            f"the address {address!r} is not declared in {', '.join(manifests.files)}; "
            "declare it in a manifest first, then import"
        )
    if len(matches) > 1:
        raise PlanError(
            f"the address {address!r} is declared for several sandboxes "
            f"({', '.join(sorted(r.sandbox or '' for r in matches))}); choose one with --sandbox"
        )
    res = matches[0]
    target = res.sandbox
    kind = kinds.get(res.kind)
    with writing(
        console, state=state, command="import", lock_timeout=lock_timeout, emulator=emulator
    ) as session:
        current, runtime, org = session.state, session.runtime, session.org
        existing = current.get(org, target, address)
        if existing is not None:
            raise PlanError(
                f"{target}/{address} is already in the state as {kind.label} {existing.id}; "
                f"run 'provisioner state rm {target}/{address}' first to import another one"
            )
        for entry in current.entries.values():
            if entry.org == org and entry.sandbox == target and entry.id == connection_id:
                raise PlanError(
                    f"{kind.label} {connection_id} is already owned by {target}/{entry.address}"
                )
        item = runtime.client.get_item(kind, target, connection_id)
        if item is None:
            raise PlanError(
                f"no {kind.label} {connection_id} exists in sandbox {target!r} of org "
                f"{org}; check the id and the sandbox (--sandbox, or the manifest's sandbox:)"
            )
        conn = kind.read(item, target)
        if conn.document.get("type", kind.name) != kind.name:
            found_type = str(conn.document.get("type"))
            other = next(
                (k for k in kinds.all_kinds().kinds.values() if getattr(k, "spec_id", None) == found_type),
                None,
            )
            what = f"an {other.name}" if other else f"a connection spec {found_type}"
            raise PlanError(
                f"connection {connection_id} is {what} connection, but {address} is "
                f"declared as {res.kind} (connection spec {getattr(kind, 'spec_id', '')}); "
                "import a connection of the declared type"
            )
        # Secrets cannot be read back: with no fingerprint recorded, the next plan shows an
        # update that sends the manifest's secrets, which is what a reviewer should see.
        entry = StateEntry.from_remote(
            conn,
            org=org,
            address=address,
            secret_fingerprints={},
            protect=res.protect,
            depends_on=res.depends_on,
        )
        with session.store.writer(current) as writer:
            writer.put(entry)
    console.out(
        f"Import successful: {target}/{address} now owns {kind.label} {connection_id} "
        f"({escape.plain(conn.name, quote=True)}). Run 'provisioner plan' to see how it differs "
        "from the manifest."
    )
    return 0
