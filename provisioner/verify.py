"""--verify: test each connection's credentials through Flow Service's connection test."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from provisioner.console import Console
from provisioner.errors import ProvisionerError

if TYPE_CHECKING:
    from provisioner.client_api import Client


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


def verify(client: Client, targets: list[Target], parallelism: int = 10) -> list[Verdict]:
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
        from provisioner.render import escape

        console.err(
            f"{escape.plain(v.target.where)} (id {escape.plain(v.target.id)}): verify failed: "
            f"{escape.plain(why)}"
        )
    if not verdicts:
        say("Verify: no existing connection to test yet.")
    elif failed:
        console.err(f"Verify: {len(failed)} of {len(verdicts)} connections failed the test.")
    else:
        say(f"Verify: all {len(verdicts)} connections passed the test.")
    return not failed


@dataclass(frozen=True)
class PathTarget:
    where: str  # sandbox/address of the source connection
    sandbox: str
    connection_id: str  # its base connection
    path: str


def path_targets(plan: Any) -> tuple[list[PathTarget], list[str]]:
    """The source paths a plan can check now (their base connection exists), and the
    addresses it cannot check yet (their base connection is created by this plan)."""
    from provisioner.document import Ref

    ids = {(c.sandbox, c.address): c.remote_id for c in plan.changes}
    targets: list[PathTarget] = []
    later: list[str] = []
    for (_org, sandbox, address), res in sorted(plan.resources.items()):
        base = res.document.get("baseConnectionId")
        params = res.document.get("params") or {}
        if not isinstance(base, Ref) or not isinstance(params.get("path"), str):
            continue
        where = f"{sandbox}/{address}"
        connection_id = ids.get((sandbox, base.address))
        if connection_id:
            targets.append(PathTarget(where, sandbox, connection_id, params["path"]))
        else:
            later.append(where)
    return targets, later


def explore(client: Client, targets: list[PathTarget], parallelism: int = 10) -> list[Verdict]:
    """One explore call per source: the folder of its path, then the last segment matched."""
    import fnmatch
    import posixpath

    def one(t: PathTarget) -> Verdict:
        target = Target(t.where, t.sandbox, t.connection_id)
        folder_path = t.path if t.path.endswith("/") else posixpath.dirname(t.path) + "/"
        leaf = "" if t.path.endswith("/") else posixpath.basename(t.path)
        try:
            items = client.explore(t.sandbox, t.connection_id, folder_path)
        except ProvisionerError as exc:
            return Verdict(target, False, str(exc))
        if items is None:
            return Verdict(target, False, f"the folder {folder_path} does not exist in the bucket")
        if leaf and not any(fnmatch.fnmatchcase(str(i.get("name", "")), leaf) for i in items):
            what = "no file matches" if any(c in leaf for c in "*?[") else "there is no file"
            return Verdict(target, False, f"{what} {leaf} in {folder_path}")
        return Verdict(target, True)

    if not targets:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(parallelism, len(targets)))) as pool:
        return list(pool.map(one, targets))


def report_paths(
    console: Console, verdicts: list[Verdict], later: list[str], *, to_stderr: bool = False
) -> bool:
    """Print the path verdicts; True when every checked path exists."""
    from provisioner.render import escape

    say = console.err if to_stderr else console.out
    failed = [v for v in verdicts if not v.ok]
    for v in failed:
        console.err(f"{escape.plain(v.target.where)}: verify failed: {escape.plain(v.error or '')}")
    for where in later:
        say(f"{escape.plain(where)}: path not checked yet (its base connection is created by apply)")
    if failed:
        console.err(f"Verify: {len(failed)} of {len(verdicts)} source paths do not exist.")
    elif verdicts:
        n = len(verdicts)
        say("Verify: the source path exists." if n == 1 else f"Verify: all {n} source paths exist.")
    return not failed
