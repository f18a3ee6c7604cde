"""--verify: test each connection's credentials through Flow Service's connection test."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from provisioner.console import Console
from provisioner.errors import ProvisionerError


@dataclass(frozen=True)
class Target:
    where: str  # sandbox/address
    sandbox: str
    id: str


@dataclass(frozen=True)
class Verdict:
    target: Target
    ok: bool
    error: str | None = None


def verify(client: Any, targets: list[Target], parallelism: int = 10) -> list[Verdict]:
    def one(t: Target) -> Verdict:
        try:
            return Verdict(t, bool(client.test_connection(t.sandbox, t.id)))
        except ProvisionerError as exc:
            return Verdict(t, False, str(exc))

    if not targets:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(parallelism, len(targets)))) as pool:
        return list(pool.map(one, targets))


def report(console: Console, verdicts: list[Verdict], *, to_stderr: bool = False) -> bool:
    """Print the verdicts; True when every connection passed."""
    say = console.err if to_stderr else console.out
    failed = [v for v in verdicts if not v.ok]
    for v in failed:
        why = v.error or "Flow Service's connection test refused its credentials"
        console.err(f"{v.target.where} (id {v.target.id}): verify failed: {why}")
    if not verdicts:
        say("Verify: no existing connection to test yet.")
    elif failed:
        console.err(f"Verify: {len(failed)} of {len(verdicts)} connections failed the test.")
    else:
        say(f"Verify: all {len(verdicts)} connections passed the test.")
    return not failed
