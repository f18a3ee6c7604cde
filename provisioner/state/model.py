"""The state's records: StateEntry, the immutable State, and salted secret fingerprints."""

from __future__ import annotations

import hmac
import re
import secrets
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from provisioner import document as doc
from provisioner.secrets import Secret, is_secret_key

if TYPE_CHECKING:
    from provisioner.model import Remote

FORMAT_VERSION = 1
FINGERPRINT_PREFIX = "hmac-sha256:"
FINGERPRINT_RE = re.compile(r"^hmac-sha256:[0-9a-f]{64}$")

# (org, sandbox, address): one entry per resource the state owns.
Key = tuple[str, str, str]


def fingerprint(salt: str, value: str | Secret) -> str:
    """The fingerprint "hmac-sha256:<hex>" of a secret value, keyed by the state's salt.

    One-way: the state records it instead of the value, so a rotated secret shows as a change.
    """
    raw = value.reveal() if isinstance(value, Secret) else value
    # hmac.digest: the one-shot C path, the same value as hmac.new(...).hexdigest().
    digest = hmac.digest(salt.encode("utf-8"), raw.encode("utf-8"), "sha256")
    return FINGERPRINT_PREFIX + digest.hex()


def new_salt() -> str:
    return secrets.token_hex(16)


def _frozen_map(value: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(sorted(value.items())))


# is_secret_key is a regex search; state documents repeat a handful of keys thousands of times.
_SECRET_KEYS: dict[str, bool] = {}
_SECRET_KEYS_MAX = 4096
_SCALARS = (str, int, float, bool, type(None))


def secret_key(key: str) -> bool:
    """is_secret_key, remembered for the keys seen most."""
    known = _SECRET_KEYS.get(key)
    if known is None:
        known = is_secret_key(key)
        if len(_SECRET_KEYS) < _SECRET_KEYS_MAX:
            _SECRET_KEYS[key] = known
    return known


def _freeze(node: Any, suspect: list[bool]) -> Any:
    """A private deep copy of a JSON value: every Mapping a read-only MappingProxyType, every
    list or tuple a list (of frozen values), so no caller can change an entry after the fact.

    Appends to `suspect` when a leaf may be secret (a Secret, or a value under a secret-looking
    key). That over-approximates the exact check in StateEntry, which then runs to decide.
    """
    kind = type(node)
    if kind is dict or kind is MappingProxyType or isinstance(node, Mapping):
        out: dict[Any, Any] = {}
        for key, value in node.items():
            if not isinstance(key, str) or secret_key(key):
                suspect.append(True)
            if type(value) in _SCALARS:
                out[key] = value
            else:
                out[key] = _freeze(value, suspect)
        return MappingProxyType(out)
    if kind is list or kind is tuple or isinstance(node, (list, tuple)):
        return [v if type(v) in _SCALARS else _freeze(v, suspect) for v in node]
    if isinstance(node, Secret):
        suspect.append(True)
    return node


