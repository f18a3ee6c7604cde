"""The saved plan's file format: a deterministic, checksummed JSON file with no secret in it.

A saved plan holds no secret. It records what the plan relied on, so that `apply FILE` can
refuse it when any of these moved: the state (lineage and serial), the manifests (their digest
and what each resolves to), the remote connections (their etags), and the secrets in the
environment (their salted fingerprints, compared per parameter, never by value).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provisioner import __version__
from provisioner.diff import FieldChange
from provisioner.errors import PlanError
from provisioner.model import Resource
from provisioner.plan import Action, Change, Drift, Plan

MARKER = "provisioner-saved-plan"
# 2: the endpoint, --allow-delete, per-sandbox state digests and moves are recorded.
FORMAT_VERSION = 2
# A plan file larger than this is not one of ours; don't read it into memory to find out.
_MAX_SNIFF_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class SavedPlan:
    """A plan as saved: the Plan data (without resources or listing) and how to re-create its inputs.

    `desired` holds, per address, the non-secret view of what the manifest asked for at plan
    time, so that an `${env:}` value that changed since is caught even though the files did not.
    `salt` is set only when the state did not exist yet (its salt was fresh), so that apply can
    recompute the same fingerprints; otherwise the state file holds it.
    """

    plan: Plan
    paths: tuple[str, ...]
    sandbox: str | None
    emulator: bool
    desired: Mapping[str, Mapping[str, Any]]
    salt: str | None = None
    endpoint: str = ""  # the Platform URL the plan was made against, or "emulator"


# -- writing ------------------------------------------------------------------------------------


def _field(f: FieldChange) -> dict[str, Any]:
    out = {"path": f.path, "before": f.before, "after": f.after, "sensitive": f.sensitive}
    if f.forces_replacement:
        out["forces_replacement"] = True
    if f.unknown:
        out["unknown"] = True
    return out


def _change(c: Change) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "action": c.action.value,
        "sandbox": c.sandbox,
        "address": c.address,
        "kind": c.kind,
        "name": c.name,
        "fields": [_field(f) for f in c.fields],
        "remote_id": c.remote_id,
        "remote_etag": c.remote_etag,
        "also_update": c.also_update,
        "protect": c.protect,
        "secret_fingerprints": dict(sorted(c.secret_fingerprints.items())),
        "drift": None,
    }
    if c.depends_on:
        doc["depends_on"] = list(c.depends_on)
    if c.moved_from is not None:
        doc["moved_from"] = c.moved_from
    if c.drift is not None:
        doc["drift"] = {
            "deleted": c.drift.deleted,
            "fields": [_field(f) for f in c.drift.fields],
            "updated_by": c.drift.updated_by,
            "updated_at": c.drift.updated_at,
        }
    return doc


def _where(sandbox: str, address: str) -> str:
    return f"{sandbox}/{address}"


def build(
    plan: Plan,
    *,
    paths: Iterable[str],
    sandbox: str | None,
    emulator: bool,
    salt: str,
    state_saved: bool,
    endpoint: str,
) -> SavedPlan:
    """The SavedPlan of a freshly computed plan (whose `resources` are still attached)."""
    desired: dict[str, dict[str, Any]] = {}
    for change in plan.changes:
        res = plan.resources.get(change.key)
        if res is not None:
            desired[_where(change.sandbox, change.address)] = _public_view(res)
    return SavedPlan(
        plan=plan,
        paths=tuple(paths),
        sandbox=sandbox,
        emulator=emulator,
        desired=desired,
        salt=None if state_saved else salt,
        endpoint=endpoint,
    )


def _public_view(res: Resource) -> dict[str, Any]:
    """What the manifest asked for, without its secrets and with references as addresses."""
    from provisioner import document

    shown = document.transform(
        document.public(res.document),
        lambda _p, v: {"$ref": v.address, "attribute": v.attribute}
        if isinstance(v, document.Ref)
        else v,
    )
    return dict(sorted(shown.items()))


def _body(saved: SavedPlan) -> dict[str, Any]:
    plan = saved.plan
    return {
        "format": MARKER,
        "format_version": FORMAT_VERSION,
        "provisioner_version": __version__,
        "org": plan.org,
        "endpoint": saved.endpoint,
        "allow_delete": plan.allow_delete,
        "state": {
            "lineage": plan.lineage,
            "serial": plan.serial,
            "salt": saved.salt,
            "sandboxes": dict(sorted(plan.state_digests.items())),
        },
        "manifests": {
            "paths": list(saved.paths),
            "sandbox": saved.sandbox,
            "digest": plan.manifest_digest,
            "desired": {k: dict(v) for k, v in sorted(saved.desired.items())},
        },
        "emulator": saved.emulator,
        "sandboxes": list(plan.sandboxes),
        "changes": [_change(c) for c in plan.changes],
    }


def _checksum(body: Mapping[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def dumps(saved: SavedPlan) -> str:
    """The file's text: sorted keys, 2-space indent, trailing newline, and a checksum of the rest."""
    body = _body(saved)
    body["checksum"] = _checksum(body)
    return json.dumps(body, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def save(path: str | Path, saved: SavedPlan) -> None:
    from provisioner.state.files import atomic_write

    target = Path(path)
    if target.exists() and not target.is_file():
        # A directory, a FIFO or a device (/dev/stdout): a rename would replace it, as root.
        raise PlanError(
            f"cannot write the plan to {target}: it is not a regular file; give --out a file path"
        )
    try:
        atomic_write(target, dumps(saved).encode("utf-8"))
    except OSError as exc:
        raise PlanError(
            f"cannot write the plan to {target} ({exc.strerror or exc}); "
            "check that its directory exists and is writable"
        ) from None


# -- reading ------------------------------------------------------------------------------------


def is_planfile(path: str | Path) -> bool:
    """True if `path` is a file holding a saved plan (JSON with our format marker)."""
    p = Path(path)
    try:
        if not p.is_file() or p.stat().st_size > _MAX_SNIFF_BYTES:
            return False
        with p.open("rb") as fh:
            head = fh.read(1)
            while head in (b" ", b"\t", b"\r", b"\n"):
                head = fh.read(1)
            if head != b"{":
                return False
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and doc.get("format") == MARKER


def claims(path: str | Path) -> bool:
    """True if `apply PATH` should treat PATH as a saved plan: one, or a file that is no manifest.

    Manifests are *.yaml/*.yml, so any other file is read as a plan, and a damaged or foreign
    file gets the plan reader's precise error rather than "not a manifest".
    """
    p = Path(path)
    return is_planfile(p) or (p.is_file() and p.suffix.lower() not in (".yaml", ".yml"))


class _Bad(Exception):
    pass


def _get(doc: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in doc or not isinstance(doc[key], kind) or (
        isinstance(doc[key], bool) and kind in (int, (int,))
    ):
        raise _Bad(f"{where}{key} is missing or malformed")
    return doc[key]


def _opt_str(doc: Mapping[str, Any], key: str, where: str) -> str | None:
    value = doc.get(key)
    if value is not None and not isinstance(value, str):
        raise _Bad(f"{where}{key} is malformed")
    return value


def _read_field(doc: Any, where: str) -> FieldChange:
    if not isinstance(doc, dict):
        raise _Bad(f"{where} is malformed")
    for key in ("before", "after"):
        if key not in doc:
            raise _Bad(f"{where}.{key} is missing")
    return FieldChange(
        path=_get(doc, "path", str, where + "."),
        before=doc["before"],
        after=doc["after"],
        sensitive=bool(_get(doc, "sensitive", bool, where + ".")),
        forces_replacement=doc.get("forces_replacement") is True,
        unknown=doc.get("unknown") is True,
    )


def _read_change(doc: Any, org: str, n: int) -> Change:
    where = f"changes[{n}]."
    if not isinstance(doc, dict):
        raise _Bad(f"changes[{n}] is malformed")
    try:
        action = Action(_get(doc, "action", str, where))
    except ValueError:
        raise _Bad(f"{where}action is not a known action") from None
    drift = None
    raw_drift = doc.get("drift")
    if raw_drift is not None:
        if not isinstance(raw_drift, dict):
            raise _Bad(f"{where}drift is malformed")
        updated_at = raw_drift.get("updated_at")
        if updated_at is not None and (not isinstance(updated_at, int) or isinstance(updated_at, bool)):
            raise _Bad(f"{where}drift.updated_at is malformed")
        drift = Drift(
            deleted=_get(raw_drift, "deleted", bool, where + "drift."),
            fields=tuple(
                _read_field(f, f"{where}drift.fields[{i}]")
                for i, f in enumerate(_get(raw_drift, "fields", list, where + "drift."))
            ),
            updated_by=_opt_str(raw_drift, "updated_by", where + "drift."),
            updated_at=updated_at,
        )
    depends = doc.get("depends_on", [])
    if not isinstance(depends, list) or not all(isinstance(d, str) for d in depends):
        raise _Bad(f"{where}depends_on is malformed")
    fps = _get(doc, "secret_fingerprints", dict, where)
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in fps.items()):
        raise _Bad(f"{where}secret_fingerprints is malformed")
    return Change(
        action=action,
        org=org,
        sandbox=_get(doc, "sandbox", str, where),
        address=_get(doc, "address", str, where),
        kind=_get(doc, "kind", str, where),
        name=_get(doc, "name", str, where),
        fields=tuple(
            _read_field(f, f"{where}fields[{i}]")
            for i, f in enumerate(_get(doc, "fields", list, where))
        ),
        remote_id=_opt_str(doc, "remote_id", where),
        remote_etag=_opt_str(doc, "remote_etag", where),
        also_update=_get(doc, "also_update", bool, where),
        protect=_get(doc, "protect", bool, where),
        drift=drift,
        secret_fingerprints=dict(sorted(fps.items())),
        depends_on=tuple(depends),
        moved_from=_opt_str(doc, "moved_from", where),
    )


def _decode(doc: dict[str, Any]) -> SavedPlan:
    org = _get(doc, "org", str, "")
    state = _get(doc, "state", dict, "")
    manifests = _get(doc, "manifests", dict, "")
    desired_doc = _get(manifests, "desired", dict, "manifests.")
    desired: dict[str, dict[str, Any]] = {}
    for where, view in desired_doc.items():
        if not isinstance(view, dict):
            raise _Bad(f"manifests.desired[{where!r}] is malformed")
        desired[where] = view
    paths = _get(manifests, "paths", list, "manifests.")
    if not all(isinstance(p, str) for p in paths):
        raise _Bad("manifests.paths is malformed")
    sandboxes = _get(doc, "sandboxes", list, "")
    if not all(isinstance(s, str) for s in sandboxes):
        raise _Bad("sandboxes is malformed")
    digests = _get(state, "sandboxes", dict, "state.")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in digests.items()):
        raise _Bad("state.sandboxes is malformed")
    plan = Plan(
        org=org,
        changes=tuple(
            _read_change(c, org, n) for n, c in enumerate(_get(doc, "changes", list, ""))
        ),
        lineage=_get(state, "lineage", str, "state."),
        serial=_get(state, "serial", int, "state."),
        manifest_digest=_get(manifests, "digest", str, "manifests."),
        sandboxes=tuple(sandboxes),
        allow_delete=_get(doc, "allow_delete", bool, ""),
        state_digests=dict(digests),
    )
    return SavedPlan(
        plan=plan,
        paths=tuple(paths),
        sandbox=_opt_str(manifests, "sandbox", "manifests."),
        emulator=_get(doc, "emulator", bool, ""),
        desired=desired,
        salt=_opt_str(state, "salt", "state."),
        endpoint=_get(doc, "endpoint", str, ""),
    )


