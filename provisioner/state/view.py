"""Plain-text views of state entries, shared by `state show` and `show`."""

from __future__ import annotations

import json

from provisioner.secrets import MASK
from provisioner.state.model import State, StateEntry


def _value(value: str | bool) -> str:
    # JSON quoting shows an empty description as "" and an etag's own quotes unambiguously.
    return json.dumps(value, ensure_ascii=False)


def entry_lines(entry: StateEntry, indent: str = "  ", *, org: bool = False) -> list[str]:
    """`key = value` lines for one entry; secret params appear as (sensitive), never a value."""
    rows: list[tuple[str, str]] = [("org", _value(entry.org))] if org else []
    rows += [
        ("id", _value(entry.id)),
        ("type", _value(entry.type)),
        ("name", _value(entry.name)),
        ("description", _value(entry.description)),
        ("etag", _value(entry.etag)),
        ("connectionSpec", f"{_value(entry.spec_id)} version {_value(entry.spec_version)}"),
        ("auth.specName", _value(entry.auth_spec)),
    ]
    params: dict[str, str] = {k: _value(v) for k, v in entry.params.items()}
    params.update({k: MASK for k in entry.secret_fingerprints})
    rows += [(f"auth.params.{k}", params[k]) for k in sorted(params)]
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