_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, init=False)
class StateEntry:
    """One resource the state owns: its kind, id, etag and last-known document. Holds no secret:
    secret leaves appear only as fingerprints, by dotted path (`auth.params.s3SecretKey`).

    `etag` is the exact string the service returned, quotes included. `attributes` are what the
    service set that others may reference or that a later change needs (e.g. a mapping set's
    version). `depends_on` are the addresses this one referenced when it was written.
    """

    org: str
    sandbox: str
    address: str
    kind: str
    id: str
    etag: str
    document: Mapping[str, Any] = field(default_factory=dict, hash=False)
    secret_fingerprints: Mapping[str, str] = field(default_factory=dict, hash=False)
    protect: bool = False
    depends_on: tuple[str, ...] = ()
    attributes: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __init__(
        self,
        org: str,
        sandbox: str,
        address: str,
        kind: str,
        id: str,
        etag: str,
        document: Mapping[str, Any] | None = None,
        secret_fingerprints: Mapping[str, str] | None = None,
        protect: bool = False,
        depends_on: tuple[str, ...] = (),
        attributes: Mapping[str, Any] | None = None,
    ) -> None:
        # Written out (not the dataclass's): a frozen dataclass's __init__ sets each field
        # through object.__setattr__, a third of the cost of an entry at thousands of them.
        # Guards against programming errors: a secret must never reach the state file. The
        # messages name the path, never its value. Freezing flags what may be secret in the
        # same walk; only then do the exact checks run.
        suspect: list[bool] = []
        frozen = _freeze(document, suspect) if document else _EMPTY
        prints = secret_fingerprints or _EMPTY
        fields = self.__dict__
        fields.update(
            org=org,
            sandbox=sandbox,
            address=address,
            kind=kind,
            id=id,
            etag=etag,
            document=document if document is not None else _EMPTY,
            secret_fingerprints=prints,
            protect=protect,
            depends_on=depends_on,
        )
        if suspect:
            self._refuse_secrets()
        for key, value in prints.items():
            if not isinstance(value, str) or not FINGERPRINT_RE.match(value):
                raise ValueError(
                    f"state entry {address}: secret_fingerprints[{key!r}] is not an "
                    "hmac-sha256 fingerprint; pass it through fingerprint()"
                )
        fields["document"] = frozen
        fields["secret_fingerprints"] = _frozen_map(prints) if prints else _EMPTY
        fields["attributes"] = _freeze(attributes, []) if attributes else _EMPTY
        if depends_on:
            fields["depends_on"] = tuple(sorted(set(depends_on)))
        elif type(depends_on) is not tuple:
            fields["depends_on"] = ()

    def _refuse_secrets(self) -> None:
        for path, value in doc.leaves(self.document):
            if isinstance(value, Secret) or (path and is_secret_key(str(path[-1]))):
                raise ValueError(
                    f"state entry {self.address}: parameter {str(path[-1])!r} looks secret "
                    f"(at {doc.dotted(path)}); "
                    "store its fingerprint in secret_fingerprints instead"
                )

    @property
    def key(self) -> Key:
        return (self.org, self.sandbox, self.address)

    @property
    def name(self) -> str:
        return str(self.document.get("name", ""))

    @property
    def description(self) -> str:
        return str(self.document.get("description", ""))

    @property
    def type(self) -> str:
        return str(self.document.get("type", self.kind))

    @classmethod
    def from_remote(
        cls,
        remote: Remote,
        *,
        org: str,
        address: str,
        secret_fingerprints: Mapping[str, str],
        protect: bool = False,
        depends_on: tuple[str, ...] = (),
    ) -> StateEntry:
        """The entry recording `remote` under `address`; fingerprints come from the manifest."""
        return cls(
            org=org,
            sandbox=remote.sandbox,
            address=address,
            kind=remote.kind,
            id=remote.id,
            etag=remote.etag,
            document=remote.document,
            secret_fingerprints=dict(secret_fingerprints),
            protect=protect,
            depends_on=depends_on,
            attributes=remote.attributes,
        )


@dataclass(frozen=True)
class State:
    """A whole state, immutable: `with_entry`/`without` return a new State (O(n) copies).

    `serial` is the serial of the file this state was read from (0 for a state never saved);
    StateStore.save writes serial + 1. For many changes in a row use StateStore.writer.
    """

    lineage: str
    serial: int
    salt: str
    entries: Mapping[Key, StateEntry] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "entries", MappingProxyType(dict(self.entries)))

    @classmethod
    def new(cls) -> State:
        """An empty state with a fresh lineage and salt, not yet saved (serial 0)."""
        return cls(lineage=str(uuid.uuid4()), serial=0, salt=new_salt())

    def get(self, org: str, sandbox: str, address: str) -> StateEntry | None:
        return self.entries.get((org, sandbox, address))

    def in_scope(self, org: str, sandbox: str) -> list[StateEntry]:
        """The entries of one org and sandbox, sorted by address."""
        return sorted(
            (e for e in self.entries.values() if e.org == org and e.sandbox == sandbox),
            key=lambda e: e.address,
        )

    def by_id(self, resource_id: str) -> StateEntry | None:
        for entry in self.entries.values():
            if entry.id == resource_id:
                return entry
        return None

    def sorted_entries(self) -> list[StateEntry]:
        return [self.entries[k] for k in sorted(self.entries)]

    def __iter__(self) -> Iterator[StateEntry]:
        return iter(self.sorted_entries())

    def __len__(self) -> int:
        return len(self.entries)

    def fingerprint(self, value: str | Secret) -> str:
        return fingerprint(self.salt, value)

    def with_entry(self, entry: StateEntry) -> State:
        return self.with_changes(put=[entry])

    def without(self, key: Key) -> State:
        return self.with_changes(remove=[key])

    def with_changes(self, put: Iterable[StateEntry] = (), remove: Iterable[Key] = ()) -> State:
        entries = dict(self.entries)
        for key in remove:
            entries.pop(key, None)
        for entry in put:
            entries[entry.key] = entry
        return replace(self, entries=entries)
