"""The resource kinds: each module of this package owns one kind's whole shape.

A kind says, in one place:
- its manifest section and `type:` (if its section has several types), and its JSON Schema
  fragment (schemas/manifest.schema.json is assembled from the fragments, see kinds/schema.py);
- its endpoint (service and collection) and the filters that list its items;
- how a manifest entry becomes the desired document, how an API item becomes the remote
  document (the same shape, so one diff compares them), and how a document becomes a body;
- which paths are server-set (never compared), which changes force a replacement, which are
  patched as one unit, and which lists are unordered;
- what it references (Ref leaves in its document, by manifest key).

Adding a kind is a new module listed in _MODULES (docs/architecture.md has the recipe).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from provisioner import document as doc
from provisioner.model import Remote, Resource


@dataclass(frozen=True)
class AuthSpec:
    """One auth spec of a connection spec: its params, and which are required or secret."""

    name: str
    required: frozenset[str]
    optional: frozenset[str]
    secret: frozenset[str]

    @property
    def params(self) -> frozenset[str]:
        return self.required | self.optional


@dataclass(frozen=True)
class Endpoint:
    service: str  # "flowservice", "conversion" or "catalog"
    collection: str  # e.g. "/connections"
    # listing filters that select this kind's items, e.g. (("property", "connectionSpec.id==X"),)
    filters: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Reference:
    """A manifest key that names another resource: `key: address` becomes Ref(address, attribute)
    at document path `path`, and the address must be one of `section`."""

    key: str
    section: str
    path: doc.Path
    attribute: str = "id"


class Kind:
    """The base of every kind; a kind module subclasses it and overrides what differs."""

    name: str = ""
    section: str = ""  # the manifest section, e.g. "connections"
    type_name: str | None = None  # the `type:` that selects this kind in its section
    label: str = ""  # how plans call one: `connection "address" {`
    title: str = ""
    endpoint: Endpoint = Endpoint("flowservice", "/")
    managed: bool = True  # False: looked up only (datasets), never created or deleted
    adopt_by_name: bool = True  # after a lost state, an existing item of that name is adopted
    server_set: tuple[doc.Path, ...] = ()
    forces_replacement: tuple[doc.Path, ...] = ()
    patch_units: tuple[doc.Path, ...] = ()  # a change under one of these replaces it whole
    unordered: tuple[doc.Path, ...] = ()
    references: tuple[Reference, ...] = ()
    order: int = 0  # rank of its section in plans and schema (dependencies first)
    read_after_create: bool = False  # read the item back after a create, for its attributes
    auth_specs: Mapping[str, AuthSpec] = {}  # base connections: the connection spec's auth specs
    update_by: str = "patch"  # "patch": JSON Patch with If-Match; "put": the whole new version
    # A path whose change is an action, not a patch: {path: {value: op}} (a flow's state).
    actions: Mapping[doc.Path, Mapping[str, str]] = {}

    # -- the manifest side -----------------------------------------------------------------

    def schema_defs(self) -> dict[str, Any]:
        """JSON Schema definitions this kind adds to the manifest schema's $defs."""
        return {}

    # The mappings (paths inside a manifest entry) whose values may hold secrets: only their
    # values are asked `secret_param`.
    secret_parents: tuple[doc.Path, ...] = ()

    def secret_param(self, entry: Mapping[str, Any], path: doc.Path) -> bool | None:
        """Whether `path` (inside one manifest entry, a value of a mapping named in
        `secret_parents`) holds a secret; None when the entry does not say (an unknown auth
        spec), and the manifest checks then treat any name that is secret somewhere as one."""
        return False

    def desired(self, entry: Mapping[str, Any]) -> dict[str, Any]:
        """The desired document of one checked manifest entry (secrets as Secret, references
        already Ref leaves at their manifest keys)."""
        raise NotImplementedError

    def derived(
        self, address: str, entry: Mapping[str, Any]
    ) -> list[tuple[str, str, dict[str, Any]]]:
        """The resources one manifest entry declares: (address, kind name, desired document).
        Most entries declare one; a dataflow also declares its mapping set."""
        return [(address, self.name, self.desired(entry))]

    # -- the API side ----------------------------------------------------------------------

    def attributes_of(self, document: Mapping[str, Any]) -> dict[str, Any]:
        """Attributes others may reference that follow from the document itself."""
        return {}

    def after_create(self, document: Mapping[str, Any]) -> list[str]:
        """Actions to run right after a create (e.g. disable a flow declared disabled)."""
        return []

    def read(self, item: Mapping[str, Any], sandbox: str) -> Remote:
        """The Remote of one item of the service's answer."""
        raise NotImplementedError

    def body(self, document: Mapping[str, Any]) -> dict[str, Any]:
        """The create body of a resolved, revealed document."""
        return dict(document)

    def identity(self, document: Mapping[str, Any]) -> str | None:
        """The name an existing item is found by after a lost state (None: never adopted)."""
        name = document.get("name")
        return name if isinstance(name, str) else None

    def matches(self, remote: Remote, desired: Mapping[str, Any]) -> bool:
        """Whether `remote` is an item this resource could adopt (same name and kind)."""
        return remote.kind == self.name and remote.name == self.identity(desired)

    # -- the state side --------------------------------------------------------------------

    def to_state(self, document: Mapping[str, Any], fingerprints: Mapping[str, str]) -> dict[str, Any]:
        """The state file's record of a document (no secret: fingerprints by dotted path)."""
        out = dict(document)
        out["kind"] = self.name
        if fingerprints:
            out["secretFingerprints"] = dict(sorted(fingerprints.items()))
        return out

    def from_state(self, record: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        """(document, fingerprints) of a state record written by to_state."""
        document = {k: v for k, v in record.items() if k not in ("kind", "secretFingerprints")}
        return document, dict(record.get("secretFingerprints") or {})

    def view_rows(self, attributes: Mapping[str, Any]) -> list[tuple[str, str]]:
        """Extra `key = value` rows `state show` prints for an entry of this kind."""
        return []

    def state_keys(self) -> frozenset[str] | None:
        """The keys a state record of this kind may hold (None: not checked here)."""
        return None


@dataclass(frozen=True)
class Registry:
    kinds: Mapping[str, Kind] = field(default_factory=dict)
    # in_section's answers, by section (asked once per manifest entry; the kinds never change)
    _sections: dict[str, list[Kind]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def sections(self) -> list[str]:
        ranked = sorted(self.kinds.values(), key=lambda k: (k.order, k.name))
        out: list[str] = []
        for kind in ranked:
            if kind.section and kind.section not in out:
                out.append(kind.section)
        return out

    def in_section(self, section: str) -> list[Kind]:
        return list(self._kinds_in(section))

    def _kinds_in(self, section: str) -> list[Kind]:
        """The section's kinds by name, worked out once (not to be changed by the caller)."""
        found = self._sections.get(section)
        if found is None:
            found = sorted(
                (k for k in self.kinds.values() if k.section == section), key=lambda k: k.name
            )
            self._sections[section] = found
        return found

    def of_entry(self, section: str, entry: Any) -> Kind | None:
        """The kind of one manifest entry of `section` (by its `type:` where the section has
        several), or None when it names none."""
        candidates = self._kinds_in(section)
        if len(candidates) == 1 and candidates[0].type_name is None:
            return candidates[0]
        t = entry.get("type") if isinstance(entry, Mapping) else None
        for kind in candidates:
            if kind.type_name == t:
                return kind
        return None


# The kind modules, dependencies first.
_MODULES = ("amazon_s3", "dataset", "amazon_s3_source", "data_lake", "mapping", "dataflow")

_REGISTRY: Registry | None = None


def _load() -> Registry:
    found: dict[str, Kind] = {}
    for module in _MODULES:
        kind = importlib.import_module(f"provisioner.kinds.{module}").KIND
        found[kind.name] = kind
    return Registry(found)


def all_kinds() -> Registry:
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = _load()
    return _REGISTRY


def registry() -> Mapping[str, Kind]:
    """The base-connection kinds by `type:` (amazon-s3, ...)."""
    return {k.type_name or k.name: k for k in all_kinds().in_section("connections")}


def get(name: str) -> Kind:
    """The kind named `name`; KeyError if there is none (the schema has already refused it)."""
    return all_kinds().kinds[name]


def of(resource: Resource | Remote) -> Kind:
    return get(resource.kind)
