"""The saved plan's file format: a deterministic, checksummed JSON file with no secret in it.

A saved plan holds no secret. It records what the plan relied on, so that `apply FILE` can
refuse it when any of these moved: the state (lineage and serial), the manifests (their digest
and what each resolves to), the remote connections (their etags), and the secrets in the
environment (their salted fingerprints, compared per parameter, never by value).

Format 3: the file is the plan's one data form, the very document `plan --json` prints
(provisioner/plan_data.py), under `plan`, plus an envelope (endpoint, emulator, state salt and
digests, manifests) and a checksum of both. Loading checks the marker, the version, the schema
(schemas/plan.schema.json, $defs/saved_plan), the checksum, then that the decoded plan encodes
to the same document again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provisioner import __version__, plan_data
from provisioner.errors import PlanError
from provisioner.model import Resource
from provisioner.plan import Plan
from provisioner.planfile import validation
from provisioner.render import escape

MARKER = "provisioner-saved-plan"
# 2: the endpoint, --allow-delete, per-sandbox state digests and moves are recorded.
# 3: the plan is the `plan --json` document (plan_data) under `plan`; validated on load.
FORMAT_VERSION = 3
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
    """The file's content without its checksum: the plan document (`plan --json`'s) and the
    envelope of what apply checks it against."""
    plan = saved.plan
    return {
        "format": MARKER,
        "format_version": FORMAT_VERSION,
        "plan": plan_data.document(plan),
        "endpoint": saved.endpoint,
        "emulator": saved.emulator,
        "state": {"salt": saved.salt, "sandboxes": dict(sorted(plan.state_digests.items()))},
        "manifests": {
            "paths": list(saved.paths),
            "sandbox": saved.sandbox,
            "desired": {k: dict(v) for k, v in sorted(saved.desired.items())},
        },
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


def _decode(doc: Mapping[str, Any]) -> SavedPlan:
    """The SavedPlan of a document that the schema validated: plan_data's one decoder for the
    plan, the envelope read as written."""
    state, manifests = doc["state"], doc["manifests"]
    return SavedPlan(
        plan=plan_data.plan_from_document(doc["plan"], state_digests=state["sandboxes"]),
        paths=tuple(manifests["paths"]),
        sandbox=manifests["sandbox"],
        emulator=doc["emulator"],
        desired={k: dict(v) for k, v in manifests["desired"].items()},
        salt=state["salt"],
        endpoint=doc["endpoint"],
    )


def load(path: str | Path) -> SavedPlan:
    """Read a saved plan; PlanError (one sentence) if it is unreadable, of another version, does
    not validate against schemas/plan.schema.json, was damaged, or is inconsistent."""
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PlanError(
            f"the plan file {p} does not exist; save one with 'provisioner plan --out {p}'"
        ) from None
    except (OSError, ValueError) as exc:
        raise PlanError(
            f"the plan file {p} cannot be read ({exc}); "
            f"make a new one with 'provisioner plan --out {p}'"
        ) from None
    if not isinstance(doc, dict) or doc.get("format") != MARKER:
        raise PlanError(f"{p} is not a plan saved by 'provisioner plan --out'")
    version = doc.get("format_version")
    if isinstance(version, int) and not isinstance(version, bool) and 0 < version < FORMAT_VERSION:
        raise PlanError(
            f"the plan file {p} was saved by an older provisioner (saved plan format version "
            f"{version}; this one reads version {FORMAT_VERSION}); run "
            f"'provisioner plan --out {p}' again"
        )
    if version != FORMAT_VERSION:
        raise PlanError(
            f"the plan file {p} has format version {escape.plain(repr(version))[:40]}, but this "
            f"provisioner ({__version__}) reads version {FORMAT_VERSION}; make the plan and "
            "apply it with the same provisioner version"
        )
    problem = validation.first_problem(doc)
    if problem is not None:
        raise PlanError(
            f"the plan file {p} is damaged: {problem} (see schemas/plan.schema.json, "
            f"$defs/saved_plan); make a new one with 'provisioner plan --out {p}'"
        )
    checksum = doc.pop("checksum")
    if checksum != _checksum(doc):
        raise PlanError(
            f"the plan file {p} was modified after it was saved (its checksum does not match); "
            "a saved plan must be applied as reviewed: make a new one with "
            f"'provisioner plan --out {p}'"
        )
    saved = _decode(doc)
    # The one decoder is the inverse of the one encoder: what it read must encode to the file
    # again (the derived keys, such as actions and summary, included).
    again = plan_data.document(saved.plan)
    again["provisioner_version"] = doc["plan"]["provisioner_version"]
    where = None
    if again != doc["plan"]:
        where = plan_data.first_difference(doc["plan"], again, "/plan")
    if where is not None:
        raise PlanError(
            f"the plan file {p} is inconsistent: {escape.plain(where)[:200]} does not match what "
            "the rest of its plan says (was it edited?); make a new one with "
            f"'provisioner plan --out {p}'"
        )
    return saved
