"""How a plan is computed: desired (manifests), owned (state) and existing (remote listing)
resources compared into one Change per address (provisioner.plan holds the data).

    Prepared(org, resources, state, moved)    before the reads end; .compare(sandbox, items)
                                               in each read lane as an answer arrives
    compute(org=..., resources=..., state=..., remote=..., ...) -> Plan (or PlanError)
    destroy_plan(state, org, sandboxes)        the deletes of everything owned
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from typing import Any, TypedDict

from provisioner import diff, kinds
from provisioner import document as doc
from provisioner.document import UNKNOWN, Ref
from provisioner.errors import PlanError
from provisioner.model import Remote, Resource
from provisioner.plan import Action, Change, Drift, Plan
from provisioner.state import State, StateEntry, fingerprint


def fingerprints(resource: Resource, salt: str) -> dict[str, str]:
    """Salted fingerprints of the resource's secret leaves, by dotted path: how a rotation is seen."""
    return {_dotted(p): fingerprint(salt, v.reveal()) for p, v in resource.secrets}


@functools.lru_cache(maxsize=1024)
def _dotted(path: doc.Path) -> str:
    # The few distinct secret paths (auth.params.s3SecretKey...), written once each.
    return doc.dotted(path)


def comparable(
    document: Mapping[str, Any], fps: Mapping[str, str], secrets: Iterable[doc.Path] | None = None
) -> dict[str, Any]:
    """`document` with each secret leaf as its fingerprint (the form every diff compares).
    `secrets`, when known, are the paths of its secret leaves (saves a walk)."""
    if secrets is None:
        secrets = doc.secret_paths(document)
    return doc.replaced(document, {p: fps.get(_dotted(p), "") for p in secrets})


def with_fingerprints(document: Mapping[str, Any], fps: Mapping[str, str]) -> Mapping[str, Any]:
    """A remote or state document (which never holds secrets) with `fps` put at their paths
    (only the containers on those paths are copied: the result is for comparing, not editing)."""
    if not fps:
        return document
    paths: dict[doc.Path, Any] = {_split(p): fp for p, fp in fps.items()}
    try:
        return doc.replaced(document, paths)
    except (KeyError, TypeError):  # a container on the way is missing: build it
        out: dict[str, Any] = doc.plain(document)
        for path, fp in paths.items():
            doc.put(out, path, fp)
        return out


@functools.lru_cache(maxsize=1024)
def _split(dotted: str) -> doc.Path:
    # The few distinct fingerprint paths (auth.params.s3SecretKey...), split once each.
    return tuple(dotted.split("."))


def resolved(res: Resource, lookup: Callable[[Ref], Any]) -> Mapping[str, Any]:
    """The resource's document with each reference replaced by lookup(ref) (which may answer
    UNKNOWN); the document itself when it references nothing."""
    if not res.refs:
        return res.document
    return doc.replaced(res.document, {path: lookup(ref) for path, ref in res.refs})


def topological(resources: Iterable[Resource]) -> list[Resource]:
    """Resources with every one after those it references (ties by sandbox and address)."""
    todo = {(r.sandbox, r.address): r for r in resources}
    if not any(r.depends_on for r in todo.values()):
        return [todo[key] for key in sorted(todo)]  # nothing references anything: by key
    done: set[tuple[str, str]] = set()
    out: list[Resource] = []

    visiting: set[tuple[str, str]] = set()

    def visit(key: tuple[str, str]) -> None:
        if key in done or key not in todo or key in visiting:
            return  # (a circle is a validation error long before this)
        res = todo[key]
        if res.depends_on:
            visiting.add(key)
            for dep in res.depends_on:
                visit((res.sandbox, dep))
            visiting.discard(key)
        done.add(key)
        out.append(res)

    for key in sorted(todo):
        visit(key)
    return out


