"""What the commands that write the state share: the lock, the state as loaded, a client."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from provisioner.console import Console
from provisioner.runtime import Runtime
from provisioner.state import State, StateStore


@dataclass
class Session:
    store: StateStore
    state: State
    runtime: Runtime

    @property
    def org(self) -> str:
        return self.runtime.settings.org_id


@contextmanager
def writing(
    console: Console,
    *,
    state: str,
    command: str,
    lock_timeout: float,
    emulator: bool,
    pool_size: int = 16,
) -> Iterator[Session]:
    """Lock the state (waiting up to `lock_timeout`), load it, connect; undone in reverse."""
    from provisioner.commands.state import waiting
    from provisioner.runtime import connect

    store = StateStore(state)
    with store.lock(command, lock_timeout, on_wait=waiting(console, lock_timeout)):
        current = store.load()
        with connect(emulator=emulator, pool_size=pool_size) as runtime:
            yield Session(store, current, runtime)
