"""The plan's one data form: what `plan --json` prints and what a saved plan holds under `plan`.

`document(plan)` is the only encoder of a Plan's changes and `plan_from_document(doc)` the only
decoder, its inverse: `document(plan_from_document(d)) == d` for every document `document`
wrote (with the same provisioner version), which `planfile` checks on load. Both forms are
described by schemas/plan.schema.json.

FORMAT_VERSION is "MAJOR.MINOR": a new MINOR only adds fields, a new MAJOR changes or removes
some, so a consumer checks the MAJOR it understands and ignores fields it does not know.

Some keys are derived and never decoded: `actions`, `will_run`, `not_run_reason`, each field's
`change`, a drift's ISO `updated_at`, and the plan's `has_changes`, `summary` and
`action_counts`. A change's `also_update` is read back from its `actions` (["adopt", "update"]).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from provisioner import __version__
from provisioner.diff import FieldChange
from provisioner.plan import Action, Change, Drift, Plan

# 1.1: allow_delete, warnings, will_run, moved_from. 1.2: secret_fingerprints per change.
FORMAT_VERSION = "1.2"

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


# -- encoding -----------------------------------------------------------------------------------


def field_data(f: FieldChange) -> dict[str, Any]:
    # diff.FieldChange already masks sensitive values; they stay "(sensitive)" or null here.
    data: dict[str, Any] = {
        "path": f.path,
        "change": f.kind,
        "before": f.before,
        "after": f.after,
        "sensitive": f.sensitive,
    }
    if f.forces_replacement:
        data["forces_replacement"] = True
    if f.unknown:
        data["unknown"] = True
    return data


def drift_data(d: Drift) -> dict[str, Any]:
    return {
        "deleted": d.deleted,
        "updated_by": d.updated_by,
        "updated_at": iso(d.updated_at),
        "updated_at_ms": d.updated_at,
        "fields": [field_data(f) for f in d.fields],
    }


def actions(c: Change) -> list[str]:
    if c.action is Action.ADOPT and c.also_update:
        return ["adopt", "update"]
    return list(_ACTIONS[c.action])


def change_data(c: Change, not_run: str | None = None) -> dict[str, Any]:
    """The change's data form; `not_run` is why the plan will not run it (Plan.not_run)."""
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
        "fields": [field_data(f) for f in c.fields],
        "drift": drift_data(c.drift) if c.drift is not None else None,
        **({"depends_on": list(c.depends_on)} if c.depends_on else {}),
        **({"moved_from": c.moved_from} if c.moved_from is not None else {}),
        "secret_fingerprints": dict(sorted(c.secret_fingerprints.items())),
        "will_run": not_run is None,
        **({"not_run_reason": not_run} if not_run is not None else {}),
    }


def document(plan: Plan) -> dict[str, Any]:
    """The plan as a JSON-ready dict in format FORMAT_VERSION (`plan --json`)."""
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
        "changes": [change_data(c, plan.not_run(c)) for c in plan.changes],
    }


# -- decoding (of a document that schemas/plan.schema.json validated) --------------------------


def field_from_data(data: Mapping[str, Any]) -> FieldChange:
    return FieldChange(
        path=data["path"],
        before=data["before"],
        after=data["after"],
        sensitive=data["sensitive"],
        forces_replacement=data.get("forces_replacement", False),
        unknown=data.get("unknown", False),
    )


def drift_from_data(data: Mapping[str, Any]) -> Drift:
    return Drift(
        deleted=data["deleted"],
        fields=tuple(field_from_data(f) for f in data["fields"]),
        updated_by=data["updated_by"],
        updated_at=data["updated_at_ms"],
    )


def change_from_data(data: Mapping[str, Any], org: str) -> Change:
    """The Change that `change_data` encoded as `data` (the inverse of change_data)."""
    action = Action(data["action"])
    drift = data.get("drift")
    return Change(
        action=action,
        org=org,
        sandbox=data["sandbox"],
        address=data["address"],
        kind=data["kind"],
        name=data["name"],
        fields=tuple(field_from_data(f) for f in data["fields"]),
        remote_id=data["connection_id"],
        remote_etag=data["etag"],
        also_update=action is Action.ADOPT and data["actions"] == ["adopt", "update"],
        protect=data["protect"],
        drift=drift_from_data(drift) if drift is not None else None,
        secret_fingerprints=dict(sorted(data.get("secret_fingerprints", {}).items())),
        depends_on=tuple(data.get("depends_on", ())),
        moved_from=data.get("moved_from"),
    )


def plan_from_document(
    data: Mapping[str, Any], *, state_digests: Mapping[str, str] | None = None
) -> Plan:
    """The Plan that `document` encoded as `data`, without the resources or the listing (which
    are never serialised); `state_digests` come from the saved plan's envelope."""
    org: str = data["org"]
    return Plan(
        org=org,
        changes=tuple(change_from_data(c, org) for c in data["changes"]),
        lineage=data["state"]["lineage"],
        serial=data["state"]["serial"],
        manifest_digest=data["manifest_digest"],
        sandboxes=tuple(data["sandboxes"]),
        allow_delete=data.get("allow_delete", False),
        warnings=tuple(data.get("warnings", ())),
        state_digests=dict(state_digests or {}),
    )


def first_difference(a: Any, b: Any, pointer: str = "") -> str | None:
    """The JSON pointer of the first place where two JSON values differ (None: they are equal).
    Keys are compared in sorted order; a pointer's tokens are escaped as RFC 6901 says."""
    if type(a) is not type(b):
        return pointer
    if isinstance(a, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                return f"{pointer}/{_token(key)}"
            found = first_difference(a[key], b[key], f"{pointer}/{_token(key)}")
            if found is not None:
                return found
        return None
    if isinstance(a, list):
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            found = first_difference(x, y, f"{pointer}/{i}")
            if found is not None:
                return found
        return None if len(a) == len(b) else f"{pointer}/{min(len(a), len(b))}"
    return None if a == b else pointer


def _token(key: object) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")