class _Resolver:
    """What a Ref stands for at plan time: a known value, or UNKNOWN until apply."""

    def __init__(self, state: State, org: str, lookups: Mapping[tuple[str, str], Remote]) -> None:
        self.state = state
        self.org = org
        self.lookups = lookups
        self.planned: dict[tuple[str, str], Change] = {}
        self.desired: dict[tuple[str, str], tuple[str, Mapping[str, Any]]] = {}
        self.known: dict[tuple[str, str], Remote] = {}

    def lookup(self, sandbox: str, ref: Ref) -> Any:
        key = (sandbox, ref.address)
        found = self.lookups.get(key)
        if found is not None:
            return found.attributes.get(ref.attribute, UNKNOWN)
        change = self.planned.get(key)
        if ref.attribute != "id" and key in self.desired:
            kind_name, desired = self.desired[key]
            value = kinds.get(kind_name).attributes_of(desired).get(ref.attribute)
            if value is not None:
                return value
        if change is not None and change.action in (Action.CREATE, Action.RECREATE, Action.REPLACE):
            return UNKNOWN
        if change is not None and change.also_update and ref.attribute != "id":
            return UNKNOWN  # adopted and changed: a new version, say
        if (
            change is not None
            and change.action is Action.UPDATE
            and ref.attribute != "id"
            and kinds.get(change.kind).update_by == "put"
        ):
            return UNKNOWN  # a new version
        if ref.attribute == "id":
            if change is not None and change.remote_id:
                return change.remote_id
            entry = self.state.get(self.org, sandbox, ref.address)
            return entry.id if entry is not None else UNKNOWN
        remote = self.known.get(key)
        if remote is not None and ref.attribute in remote.attributes:
            return remote.attributes[ref.attribute]
        entry = self.state.get(self.org, sandbox, ref.address)
        if entry is not None and ref.attribute in entry.attributes:
            return entry.attributes[ref.attribute]
        return UNKNOWN


# An owned resource's two comparisons: the state's record with what was read (drift), and
# what was read with what is declared (the fields to change).
Diffs = tuple[tuple[diff.FieldChange, ...], tuple[diff.FieldChange, ...]]


def _diffs(
    res: Resource,
    desired: Mapping[str, Any],
    entry: StateEntry,
    current: Remote,
    fps: dict[str, str],
) -> Diffs:
    kind = kinds.get(res.kind)
    drift = diff.compare(kind, entry.document, current.document)
    want = comparable(desired, fps, [p for p, _ in res.secrets])
    have = with_fingerprints(current.document, entry.secret_fingerprints)
    # Equal documents (the usual case) need neither the secret paths nor the diff.
    if have == want:
        return drift, ()
    return drift, diff.compare(
        kind, have, want, secret=fps.keys() | entry.secret_fingerprints.keys()
    )


