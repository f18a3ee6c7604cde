"""What `refresh` finds: each owned resource compared with what the service now holds.

Plain data, as the plan is: the command prints the findings and writes the fresh entries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from provisioner import diff, kinds
from provisioner.model import Remote
from provisioner.state import StateEntry


@dataclass(frozen=True)
class Finding:
    entry: StateEntry
    remote: Remote | None  # None: deleted outside provisioner
    fields: tuple[diff.FieldChange, ...] = ()  # what changed outside provisioner
    fresh: StateEntry | None = None  # the entry as it should now be recorded
    strangers: tuple[str, ...] = ()  # unowned items that share the entry's name

    @property
    def deleted(self) -> bool:
        return self.remote is None


def compare(
    entries: Iterable[StateEntry],
    remote: Mapping[str, list[Remote]],
    owned: set[tuple[str, str]],
) -> list[Finding]:
    by_id = {(s, r.id): r for s, items in remote.items() for r in items}
    findings: list[Finding] = []
    for entry in entries:
        kind = kinds.get(entry.kind)
        strangers = tuple(
            sorted(
                r.id
                for r in remote.get(entry.sandbox, [])
                if kind.adopt_by_name
                and r.kind == entry.kind
                and entry.name
                and r.name == entry.name
                and (entry.sandbox, r.id) not in owned
            )
        )
        found = by_id.get((entry.sandbox, entry.id))
        if found is None or found.kind != entry.kind:
            findings.append(Finding(entry, None, strangers=strangers))
            continue
        fresh = replace(entry, etag=found.etag, document=found.document, attributes=found.attributes)
        findings.append(
            Finding(
                entry,
                found,
                fields=diff.compare(kind, entry.document, found.document),
                fresh=fresh if fresh != entry else None,
                strangers=strangers,
            )
        )
    return findings
