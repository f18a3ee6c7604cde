"""The machine-readable plan (`plan --json`, `show PLANFILE --json`), described by schemas/plan.schema.json.

FORMAT_VERSION is "MAJOR.MINOR": a new MINOR only adds fields, a new MAJOR changes or removes
some, so a consumer checks the MAJOR it understands and ignores fields it does not know.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from provisioner import __version__
from provisioner.diff import FieldChange
from provisioner.plan import Action, Change, Drift, Plan
from provisioner.render import escape

FORMAT_VERSION = "1.1"  # 1.1: allow_delete, warnings, will_run, moved_from

# What a change does, in Terraform's style: a replace is a delete then a create.
_ACTIONS = {
    Action.CREATE: ["create"],
    Action.RECREATE: ["create"],
    Action.ADOPT: ["adopt"],
    Action.UPDATE: ["update"],
    Action.REPLACE: ["delete", "create"],
    Action.DELETE: ["delete"],
    Action.NOOP: ["no-op"],
}


def iso(epoch_ms: int | None) -> str | None:
    if not epoch_ms:
        return None
    t = dt.datetime.fromtimestamp(epoch_ms / 1000, tz=dt.UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def field_doc(f: FieldChange) -> dict[str, Any]:
    # diff.FieldChange already masks sensitive values; they stay "(sensitive)" or null here.
    doc: dict[str, Any] = {
        "path": f.path,
        "change": f.kind,
        "before": f.before,
        "after": f.after,
        "sensitive": f.sensitive,
    }
    if f.forces_replacement:
        doc["forces_replacement"] = True
    if f.unknown:
        doc["unknown"] = True
    return doc


def drift_doc(d: Drift) -> dict[str, Any]:
    return {
        "deleted": d.deleted,
        "updated_by": d.updated_by,
        "updated_at": iso(d.updated_at),
        "updated_at_ms": d.updated_at,
        "fields": [field_doc(f) for f in d.fields],
    }


def actions(c: Change) -> list[str]:
    if c.action is Action.ADOPT and c.also_update:
        return ["adopt", "update"]
    return list(_ACTIONS[c.action])


def change_doc(c: Change, not_run: str | None = None) -> dict[str, Any]:
    return {
        "address": c.address,
        "sandbox": c.sandbox,
        "kind": c.kind,
        "name": c.name,
        "action": c.action.value,
        "actions": actions(c),
        "connection_id": c.remote_id,
        "etag": c.remote_etag,
        "protect": c.protect,
        "fields": [field_doc(f) for f in c.fields],
        "drift": drift_doc(c.drift) if c.drift is not None else None,
        **({"depends_on": list(c.depends_on)} if c.depends_on else {}),
        **({"moved_from": c.moved_from} if c.moved_from is not None else {}),
        "will_run": not_run is None,
        **({"not_run_reason": not_run} if not_run is not None else {}),
    }


def document(plan: Plan) -> dict[str, Any]:
    """The plan as a JSON-ready dict in format FORMAT_VERSION."""
    per_action = {a.value: 0 for a in Action}
    for c in plan.changes:
        per_action[c.action.value] += 1
    return {
        "format_version": FORMAT_VERSION,
        "provisioner_version": __version__,
        "org": plan.org,
        "sandboxes": list(plan.sandboxes),
        "state": {"lineage": plan.lineage, "serial": plan.serial},
        "manifest_digest": plan.manifest_digest,
        "has_changes": plan.has_changes,
        "summary": plan.counts(),
        "action_counts": per_action,
        "allow_delete": plan.allow_delete,
        "warnings": list(plan.warnings),
        "changes": [change_doc(c, plan.not_run(c)) for c in plan.changes],
    }


def render(plan: Plan) -> str:
    """The JSON text: 2-space indent, stable key order, trailing newline; control and format
    characters inside strings as \\uXXXX escapes (escape.json_text)."""
    return escape.json_text(json.dumps(document(plan), indent=2, ensure_ascii=False)) + "\n"