class Prepared:
    """What `compute` needs that no remote answer changes, worked out while the reads are on
    their way: the resources in dependency order, the owned ids, the problems of names and
    moves, each resource's secret fingerprints. And the comparisons made as answers arrive:
    `compare` is given each answer's items in its read lane (RemoteReader's `on_read`) and
    compares every one that an owned resource which references nothing stands for; `compute`
    takes such a comparison only for the very item, state entry and document it then uses
    (an item read twice is compared again where it is used)."""

    def __init__(
        self,
        org: str,
        resources: Iterable[Resource],
        state: State,
        moved: Mapping[tuple[str, str], str] | None = None,
    ) -> None:
        self.org = org
        self.resources = resources
        self.state = state
        self.moved = moved
        self.ordered = topological(resources)
        self.declared = {(org, r.sandbox, r.address): r for r in self.ordered}
        self.owned_ids = {(e.sandbox, e.id) for e in state.entries.values() if e.org == org}
        self.name_problems: list[str] = []
        _check_unique_names(self.declared.values(), self.name_problems)
        self.move_problems: list[str] = []
        self.renamed = _moves(state, org, self.declared, moved or {}, self.move_problems)
        self.fps = {key: fingerprints(res, state.salt) for key, res in self.declared.items()}
        # (sandbox, remote id) -> the owned, reference-free resource and its state entry
        self._owners: dict[tuple[str, str], tuple[Resource, StateEntry]] = {}
        for key, res in self.declared.items():
            if res.refs or not kinds.get(res.kind).managed:
                continue
            entry = state.get(*self.entry_key(key))
            if entry is not None and entry.kind == res.kind:
                self._owners[(res.sandbox, entry.id)] = (res, entry)
        self._compared: dict[tuple[str, str], tuple[Remote, StateEntry, Diffs]] = {}
        self.used = 0  # comparisons compute took from the lanes

    def entry_key(self, key: tuple[str, str, str]) -> tuple[str, str, str]:
        """Where the state records the declared `key` (its old address if it has moved)."""
        moved_from = self.renamed.get(key)
        return key if moved_from is None else (key[0], key[1], moved_from)

    def made_for(
        self,
        org: str,
        resources: Iterable[Resource],
        state: State,
        moved: Mapping[tuple[str, str], str] | None,
    ) -> bool:
        return (
            org == self.org
            and resources is self.resources
            and state is self.state
            and (moved or None) == (self.moved or None)
        )

    def compare(self, sandbox: str, items: list[Remote]) -> None:
        for item in items:
            owner = self._owners.get((sandbox, item.id))
            if owner is None or item.kind != owner[0].kind:
                continue
            res, entry = owner
            key = (self.org, res.sandbox, res.address)
            diffs = _diffs(res, res.document, entry, item, self.fps[key])
            self._compared[(sandbox, item.id)] = (item, entry, diffs)

    def compared_with(
        self, res: Resource, desired: Mapping[str, Any], entry: StateEntry, current: Remote | None
    ) -> Diffs | None:
        """The comparison made as `current` arrived, if it was made for exactly these."""
        if current is None or desired is not res.document:
            return None
        found = self._compared.get((res.sandbox, current.id))
        if found is None or found[0] is not current or found[1] is not entry:
            return None
        self.used += 1
        return found[2]


