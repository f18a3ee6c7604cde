"""The state (docs/reference.md, docs/remote-state.md): records, fingerprints, atomic store, journal
and lock.

    from provisioner.state import State, StateEntry, StateStore, fingerprint

    store = StateStore("provisioner.state.json")   # or StateStore("s3://BUCKET/KEY")
    with store.lock("apply", timeout=lock_timeout):
        state = store.load()                   # replays a crashed apply's journal
        with store.writer(state) as w:         # thread-safe, one journal line per result
            w.put(entry); w.remove(org, sandbox, address)
        state = w.state                        # as saved (serial + 1, or unchanged)
        state = store.save(state.without(key)) # a single change: atomic save with backup

The storage is a backend (state.backend: state.local files, state.s3 objects) dealing in
bytes and versions only. State is immutable (with_entry/without/with_changes return a new
one). Nothing here ever holds a secret value: secret params are stored as
fingerprint(state.salt, value).
"""

from __future__ import annotations

from provisioner.state.journal import StateWriter
from provisioner.state.lock import LockInfo, lock_info, remove_lock, unlock_command
from provisioner.state.model import FORMAT_VERSION, Key, State, StateEntry, fingerprint
from provisioner.state.store import StateStore

__all__ = [
    "FORMAT_VERSION",
    "Key",
    "LockInfo",
    "State",
    "StateEntry",
    "StateStore",
    "StateWriter",
    "fingerprint",
    "lock_info",
    "remove_lock",
    "unlock_command",
]
