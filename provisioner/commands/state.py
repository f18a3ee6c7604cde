"""`provisioner state list|show|rm|mv|push|pull`: inspect, forget, rename or move state entries;
nothing in Flow Service changes."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from provisioner.errors import UsageError

if TYPE_CHECKING:
    from provisioner.console import Console
    from provisioner.state import LockInfo, State, StateEntry


def labels(state: State) -> dict[tuple[str, str, str], str]:
    """How `state list` names each entry: sandbox/address, prefixed by org/ only if several."""
    several_orgs = len({e.org for e in state.entries.values()}) > 1
    return {key: "/".join(key if several_orgs else key[1:]) for key in state.entries}


def find(state: State, address: str, sandbox: str | None, state_name: str) -> StateEntry:
    """The entry that ADDRESS (address, sandbox/address or org/sandbox/address) names."""
    parts = address.split("/")
    if len(parts) > 3 or not all(parts):
        raise UsageError(
            f"{address!r} is not a state address; give ADDRESS, SANDBOX/ADDRESS or "
            "ORG/SANDBOX/ADDRESS as 'provisioner state list' prints them"
        )
    org = parts[0] if len(parts) == 3 else None
    named_sandbox = parts[-2] if len(parts) >= 2 else None
    if sandbox and named_sandbox and sandbox != named_sandbox:
        raise UsageError(
            f"the address {address} names sandbox {named_sandbox} but --sandbox says "
            f"{sandbox}; give only one of them"
        )
    sandbox = named_sandbox or sandbox
    matches = [
        e
        for e in state
        if e.address == parts[-1]
        and (sandbox is None or e.sandbox == sandbox)
        and (org is None or e.org == org)
    ]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        where = f" in sandbox {sandbox}" if sandbox and len(parts) == 1 else ""
        return _not_found(address, where, state, state_name)
    names = labels(state)
    sandboxes = sorted({e.sandbox for e in matches})
    listed = ", ".join(names[e.key] for e in matches)
    if len(sandboxes) > 1:
        raise UsageError(
            f"the address {address} is in several sandboxes of the state {state_name} "
            f"({listed}); name one as SANDBOX/ADDRESS or with --sandbox"
        )
    raise UsageError(
        f"the address {address} is in several orgs of the state {state_name} ({listed}); "
        "name one as ORG/SANDBOX/ADDRESS"
    )


def _not_found(address: str, where: str, state: State, state_name: str) -> StateEntry:
    if state.serial == 0 and not state.entries:
        raise UsageError(
            f"no resource {address!r}{where} in the state {state_name}: the file does not "
            "exist; give the right file with --state"
        )
    raise UsageError(
        f"no resource {address!r}{where} in the state {state_name}; "
        "'provisioner state list' shows what it holds"
    )


def _list(console: Console, state: State, sandbox: str | None) -> int:
    names = labels(state)
    rows = [(names[e.key], e.id) for e in state if sandbox is None or e.sandbox == sandbox]
    width = max((len(label) for label, _ in rows), default=0)
    for label, connection_id in rows:
        console.out(f"{label.ljust(width)}  {connection_id}")
    return 0


def _show(console: Console, state: State, entry: StateEntry) -> int:
    from provisioner.state.view import entry_lines

    console.out(f"{labels(state)[entry.key]}:")
    for line in entry_lines(entry, org=True):
        console.out(line)
    return 0


def waiting(console: Console, timeout: float) -> Callable[[LockInfo], None]:
    """The on_wait callback of StateStore.lock: says once on stderr whom we are waiting for."""

    def on_wait(holder: LockInfo) -> None:
        console.err(
            f"Waiting up to {timeout:g} seconds for the state lock held by {holder.describe()}..."
        )

    return on_wait


def _copy(
    console: Console,
    *,
    source: str,
    destination: str,
    force: bool,
    lock_timeout: float,
    command: str,
) -> int:
    """Copy the state `source` to `destination` as it is (lineage, serial, entries)."""
    from provisioner.state import StateStore

    if source == destination:
        raise UsageError(f"'state {command}' needs two different states; both are {source}")
    src_store, dst_store = StateStore(source), StateStore(destination)
    if not src_store.exists() and not src_store.journal_pending():
        raise UsageError(f"there is no state at {source} to copy; check the name")
    with dst_store.lock(f"state {command}", lock_timeout, on_wait=waiting(console, lock_timeout)):
        src = src_store.load()
        dst = dst_store.load()
        present = dst_store.exists() or bool(dst.entries)
        again = f"'provisioner state {command} ... --force'"
        if present and dst.lineage != src.lineage and not force:
            raise UsageError(
                f"refusing to overwrite {destination}: it holds another state (lineage "
                f"{dst.lineage}, but {source} has lineage {src.lineage}); if {destination} "
                f"is not needed any more, run {again} (its current version is kept as its backup)"
            )
        if present and dst.lineage == src.lineage and dst.serial > src.serial and not force:
            raise UsageError(
                f"refusing to overwrite {destination}: it is newer (serial {dst.serial}) than "
                f"{source} (serial {src.serial}); copy in the other direction, or run {again} "
                "to go back to the older one"
            )
        if present and dst.lineage == src.lineage and dst.serial == src.serial:
            if dst.entries == src.entries:
                console.out(f"{destination} already holds this state (serial {src.serial}).")
                return 0
            if not force:
                raise UsageError(
                    f"refusing to overwrite {destination}: it is at the same serial "
                    f"({src.serial}) as {source} but differs from it; run {again} to replace it"
                )
        dst_store.overwrite(src, dst)
    n = len(src)
    console.out(
        f"Copied the state {source} to {destination}: lineage {src.lineage}, serial "
        f"{src.serial}, {n} resource{'' if n == 1 else 's'}."
    )
    return 0


def run(
    *,
    console: Console,
    state_command: str,
    state: str,
    sandbox: str | None = None,
    address: str | None = None,
    new_address: str | None = None,
    lock_timeout: float = 0.0,
    file: str | None = None,
    force: bool = False,
) -> int:
    from provisioner.state import StateStore

    if state_command in ("push", "pull"):
        if file is None:
            raise UsageError(f"'state {state_command}' needs a FILE")
        source, destination = (file, state) if state_command == "push" else (state, file)
        return _copy(
            console,
            source=source,
            destination=destination,
            force=force,
            lock_timeout=lock_timeout,
            command=state_command,
        )
    store = StateStore(state)
    if state_command == "list":
        return _list(console, store.load(), sandbox)
    if address is None:
        raise UsageError(f"'state {state_command}' needs an ADDRESS")
    if state_command == "show":
        current = store.load()
        return _show(console, current, find(current, address, sandbox, state))
    if state_command == "mv":
        assert new_address is not None
        return _mv(console, store, state, address, new_address, sandbox, lock_timeout)
    if state_command != "rm":
        raise UsageError(f"unknown state subcommand {state_command!r}")
    with store.lock("state rm", lock_timeout, on_wait=waiting(console, lock_timeout)):
        current = store.load()
        entry = find(current, address, sandbox, state)
        label = labels(current)[entry.key]
        store.save(current.without(entry.key))
    console.out(
        f"Removed {label} (connection {entry.id}) from the state {state}; the connection "
        "itself was not deleted in Flow Service."
    )
    console.out(
        "While a manifest still declares it, the next plan adopts it again by name; "
        "'provisioner import' puts it under another address."
    )
    return 0


_ADDRESS = re.compile(r"[a-z][a-z0-9_-]{0,62}")


def _mv(
    console: Console,
    store: Any,
    state_name: str,
    address: str,
    new_address: str,
    sandbox: str | None,
    lock_timeout: float,
) -> int:
    """Rename an entry's address (same org and sandbox): a manifest rename then plans nothing."""
    from dataclasses import replace

    with store.lock("state mv", lock_timeout, on_wait=waiting(console, lock_timeout)):
        current = store.load()
        entry = find(current, address, sandbox, state_name)
        parts = new_address.split("/")
        if len(parts) > 2 or (len(parts) == 2 and parts[0] != entry.sandbox):
            raise UsageError(
                f"{new_address!r} is not an address of sandbox {entry.sandbox}; an entry moves "
                f"within its sandbox: give NEW_ADDRESS as ADDRESS or {entry.sandbox}/ADDRESS"
            )
        target = parts[-1]
        if not _ADDRESS.fullmatch(target):
            raise UsageError(
                f"{target!r} is not an address: lowercase letters, digits, '-' and '_', "
                "starting with a letter, at most 63 characters"
            )
        if target == entry.address:
            raise UsageError(f"{entry.sandbox}/{target} is already the entry's address")
        if current.get(entry.org, entry.sandbox, target) is not None:
            raise UsageError(
                f"the state already holds {entry.sandbox}/{target}; 'provisioner state rm' it "
                "first, or choose another address"
            )
        label = labels(current)[entry.key]
        moved = [replace(entry, address=target)]
        moved += [  # what referred to it now refers to the new address
            replace(e, depends_on=tuple(target if d == entry.address else d for d in e.depends_on))
            for e in current.in_scope(entry.org, entry.sandbox)
            if entry.address in e.depends_on and e.key != entry.key
        ]
        store.save(current.with_changes(put=moved, remove=[entry.key]))
    console.out(
        f"Moved {label} (id {entry.id}) to {entry.sandbox}/{target} in the state {state_name}; "
        "nothing changed in Flow Service. Rename the address in the manifest to match."
    )
    return 0