def compute(
    *,
    org: str,
    resources: Iterable[Resource],
    state: State,
    remote: Mapping[str, list[Remote]],
    sandboxes: Iterable[str],
    manifest_digest: str,
    lookups: Mapping[tuple[str, str], Remote] | None = None,
    moved: Mapping[tuple[str, str], str] | None = None,
    allow_delete: bool = False,
    prepared: Prepared | None = None,
) -> Plan:
    """Compare desired, owned and existing resources; raise PlanError for what cannot be planned.

    `remote` maps each sandbox in scope to its full listing (every kind's items). `moved` maps
    (sandbox, new address) to the old address the state may still record it under.
    `prepared` is what was worked out for these resources and state before the reads ended
    (made here when not given, or when given for others).
    """
    if prepared is None or not prepared.made_for(org, resources, state, moved):
        prepared = Prepared(org, resources, state, moved)
    scope = sorted(set(sandboxes))
    ordered = prepared.ordered
    declared = prepared.declared

    by_id: dict[tuple[str, str], Remote] = {}
    for sandbox, items in remote.items():
        for item in items:
            by_id[(sandbox, item.id)] = item
    owned_ids = prepared.owned_ids

    problems: list[str] = list(prepared.name_problems)
    warnings: list[str] = []
    _check_swapped_ids(state, org, scope, by_id, problems)
    renamed = prepared.renamed
    problems.extend(prepared.move_problems)

    found = dict(lookups or {})
    resolver = _Resolver(state, org, found)
    changes: list[Change] = []
    # The remote items by sandbox, kind and name, once: adoption and duplicate checks look a
    # name up instead of scanning the whole listing for every resource (N x M at thousands).
    by_name: dict[tuple[str, str, str], list[Remote]] = defaultdict(list)
    for sandbox, items in remote.items():
        for item in items:
            by_name[(sandbox, item.kind, item.name)].append(item)

    def _named(res: Resource, desired: Mapping[str, Any]) -> list[Remote]:
        name = kinds.get(res.kind).identity(desired)
        return by_name.get((res.sandbox, res.kind, name), []) if name is not None else []

    for res in ordered:
        if not kinds.get(res.kind).managed:
            continue
        key = (org, res.sandbox, res.address)
        entry = state.get(*key)
        moved_from = renamed.get(key)
        if moved_from is not None:
            entry = state.get(org, res.sandbox, moved_from)
        fps = prepared.fps[key]
        desired = resolved(res, functools.partial(resolver.lookup, res.sandbox))
        resolver.desired[(res.sandbox, res.address)] = (res.kind, desired)
        if entry is not None and entry.kind == res.kind:
            current = by_id.get((res.sandbox, entry.id))
            diffs = prepared.compared_with(res, desired, entry, current)
            change = _plan_owned(org, res, desired, entry, current, fps, problems, diffs)
        elif entry is not None:
            problems.append(
                f"{res.sandbox}/{res.address} is recorded in the state as a {entry.kind} but "
                f"declared as a {res.kind}; give the new resource another address, or "
                f"'provisioner state rm {res.sandbox}/{res.address}' the old one first"
            )
            continue
        else:
            change = _plan_new(org, res, desired, _named(res, desired), owned_ids, fps, problems)
        if moved_from is not None:
            change = replace(change, moved_from=moved_from)
        if entry is not None:
            warnings.extend(_strangers(res, desired, _named(res, desired), owned_ids))
        resolver.planned[(res.sandbox, res.address)] = change
        if change.remote_id is not None and (res.sandbox, change.remote_id) in by_id:
            resolver.known[(res.sandbox, res.address)] = by_id[(res.sandbox, change.remote_id)]
        changes.append(change)

    gone = {(org, sandbox, old) for (_o, sandbox, _new), old in renamed.items()}
    for key, entry in sorted(state.entries.items()):
        if entry.org != org or entry.sandbox not in scope or key in declared or key in gone:
            continue
        if entry.protect:
            problems.append(
                f"{entry.sandbox}/{entry.address} is protected (protect: true) and no longer "
                "declared, so it would be deleted; declare it again, or set protect: false and "
                "apply before removing it, or 'provisioner state rm' it to stop managing it"
            )
            continue
        changes.append(delete_change(entry, by_id.get((entry.sandbox, entry.id))))

    if problems:
        raise PlanError(_join(problems))
    changes.sort(key=lambda c: (c.sandbox, c.address))
    return Plan(
        org=org,
        changes=tuple(changes),
        lineage=state.lineage,
        serial=state.serial,
        manifest_digest=manifest_digest,
        sandboxes=tuple(scope),
        resources=declared,
        remote=by_id,
        lookups=found,
        allow_delete=allow_delete,
        warnings=tuple(warnings),
        state_digests=_StateDigests(state, org, scope),
    )


def state_digests(state: State, org: str, sandboxes: Iterable[str]) -> dict[str, str]:
    """Per sandbox, a digest of what the state records there: a saved plan for one sandbox is
    stale when its sandbox's entries moved, never because another sandbox was applied."""
    out: dict[str, str] = {}
    for sandbox in sorted(set(sandboxes)):
        rows = [
            [
                e.address,
                e.kind,
                e.id,
                e.etag,
                e.document,
                e.secret_fingerprints,
                e.protect,
                e.depends_on,
                e.attributes,
            ]
            for e in sorted(state.in_scope(org, sandbox), key=lambda e: e.address)
        ]
        text = json.dumps(rows, sort_keys=True, separators=(",", ":"), default=_json_value)
        out[sandbox] = "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()
    return out


