"""The human plan: Terraform-like blocks, secrets as (sensitive), and the closing `Plan:` line."""

from __future__ import annotations

import datetime as dt
import json

from provisioner.console import Console
from provisioner.diff import FieldChange
from provisioner.plan import Action, Change, Drift, Plan
from provisioner.render import escape

_SYMBOL = {
    Action.CREATE: ("+", "green"),
    Action.RECREATE: ("+", "green"),
    Action.ADOPT: ("<=", "cyan"),
    Action.UPDATE: ("~", "yellow"),
    Action.REPLACE: ("-/+", "magenta"),
    Action.DELETE: ("-", "red"),
    Action.NOOP: (" ", "dim"),
}

_HEADLINE = {
    Action.CREATE: "will be created",
    Action.RECREATE: "was deleted outside provisioner and will be created again",
    Action.ADOPT: "exists already and will be adopted into the state",
    Action.UPDATE: "will be updated in-place",
    Action.REPLACE: "must be replaced (deleted, then created)",
    Action.DELETE: "will be deleted",
}


def when(epoch_ms: int | None) -> str:
    if not epoch_ms:
        return "an unknown time"
    t = dt.datetime.fromtimestamp(epoch_ms / 1000, tz=dt.UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _value(v: object, sensitive: bool) -> str:
    if sensitive:
        return "(sensitive)"
    if v is None:
        return '""'
    if isinstance(v, str):
        return escape.plain(v, quote=True)
    return escape.plain(json.dumps(v, ensure_ascii=False, sort_keys=True))


def _after(f: FieldChange) -> str:
    if f.unknown:
        return "(known after apply)"
    return _value(f.after, f.sensitive)


def _field_line(console: Console, f: FieldChange, width: int, action: Action) -> str:
    pad = escape.plain(f.path).ljust(width)
    forces = (
        console.style("  # forces replacement", "magenta")
        if f.forces_replacement and action is Action.REPLACE
        else ""
    )
    if action in (Action.CREATE, Action.RECREATE) or (
        action is Action.REPLACE and f.before is None
    ):
        return console.style("      + ", "green") + f"{pad} = {_after(f)}{forces}"
    if action is Action.DELETE or f.kind == "remove":
        return console.style("      - ", "red") + f"{pad} = {_value(f.before, f.sensitive)}{forces}"
    if f.kind == "add":
        return console.style("      + ", "green") + f"{pad} = {_after(f)}{forces}"
    if f.sensitive:
        return console.style("      ~ ", "yellow") + f"{pad} = (sensitive value changed){forces}"
    return (
        console.style("      ~ ", "yellow")
        + f"{pad} = {_value(f.before, False)} -> {_after(f)}{forces}"
    )


def drift_lines(change: Change, drift: Drift) -> list[str]:
    where = escape.plain(f"{change.sandbox}/{change.address}")
    if drift.deleted:
        return [f"  # {where} was deleted outside provisioner"]
    who = escape.plain(drift.updated_by or "someone")
    lines = [f"  # {where} was changed outside provisioner by {who} at {when(drift.updated_at)}:"]
    for f in drift.fields:
        if f.sensitive:
            continue
        lines.append(f"  #   {escape.plain(f.path)}: {_value(f.before, False)} -> {_value(f.after, False)}")
    return lines


def render_change(console: Console, change: Change, not_run: str | None = None) -> list[str]:
    symbol, color = _SYMBOL[change.action]
    where = escape.plain(f"{change.sandbox}/{change.address}")
    lines: list[str] = []
    if change.drift is not None and change.action is not Action.RECREATE:
        lines += drift_lines(change, change.drift)
    if change.moved_from is not None:
        old = escape.plain(f"{change.sandbox}/{change.moved_from}")
        lines.append(console.style(f"  # {old} has moved to {where}", "bold"))
        if change.action is Action.NOOP:
            lines.append(f"    {change.label} {escape.plain(change.address, quote=True)} {{")
            if change.remote_id:
                lines.append(f"        id = {_value(change.remote_id, False)}")
            lines.append("        # (nothing else changes)")
            lines.append("    }")
            return lines
    headline = _HEADLINE[change.action]
    if change.action is Action.ADOPT and change.also_update:
        headline = "exists already: it will be adopted and updated in-place"
    lines.append(console.style(f"  # {where} {headline}", "bold"))
    if not_run is not None:
        lines.append(console.style(f"  # WARNING: {not_run}", "yellow", "bold"))
    lines.append(
        console.style(f"  {symbol} ", color)
        + f"{change.label} {escape.plain(change.address, quote=True)} {{"
    )
    if change.remote_id:
        lines.append(f"        id = {_value(change.remote_id, False)}")
    if change.action is Action.ADOPT and not change.also_update:
        lines.append(f"        name = {_value(change.name, False)}")
    width = max((len(escape.plain(f.path)) for f in change.fields), default=0)
    for f in change.fields:
        lines.append(_field_line(console, f, width, change.action))
    lines.append("    }")
    return lines


def render(console: Console, plan: Plan) -> list[str]:
    """Every line of the human plan, including the closing summary."""
    lines: list[str] = []
    for change in plan.changes:
        if change.action is Action.NOOP and change.drift is not None:
            lines += drift_lines(change, change.drift)
            lines.append("  #   (the manifest agrees with the new values: nothing to do)")
            lines.append("")
    changes = [c for c in plan.changes if c.is_change]
    if not changes:
        lines.append(
            console.style("No changes.", "green", "bold")
            + f" The {plan.noun} match the manifests and the state."
        )
        return lines
    lines.append("provisioner will perform the following actions:")
    lines.append("")
    for change in changes:
        lines += render_change(console, change, plan.not_run(change))
        lines.append("")
    lines.append(console.style(plan.summary_line(), "bold"))
    blocked = sum(1 for c in changes if plan.not_run(c) is not None)
    if blocked:
        lines.append(
            console.style(
                f"{blocked} change{'s' if blocked != 1 else ''} (marked WARNING) will not run: "
                "deletes and replaces need a plan made with --allow-delete.",
                "yellow",
            )
        )
    return lines