def load(path: str | Path) -> SavedPlan:
    """Read a saved plan; PlanError (one sentence) if it is unreadable, damaged or too new."""
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PlanError(f"the plan file {p} does not exist; save one with 'provisioner plan --out {p}'") from None
    except (OSError, ValueError) as exc:
        raise PlanError(f"the plan file {p} cannot be read ({exc}); make a new one with 'provisioner plan --out {p}'") from None
    if not isinstance(doc, dict) or doc.get("format") != MARKER:
        raise PlanError(f"{p} is not a plan saved by 'provisioner plan --out'")
    version = doc.get("format_version")
    if version != FORMAT_VERSION:
        raise PlanError(
            f"the plan file {p} has format version {version!r}, but this provisioner "
            f"({__version__}) reads version {FORMAT_VERSION}; make the plan and apply it with "
            "the same provisioner version"
        )
    checksum = doc.pop("checksum", None)
    if checksum != _checksum(doc):
        raise PlanError(
            f"the plan file {p} was modified after it was saved (its checksum does not match); "
            f"a saved plan must be applied as reviewed: make a new one with 'provisioner plan --out {p}'"
        )
    try:
        return _decode(doc)
    except _Bad as exc:
        raise PlanError(f"the plan file {p} is damaged: {exc}; make a new one with 'provisioner plan --out {p}'") from None
