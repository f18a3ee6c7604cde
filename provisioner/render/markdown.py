"""The plan as a pull-request comment: summary table, one `<details>` block per resource, size-capped."""

from __future__ import annotations

import json
import re

from provisioner.diff import FieldChange
from provisioner.plan import Action, Change, Plan
from provisioner.render import escape
from provisioner.render.text import when

# GitHub refuses a comment body over 65,536 characters; stay under 65,535 counted in UTF-8 bytes
# (never fewer than characters), with room to spare for a bot's own header.
LIMIT = 65_535
# A hidden first line, so a workflow can find and update its earlier comment.
MARKER = "<!-- provisioner-plan -->"
TITLE = "### provisioner plan"

_LABEL = {
    Action.CREATE: "create",
    Action.RECREATE: "recreate",
    Action.ADOPT: "adopt",
    Action.UPDATE: "update",
    Action.REPLACE: "replace",
    Action.DELETE: "delete",
    Action.NOOP: "no-op",
}

_HEADLINE = {
    Action.CREATE: "will be created",
    Action.RECREATE: "was deleted outside provisioner and will be created again",
    Action.ADOPT: "exists already and will be adopted",
    Action.UPDATE: "will be updated in-place",
    Action.REPLACE: "must be replaced (deleted, then created)",
    Action.DELETE: "will be deleted",
    Action.NOOP: "was changed outside provisioner; the manifest agrees, nothing to do",
}


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def cell(text: str) -> str:
    """Text safe inside a table cell or other Markdown text (escape.markdown)."""
    return escape.markdown(text)


def _code(text: str) -> str:
    # escape.markdown writes character references, which HTML shows as the characters.
    return f"<code>{escape.markdown(text)}</code>"


def _value(v: object, sensitive: bool) -> str:
    if sensitive:
        return "(sensitive)"
    if v is None:
        return '""'
    if not isinstance(v, str):
        return escape.plain(json.dumps(v, ensure_ascii=False, sort_keys=True))
    return escape.plain(v, quote=True)


def _diff_line(c: Change, f: FieldChange) -> str:
    if c.action in (Action.CREATE, Action.RECREATE) or (c.action is Action.REPLACE and f.before is None):
        return f"+ {escape.plain(f.path)} = {_value(f.after, f.sensitive)}"
    if c.action is Action.DELETE or f.kind == "remove":
        return f"- {escape.plain(f.path)} = {_value(f.before, f.sensitive)}"
    if f.kind == "add":
        return f"+ {escape.plain(f.path)} = {_value(f.after, f.sensitive)}"
    if f.sensitive:
        return f"! {escape.plain(f.path)} = (sensitive value changed)"
    forces = "  # forces replacement" if f.forces_replacement and c.action is Action.REPLACE else ""
    return f"! {escape.plain(f.path)} = {_value(f.before, False)} -> {_value(f.after, False)}{forces}"


def _fence(body: str) -> str:
    # A fence longer than any run of backticks inside, so a value cannot end the block early.
    longest = max((len(m) for m in re.findall(r"`+", body)), default=0)
    return "`" * max(3, longest + 1)


def _drift_note(c: Change) -> list[str]:
    if c.drift is None or c.action is Action.RECREATE:
        return []
    if c.drift.deleted:
        return ["> [!WARNING]", "> Deleted outside provisioner.", ""]
    who = c.drift.updated_by or "someone"
    lines = ["> [!WARNING]", f"> Changed outside provisioner by {cell(who)} at {when(c.drift.updated_at)}:"]
    for f in c.drift.fields:
        if not f.sensitive:
            lines.append(f"> - `{cell(f.path)}`: {cell(_value(f.before, False))} → {cell(_value(f.after, False))}")
    return lines + [""]


def details(c: Change) -> str:
    """One resource's `<details>` block."""
    headline = _HEADLINE[c.action]
    if c.action is Action.ADOPT and c.also_update:
        headline = "exists already: it will be adopted and updated in-place"
    lines = [
        "<details>",
        f"<summary><b>{_LABEL[c.action]}</b> {_code(c.sandbox + '/' + c.address)} {headline}</summary>",
        "",
    ]
    lines += _drift_note(c)
    if c.remote_id:
        lines.append(f"{c.label.capitalize()} id: {_code(c.remote_id)}")
        lines.append("")
    body = "\n".join(_diff_line(c, f) for f in c.fields)
    if body:
        fence = _fence(body)
        lines += [f"{fence}diff", body, fence]
    else:
        lines.append(f"Name: {cell(c.name)}")
    lines += ["", "</details>", ""]
    return "\n".join(lines)