class _StateDigests(Mapping[str, str]):
    """state_digests(...), worked out when first read: only a saved plan needs them, and at
    thousands of entries they cost a fifth of the plan's comparison. A State is immutable,
    so the answer is the one the plan was made with."""

    def __init__(self, state: State, org: str, sandboxes: Iterable[str]) -> None:
        self._scope = sorted(set(sandboxes))
        self._state = state
        self._org = org
        self._digests: dict[str, str] | None = None

    def _all(self) -> dict[str, str]:
        if self._digests is None:
            self._digests = state_digests(self._state, self._org, self._scope)
        return self._digests

    def __getitem__(self, sandbox: str) -> str:
        return self._all()[sandbox]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._scope)


def _json_value(value: Any) -> Any:
    # Frozen documents (read-only mappings) are written as the objects they are.
    if isinstance(value, doc.MAPS):
        return dict(value)
    return str(value)


def _moves(
    state: State,
    org: str,
    declared: Mapping[tuple[str, str, str], Resource],
    moved: Mapping[tuple[str, str], str],
    problems: list[str],
) -> dict[tuple[str, str, str], str]:
    """The declared keys whose state entry is still recorded under a `moved:` old address."""
    out: dict[tuple[str, str, str], str] = {}
    for (sandbox, new), old in sorted(moved.items()):
        key = (org, sandbox, new)
        if key not in declared:
            problems.append(
                f"moved: {old} -> {new} in sandbox {sandbox}, but no manifest declares {new}; "
                "declare it, or remove the moved: entry"
            )
            continue
        if (org, sandbox, old) in declared:
            problems.append(
                f"moved: {old} -> {new} in sandbox {sandbox}, but {old} is still declared; "
                "remove its declaration, or the moved: entry"
            )
            continue
        before = state.get(org, sandbox, old)
        if before is None:
            continue  # moved already (or never applied): nothing to do
        if state.get(*key) is not None:
            problems.append(
                f"moved: {old} -> {new} in sandbox {sandbox}, but the state holds both "
                f"addresses; 'provisioner state rm {sandbox}/{old}' the one you no longer want"
            )
            continue
        out[key] = old
    return out


def _check_swapped_ids(
    state: State,
    org: str,
    scope: Iterable[str],
    by_id: Mapping[tuple[str, str], Remote],
    problems: list[str],
) -> None:
    """Two entries whose ids each point at the other's remote record (by name): a corrupted
    state (ids swapped by hand), never outside drift to be applied."""
    for sandbox in scope:
        entries = [e for e in state.in_scope(org, sandbox) if kinds.get(e.kind).adopt_by_name]
        # Only an entry whose id reads as another name can be one of a swapped pair.
        suspects: list[StateEntry] = []
        for e in entries:
            found = by_id.get((sandbox, e.id))
            if found is None or found.kind != e.kind or not found.name or found.name == e.name:
                continue
            suspects.append(e)
        if not suspects:
            continue  # the usual case: every id reads as its own name
        by_name: dict[tuple[str, str], StateEntry] = {}
        for e in entries:
            if e.name:
                by_name.setdefault((e.kind, e.name), e)
        reported: set[str] = set()
        for e in sorted(suspects, key=lambda e: e.address):
            found = by_id[(sandbox, e.id)]
            other = by_name.get((e.kind, found.name))
            if other is None or other is e or e.address in reported:
                continue
            theirs = by_id.get((sandbox, other.id))
            if theirs is None or theirs.name != e.name:
                continue
            reported |= {e.address, other.address}
            problems.append(
                f"the state is corrupted: {sandbox}/{e.address} and {sandbox}/{other.address} "
                f"hold each other's ids ({e.id} is the {kinds.get(e.kind).label} named "
                f"{found.name!r}, {other.id} the one named {theirs.name!r}); put the ids back, "
                f"or 'provisioner state rm' both and plan again to adopt them by name"
            )


