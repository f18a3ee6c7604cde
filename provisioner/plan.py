"""The plan as data: one Change per address (provisioner.planner computes it from manifest,
state and remote listing).

The plan never holds a secret value: desired secrets appear only as fingerprints, and the
Resource records (which carry Secrets) stay beside the plan in `Plan.resources`, which is
never serialised. Rendering (render/) and executing (apply.py) both read this data.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from provisioner import diff, kinds
from provisioner.model import Remote, Resource


class Action(enum.Enum):
    CREATE = "create"
    ADOPT = "adopt"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"
    RECREATE = "recreate"
    NOOP = "no-op"


@dataclass(frozen=True)
class Drift:
    """A change made outside provisioner, seen by comparing the state with the remote side."""

    deleted: bool
    fields: tuple[diff.FieldChange, ...] = ()
    updated_by: str | None = None
    updated_at: int | None = None  # epoch milliseconds, as Flow Service gives it


@dataclass(frozen=True)
class Change:
    action: Action
    org: str
    sandbox: str
    address: str
    kind: str
    name: str
    fields: tuple[diff.FieldChange, ...] = ()
    remote_id: str | None = None
    remote_etag: str | None = None
    also_update: bool = False  # adopt that must also update
    protect: bool = False
    drift: Drift | None = None
    secret_fingerprints: Mapping[str, str] = field(default_factory=dict)
    depends_on: tuple[str, ...] = ()  # addresses (same sandbox) this change waits for
    moved_from: str | None = None  # the address (same sandbox) the state records it under

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.org, self.sandbox, self.address)

    @property
    def is_change(self) -> bool:
        return self.action is not Action.NOOP or self.moved_from is not None

    @property
    def label(self) -> str:
        try:
            return kinds.get(self.kind).label
        except KeyError:
            return "connection"

    @property
    def deletes(self) -> bool:
        return self.action in (Action.DELETE, Action.REPLACE)


@dataclass(frozen=True)
class Plan:
    org: str
    changes: tuple[Change, ...]
    lineage: str
    serial: int
    manifest_digest: str
    sandboxes: tuple[str, ...]
    resources: Mapping[tuple[str, str, str], Resource] = field(default_factory=dict, repr=False)
    remote: Mapping[tuple[str, str], Remote] = field(default_factory=dict, repr=False)
    # What unmanaged resources (datasets) were found as, by (sandbox, address).
    lookups: Mapping[tuple[str, str], Remote] = field(default_factory=dict, repr=False)
    # Deletes (and the delete half of replaces) run only when the plan was made allowing them.
    allow_delete: bool = False
    # What the plan leaves alone but a reviewer must know (strangers, undeclared sandboxes).
    warnings: tuple[str, ...] = ()
    # A digest of the state's entries per sandbox in scope: what a saved plan relied on.
    state_digests: Mapping[str, str] = field(default_factory=dict)

    @property
    def has_changes(self) -> bool:
        return any(c.is_change for c in self.changes)

    def not_run(self, change: Change) -> str | None:
        """Why this change will not run when applied (None: it will)."""
        if not change.deletes or self.allow_delete:
            return None
        what = "deletes" if change.action is Action.DELETE else "replaces (deletes, then creates)"
        return (
            f"this plan was made without --allow-delete, so this change, which {what}, will not "
            "run; make the plan with --allow-delete to allow it"
        )

    def counts(self) -> dict[str, int]:
        """Terraform-style totals: a replace counts as one create and one delete."""
        n = {"create": 0, "update": 0, "delete": 0, "adopt": 0, "move": 0}
        for c in self.changes:
            if c.moved_from is not None:
                n["move"] += 1
            if c.action in (Action.CREATE, Action.RECREATE):
                n["create"] += 1
            elif c.action is Action.UPDATE:
                n["update"] += 1
            elif c.action is Action.DELETE:
                n["delete"] += 1
            elif c.action is Action.REPLACE:
                n["create"] += 1
                n["delete"] += 1
            elif c.action is Action.ADOPT:
                n["adopt"] += 1
                if c.also_update:
                    n["update"] += 1
        if not n["move"]:
            del n["move"]  # the JSON summary keeps its four totals when nothing moves
        return n

    @property
    def noun(self) -> str:
        """What the plan is about, for its sentences: connections, or resources (the chain)."""
        labels = {c.label for c in self.changes}
        return "connections" if labels <= {"connection"} else "resources"

    def summary_line(self) -> str:
        n = self.counts()
        moves = f", {n['move']} to move" if n.get("move") else ""
        return (
            f"Plan: {n['create']} to create, {n['update']} to update, "
            f"{n['delete']} to delete, {n['adopt']} to adopt{moves}."
        )
