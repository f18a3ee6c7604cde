"""`provisioner force-unlock`: remove a state lock left behind, after showing who held it.

No lock is not an error (exit 0: there is nothing to do). A stale lock (its holder ran on this
host and is gone) is removed at once. A lock whose holder may still run (alive on this host, on
another host, or unreadable) is removed only with --force, or after a "yes" on a terminal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from provisioner.errors import StateError

if TYPE_CHECKING:
    from provisioner.console import Console
    from provisioner.state import LockInfo


def _why_unsure(info: LockInfo, remote: bool) -> str:
    if info.problem:
        return "its lock file cannot be read, so whether its holder still runs is unknown"
    if remote and not info.on_this_host:
        return (
            f"it was taken on host {info.host}, where this machine cannot check whether that "
            "run still writes the state"
        )
    if info.on_this_host:
        return f"process {info.pid} is still running on this host"
    return f"it was taken on host {info.host}, where this machine cannot check process {info.pid}"


def run(*, console: Console, state: str, force: bool) -> int:
    from provisioner.state import StateStore

    store = StateStore(state)
    info = store.lock_info()
    if info is None:
        console.out(f"The state {state} is not locked; there is no lock to remove.")
        return 0
    console.out(f"The state {state} is locked by {info.describe()}.")
    if info.is_stale():
        console.out("That process no longer runs: the lock is stale.")
    elif not force:
        why = _why_unsure(info, store.remote)
        if not console.interactive:
            raise StateError(
                f"refusing to remove the lock on {state}: {why}; make sure that run has "
                f"finished, then run '{store.unlock_command()} --force'"
            )
        if not console.confirm(
            f"Remove the lock anyway? ({why}; removing it while that run writes the state "
            "can lose its results.)"
        ):
            console.err("Lock kept.")
            return 1
    if not store.remove_lock(expected=info):
        raise StateError(
            f"the lock on {state} changed while this command ran (another run took or "
            "released it); run 'provisioner force-unlock' again to see the new holder"
        )
    console.out(f"Lock removed: the state {state} is unlocked.")
    return 0