def _row(c: Change) -> str:
    label = _LABEL[c.action] + (" + update" if c.action is Action.ADOPT and c.also_update else "")
    drift = "deleted outside" if c.drift and c.drift.deleted else ("changed outside" if c.drift else "")
    return (
        f"| {label} | `{cell(c.address)}` | {cell(c.sandbox)} | {cell(c.name)} | "
        f"{cell(c.remote_id or '')} | {drift} |"
    )


def _warnings(plan: Plan) -> list[str]:
    """What will not run, what moved, and what the plan leaves alone: GitHub alert blocks."""
    out: list[str] = []
    blocked = [c for c in plan.changes if c.is_change and plan.not_run(c) is not None]
    if blocked:
        out.append(
            "> [!WARNING]\n> These changes will not run: they delete, and the plan was made "
            "without `--allow-delete` (make the plan with `--allow-delete` to allow them): "
            + ", ".join(_code(f"{c.sandbox}/{c.address}") for c in blocked)
            + "."
        )
        out.append("")
    for c in plan.changes:
        if c.moved_from is not None:
            out.append(
                f"{_code(c.sandbox + '/' + c.moved_from)} has moved to "
                f"{_code(c.sandbox + '/' + c.address)}."
            )
            out.append("")
    for w in plan.warnings:
        out += [f"> [!WARNING]\n> {cell(w)}", ""]
    return out


def _summary(plan: Plan) -> str:
    return f"**{plan.summary_line()}**"


def _picture(plan: Plan, limit: int) -> str:
    """The graph of a plan whose resources reference each other, as a Mermaid block (kept to a
    fifth of the comment; a bigger graph is left to `provisioner graph`)."""
    from provisioner.render import graph

    nodes, edges = graph.of_plan(plan)
    if not edges:
        return ""
    block = "```mermaid\n" + graph.mermaid(nodes, edges) + "\n```\n"
    return block if _size(block) <= limit // 5 else ""


def render(plan: Plan, *, limit: int = LIMIT) -> str:
    """The whole comment, at most `limit` bytes; cut details (then rows) and say so if needed."""
    shown = [c for c in plan.changes if c.is_change or c.drift is not None]
    head = [MARKER, TITLE, ""]
    if not plan.has_changes:
        head += [f"**No changes.** The {plan.noun} match the manifests and the state.", ""]
    else:
        head += [_summary(plan), ""]
    sandboxes = ", ".join(plan.sandboxes) or "(none)"
    head += [f"Org `{cell(plan.org)}`, sandbox{'es' if len(plan.sandboxes) != 1 else ''} {cell(sandboxes)}.", ""]
    head += _warnings(plan)
    if not shown:
        return "\n".join(head)

    table_head = [
        "| Action | Address | Sandbox | Name | Connection id | Drift |",
        "|---|---|---|---|---|---|",
    ]
    rows = [_row(c) for c in shown]
    blocks = [details(c) for c in shown]
    picture = _picture(plan, limit)

    def note(rows_cut: int, details_cut: int) -> str:
        parts = []
        if rows_cut:
            parts.append(f"{rows_cut} more row{'s' if rows_cut != 1 else ''} of the table")
        if details_cut:
            parts.append(f"the details of {details_cut} resource{'s' if details_cut != 1 else ''}")
        return (
            f"> [!NOTE]\n> {' and '.join(parts).capitalize()} are not shown, to keep this comment "
            "under GitHub's 65,535-character limit. The full plan is in the job log "
            "(`provisioner show PLANFILE`).\n"
        )

    worst_note = _size(note(len(rows), len(blocks)))
    budget = limit - worst_note - 1
    used = _size("\n".join(head + table_head)) + 2
    n_rows = 0
    for r in rows:
        if used + _size(r) + 1 > budget:
            break
        used += _size(r) + 1
        n_rows += 1
    n_blocks = 0
    with_picture = False
    if n_rows == len(rows) and picture and used + _size(picture) + 1 <= budget:
        used += _size(picture) + 1
        with_picture = True
    if n_rows == len(rows):
        used += 1
        for b in blocks:
            if used + _size(b) + 1 > budget:
                break
            used += _size(b) + 1
            n_blocks += 1
    out = head + table_head + rows[:n_rows] + [""]
    if with_picture:
        out.append(picture)
    out += blocks[:n_blocks]
    if n_rows < len(rows) or n_blocks < len(blocks):
        out.append(note(len(rows) - n_rows, len(blocks) - n_blocks))
    text = "\n".join(out)
    assert _size(text) <= limit, "markdown budget miscounted"
    return text