def _strangers(
    res: Resource, desired: Mapping[str, Any], listing: list[Remote], owned: set[tuple[str, str]]
) -> list[str]:
    """A warning for remote items the state does not own that share an owned resource's name."""
    kind = kinds.get(res.kind)
    if not kind.adopt_by_name:
        return []
    ids = sorted(
        c.id for c in listing if kind.matches(c, desired) and (res.sandbox, c.id) not in owned
    )
    if not ids:
        return []
    return [stranger_warning(res.sandbox, res.address, kind.label, res.name, ids)]


def stranger_warning(sandbox: str, address: str, label: str, name: str, ids: list[str]) -> str:
    return (
        f"{sandbox}/{address}: {len(ids)} other {label}{'s' if len(ids) > 1 else ''} named "
        f"{name!r} exist{'' if len(ids) > 1 else 's'} in sandbox {sandbox} that the state does "
        f"not own ({', '.join(ids)}); provisioner leaves {'them' if len(ids) > 1 else 'it'} "
        "alone: delete or rename the duplicate, or import it under its own address"
    )


def destroy_plan(
    state: State, org: str, sandboxes: Iterable[str]
) -> tuple[Plan, list[StateEntry]]:
    """The plan that deletes every unprotected resource the state owns in `sandboxes` (the
    state's record is enough: deleting needs only the id, and one already gone is forgotten),
    and the protected entries it keeps."""
    scope = sorted(set(sandboxes))
    entries = [e for s in scope for e in state.in_scope(org, s)]
    kept = [e for e in entries if e.protect]
    changes = tuple(delete_change(e, None, listed=False) for e in entries if not e.protect)
    plan = Plan(
        org=org,
        changes=changes,
        lineage=state.lineage,
        serial=state.serial,
        manifest_digest="",
        sandboxes=tuple(scope),
        allow_delete=True,
    )
    return plan, kept


def delete_change(entry: StateEntry, remote: Remote | None, *, listed: bool = True) -> Change:
    """The deletion of an owned resource. `remote` is what the listing found of it (None:
    already gone); with listed=False nothing was listed and the state's record stands alone."""
    kind = kinds.get(entry.kind)
    return Change(
        action=Action.DELETE,
        org=entry.org,
        sandbox=entry.sandbox,
        address=entry.address,
        kind=entry.kind,
        name=entry.name,
        fields=diff.removed(
            kind,
            with_fingerprints(entry.document, entry.secret_fingerprints),
            secret=entry.secret_fingerprints.keys(),
        ),
        remote_id=entry.id,
        remote_etag=remote.etag if remote else entry.etag,
        protect=entry.protect,
        drift=Drift(deleted=True) if listed and remote is None else None,
        depends_on=entry.depends_on,
    )


def _join(problems: list[str]) -> str:
    if len(problems) == 1:
        return problems[0] + "."
    return f"{len(problems)} problems prevent a plan:\n" + "\n".join(f"  - {p}" for p in problems)


def _check_unique_names(resources: Iterable[Resource], problems: list[str]) -> None:
    seen: dict[tuple[str | None, str, str], list[str]] = defaultdict(list)
    for r in resources:
        if r.name and kinds.get(r.kind).adopt_by_name:
            seen[(r.sandbox, r.kind, r.name)].append(r.address)
    shared = [(key, addresses) for key, addresses in seen.items() if len(addresses) > 1]
    for (sandbox, _kind, name), addresses in sorted(shared, key=lambda kv: str(kv[0])):
        problems.append(
            f"{' and '.join(sorted(addresses))} all declare the name {name!r} in sandbox "
            f"{sandbox}; names must be unique per sandbox so that a lost state can be "
            "recovered by name; give each its own name"
        )


class _Base(TypedDict):
    """The fields every Change of one address shares."""

    org: str
    sandbox: str
    address: str
    kind: str
    name: str
    depends_on: tuple[str, ...]


def _base(org: str, res: Resource) -> _Base:
    return _Base(
        org=org,
        sandbox=res.sandbox,
        address=res.address,
        kind=res.kind,
        name=res.name,
        depends_on=res.depends_on,
    )


