"""Plain-text views of state entries, shared by `state show` and `show`."""

from __future__ import annotations

import json

from provisioner.secrets import MASK
from provisioner.state.model import State, StateEntry


def _value(value: object) -> str:
    # JSON quoting shows an empty description as "" and an etag's own quotes unambiguously.
    return json.dumps(value, ensure_ascii=False)


def entry_lines(entry: StateEntry, indent: str = "  ", *, org: bool = False) -> list[str]:
    """`key = value` lines for one entry; secret leaves appear as (sensitive), never a value."""
    from provisioner import document as doc
    from provisioner import kinds

    rows: list[tuple[str, str]] = [("org", _value(entry.org))] if org else []
    rows += [
        ("id", _value(entry.id)),
        ("type", _value(entry.type)),
        ("name", _value(entry.name)),
        ("description", _value(entry.description)),
        ("etag", _value(entry.etag)),
    ]
    rows += kinds.get(entry.kind).view_rows(entry.attributes)
    if entry.depends_on:
        rows.append(("depends_on", ", ".join(entry.depends_on)))
    fields: dict[str, str] = {
        doc.dotted(p): _value(v)
        for p, v in doc.leaves(entry.document)
        if p not in (("type",), ("name",), ("description",))
    }
    fields.update({k: MASK for k in entry.secret_fingerprints})
    rank = {"auth.specName": 0}
    rows += [(k, fields[k]) for k in sorted(fields, key=lambda k: (rank.get(k, 1), k))]
    rows.append(("protect", _value(entry.protect)))
    width = max(len(k) for k, _ in rows)
    return [f"{indent}{k.ljust(width)} = {v}" for k, v in rows]


def entry_title(entry: StateEntry) -> str:
    return f"{entry.sandbox}/{entry.address}"


def state_lines(state: State, *, sandbox: str | None = None) -> list[str]:
    """The whole state, grouped by org and sandbox, one block per resource."""
    lines: list[str] = []
    group: tuple[str, str] | None = None
    for entry in state:
        if sandbox is not None and entry.sandbox != sandbox:
            continue
        if (entry.org, entry.sandbox) != group:
            group = (entry.org, entry.sandbox)
            if lines:
                lines.append("")
            lines.append(f"# org {entry.org}, sandbox {entry.sandbox}")
        lines.append("")
        lines.append(f"{entry_title(entry)}:")
        lines.extend(entry_lines(entry))
    return lines