def _plan_owned(
    org: str,
    res: Resource,
    desired: Mapping[str, Any],
    entry: StateEntry,
    current: Remote | None,
    fps: dict[str, str],
    problems: list[str],
    diffs: Diffs | None = None,
) -> Change:
    kind = kinds.get(res.kind)
    base = _base(org, res)
    if current is None:
        want = comparable(desired, fps, [p for p, _ in res.secrets])
        return Change(
            action=Action.RECREATE,
            fields=diff.added(kind, want, secret=fps.keys() | entry.secret_fingerprints.keys()),
            protect=res.protect,
            drift=Drift(deleted=True),
            secret_fingerprints=fps,
            **base,
        )
    drift_fields, fields = diffs or _diffs(res, desired, entry, current, fps)
    drift = (
        Drift(
            deleted=False,
            fields=drift_fields,
            updated_by=current.updated_by,
            updated_at=current.updated_at,
        )
        if drift_fields
        else None
    )
    forcing = [f for f in fields if f.forces_replacement]
    if forcing:
        if res.protect or entry.protect:
            problems.append(
                f"{res.sandbox}/{res.address} is protected (protect: true), but changing its "
                f"{forcing[0].path} needs a replace (delete, then create); set protect: false "
                "and apply first if you mean it"
            )
        return Change(
            action=Action.REPLACE,
            fields=fields,
            remote_id=current.id,
            remote_etag=current.etag,
            protect=res.protect,
            drift=drift,
            secret_fingerprints=fps,
            **base,
        )
    return Change(
        action=Action.UPDATE if fields else Action.NOOP,
        fields=fields,
        remote_id=current.id,
        remote_etag=current.etag,
        protect=res.protect,
        drift=drift,
        secret_fingerprints=fps,
        **base,
    )


def _plan_new(
    org: str,
    res: Resource,
    desired: Mapping[str, Any],
    listing: list[Remote],
    owned_ids: set[tuple[str, str]],
    fps: dict[str, str],
    problems: list[str],
) -> Change:
    kind = kinds.get(res.kind)
    sandbox = res.sandbox
    base = _base(org, res)
    want = comparable(desired, fps, [p for p, _ in res.secrets])
    candidates = (
        [
            c
            for c in listing
            if kind.matches(c, desired) and (sandbox, c.id) not in owned_ids
        ]
        if kind.adopt_by_name
        else []
    )
    if not candidates:
        return Change(
            action=Action.CREATE,
            fields=diff.added(kind, want, secret=fps.keys()),
            protect=res.protect,
            secret_fingerprints=fps,
            **base,
        )
    if len(candidates) > 1:
        ids = ", ".join(sorted(c.id for c in candidates))
        problems.append(
            f"{sandbox}/{res.address}: {len(candidates)} {kind.label}s named {res.name!r} already "
            f"exist in sandbox {sandbox} ({ids}); choose one with "
            f"'provisioner import {res.address} {kind.label.upper()}_ID'"
        )
        return Change(action=Action.NOOP, **base)
    found = candidates[0]
    # Adopting: secrets cannot be read back, so nothing proves the declared ones are in place:
    # they are planned as a (sensitive) update, which makes them true.
    fields = diff.compare(kind, with_fingerprints(found.document, {}), want, secret=fps.keys())
    forcing = [f for f in fields if f.forces_replacement]
    if forcing:
        f = forcing[0]
        problems.append(
            f"{sandbox}/{res.address}: the existing {kind.label} {found.id} named {res.name!r} "
            f"has {f.path} {f.before!r}, not {f.after!r}; rename one of them, or delete the "
            f"existing {kind.label}"
        )
        return Change(action=Action.NOOP, **base)
    return Change(
        action=Action.ADOPT,
        fields=fields,
        remote_id=found.id,
        remote_etag=found.etag,
        also_update=bool(fields),
        protect=res.protect,
        secret_fingerprints=fps,
        **base,
    )
