"""The state's JSON form: deterministic encoding, and decoding that checks every field."""

from __future__ import annotations

import json
import math
import re
import uuid
from typing import Any

from provisioner import document as doc
from provisioner.config import SANDBOX_NAME
from provisioner.secrets import is_secret_key
from provisioner.state.model import (
    FINGERPRINT_RE,
    FORMAT_VERSION,
    State,
    StateEntry,
    secret_key,
)

# An address, or the address of what one entry declares besides itself (`flow.mapping`).
ADDRESS_RE = re.compile(r"^[a-z][a-z0-9_-]{0,62}(\.[a-z]+)?$")
_SALT_RE = re.compile(r"^[0-9a-f]{16,128}$")
_TOP_KEYS = frozenset({"version", "lineage", "serial", "salt", "resources"})
_SPEC_KEYS = frozenset({"id", "version"})
_AUTH_KEYS = frozenset({"specName", "params", "secretFingerprints"})


class Invalid(Exception):
    """The document fails its checks; `problems` are phrases like "serial must be ..."."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


class TooNew(Exception):
    """The document's format version is newer than FORMAT_VERSION."""

    def __init__(self, version: int) -> None:
        self.version = version
        super().__init__(str(version))


class DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(key)


def dumps(doc: Any) -> str:
    """The one JSON style of every state file: sorted keys, 2-space indent, trailing newline.

    Exactly `json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False) + "\n"`, which in
    Python 3.11 runs the pure-Python encoder (the C one does not indent); this writes the same
    bytes several times faster for plain JSON values, and hands anything else to json.dumps.
    """
    out: list[str] = []
    try:
        _pretty(doc, "\n", out)
    except (_Unusual, RecursionError):
        return json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    out.append("\n")
    return "".join(out)


class _Unusual(Exception):
    """A value _pretty leaves to json.dumps (a non-str key, a subclass, a non-JSON type)."""


_string = json.encoder.encode_basestring  # the C version where there is one, as json.dumps uses
_INF = float("inf")


def _pretty(o: Any, nl: str, out: list[str]) -> None:
    """Append the indented JSON of `o` (at the indentation `nl` ends with) to `out`."""
    t = type(o)
    if t is str:
        out.append(_string(o))
    elif t is dict:
        if not o:
            out.append("{}")
            return
        inner = nl + "  "
        sep = "{" + inner
        for key in o:
            if type(key) is not str:
                raise _Unusual
        for key in sorted(o):
            out.append(sep)
            out.append(_string(key))
            out.append(": ")
            value = o[key]
            if type(value) is str:
                out.append(_string(value))
            else:
                _pretty(value, inner, out)
            sep = "," + inner
        out.append(nl + "}")
    elif t is list:
        if not o:
            out.append("[]")
            return
        inner = nl + "  "
        sep = "[" + inner
        for value in o:
            out.append(sep)
            if type(value) is str:
                out.append(_string(value))
            else:
                _pretty(value, inner, out)
            sep = "," + inner
        out.append(nl + "]")
    elif o is True:
        out.append("true")
    elif o is False:
        out.append("false")
    elif o is None:
        out.append("null")
    elif t is int:
        out.append(int.__repr__(o))
    elif t is float:
        if math.isnan(o):
            out.append("NaN")
        elif o == _INF:
            out.append("Infinity")
        elif o == -_INF:
            out.append("-Infinity")
        else:
            out.append(float.__repr__(o))
    else:
        raise _Unusual


def dumps_line(doc: Any) -> str:
    """Compact one-line JSON for journal records."""
    return json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n"


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _value in pairs:
            if key in seen:
                raise DuplicateKey(key)
            seen.add(key)
    return out


def loads(text: str) -> Any:
    """json.loads that refuses an object holding the same key twice (raises DuplicateKey)."""
    return json.loads(text, object_pairs_hook=_no_duplicates)


def entry_doc(e: StateEntry) -> dict[str, Any]:
    """One entry as the file holds it: its kind's record, with id, etag and protect."""
    fresh: dict[str, Any] = doc.plain(_record(e))
    return fresh


_RECORD = "_state_record"  # where an entry keeps its record once made (entries never change)


def _record(e: StateEntry) -> dict[str, Any]:
    """entry_doc(e), made once per entry and shared: only ever serialized, never changed."""
    cached = e.__dict__.get(_RECORD)
    if isinstance(cached, dict):
        return cached
    record: dict[str, Any] = _kinds()[e.kind].to_state(doc.plain(e.document), dict(e.secret_fingerprints))
    record.update({"id": e.id, "etag": e.etag, "protect": e.protect})
    if e.depends_on:
        record["dependsOn"] = list(e.depends_on)
    if e.attributes:
        record["attributes"] = doc.plain(e.attributes)
    object.__setattr__(e, _RECORD, record)
    return record


def put_line(e: StateEntry) -> str:
    """The journal record that puts `e`, one line (see journal.StateWriter.put)."""
    org, sandbox, address = e.key
    return dumps_line(
        {"op": "put", "org": org, "sandbox": sandbox, "address": address, "entry": _record(e)}
    )


def state_doc(state: State) -> dict[str, Any]:
    """The whole file's document; its entry records are shared with the entries: serialize it,
    never change it."""
    resources: dict[str, dict[str, dict[str, Any]]] = {}
    for (org, sandbox, address), entry in state.entries.items():
        resources.setdefault(org, {}).setdefault(sandbox, {})[address] = _record(entry)
    return {
        "version": FORMAT_VERSION,
        "lineage": state.lineage,
        "serial": state.serial,
        "salt": state.salt,
        "resources": resources,
    }


def encode(state: State) -> bytes:
    return dumps(state_doc(state)).encode("utf-8")


_TOP = "the top level"


class _Checker:
    """Collects every problem of a document instead of stopping at the first."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, problem: str) -> None:
        self.problems.append(problem)

    def obj(self, value: Any, where: str, keys: frozenset[str]) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.fail(f"{where} must be an object")
            return None
        for key in sorted(set(value) - keys):
            self.fail(f"{where} has an unknown key {key!r}")
        for key in sorted(keys - set(value)):
            self.fail(f"{key if where == _TOP else f'{where}.{key}'} is missing")
        return value

    def string(self, value: Any, where: str, *, empty: bool = True) -> str:
        if isinstance(value, str):
            if not empty and not value:
                self.fail(f"{where} must not be empty")
            return value
        self.fail(f"{where} must be a string")
        return ""

    def string_map(self, value: Any, where: str) -> dict[str, str]:
        if not isinstance(value, dict):
            self.fail(f"{where} must be an object")
            return {}
        out: dict[str, str] = {}
        for key, item in value.items():
            if not isinstance(item, str):
                self.fail(f"{where}.{key} must be a string")
            else:
                out[key] = item
        return out

    def whole(self, value: Any, where: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self.fail(f"{where} must be a whole number, 0 or more")
            return 0
        return value


_COMMON_KEYS = frozenset({"id", "etag", "protect", "dependsOn", "attributes"})


def _kinds() -> Any:
    from provisioner import kinds  # not at the top: the kinds import the model, which is ours

    return kinds.all_kinds().kinds


def _kind_of(record: dict[str, Any], registry: Any = None) -> Any:
    """The kind of a record: its `kind`, or (format 1 base connections) its `type`."""
    name = record.get("kind", record.get("type"))
    if not isinstance(name, str):
        return None
    return (registry if registry is not None else _kinds()).get(name)


def _plausible_keyed(d: dict[str, Any], allowed: frozenset[str]) -> bool:
    """True when a record of a kind with state_keys passes every check of _check_keyed: the
    quick gate of the common case. False decides nothing (the full checks then speak)."""
    if d.keys() != allowed:
        return False
    spec, auth = d["connectionSpec"], d["auth"]
    if type(spec) is not dict or spec.keys() != _SPEC_KEYS:
        return False
    if type(auth) is not dict or auth.keys() != _AUTH_KEYS:
        return False
    params, prints = auth["params"], auth["secretFingerprints"]
    if type(params) is not dict or type(prints) is not dict:
        return False
    for key, value in params.items():
        if type(value) is not str or secret_key(key):
            return False
    if not _prints_ok(prints):
        return False
    name, description, type_ = d["name"], d["description"], d["type"]
    spec_id, spec_version, spec_name = spec["id"], spec["version"], auth["specName"]
    rid, etag = d["id"], d["etag"]
    return (
        type(name) is str
        and type(description) is str
        and type(type_) is str
        and type_ != ""
        and type(spec_id) is str
        and spec_id != ""
        and type(spec_version) is str
        and type(spec_name) is str
        and spec_name != ""
        and type(d["protect"]) is bool
        and type(rid) is str
        and rid != ""
        and type(etag) is str
    )


def _plausible(d: dict[str, Any]) -> bool:
    """The quick gate for a kind without state_keys (see _plausible_keyed)."""
    if "id" not in d or "etag" not in d or "protect" not in d:
        return False
    prints = d.get("secretFingerprints", {})
    if type(prints) is not dict or not _prints_ok(prints):
        return False
    rid, etag, depends = d["id"], d["etag"], d.get("dependsOn", [])
    return (
        type(d["protect"]) is bool
        and type(rid) is str
        and rid != ""
        and type(etag) is str
        and type(depends) is list
        and all(type(x) is str for x in depends)
        and type(d.get("attributes", {})) is dict
    )


def _prints_ok(prints: dict[str, Any]) -> bool:
    match = FINGERPRINT_RE.match
    for value in prints.values():
        if type(value) is not str or not match(value):
            return False
    return True


def _entry(
    c: _Checker, raw: Any, org: str, sandbox: str, address: str, registry: Any = None
) -> StateEntry | None:
    where = f"resources.{org}.{sandbox}.{address}"
    before = len(c.problems)
    if not ADDRESS_RE.match(address):
        c.fail(
            f"{where}: {address!r} is not an address (a lower-case letter, then up to 62 "
            "lower-case letters, digits, '_' or '-')"
        )
    if not isinstance(raw, dict):
        c.fail(f"{where} must be an object")
        return None
    kind = _kind_of(raw, registry)
    if kind is None:
        if "type" not in raw and "kind" not in raw:
            c.fail(f"{where}.type is missing")
        else:
            c.fail(f"{where} is of an unknown kind {raw.get('kind', raw.get('type'))!r}")
        return None
    keys = kind.state_keys()
    if keys is not None:
        allowed = keys | (_COMMON_KEYS - {"dependsOn", "attributes"})
        if not _plausible_keyed(raw, allowed):
            _check_keyed(c, raw, where, allowed)
    elif not _plausible(raw):
        _check_generic(c, raw, where)
    if len(c.problems) > before:
        return None
    # Every check passed: the values below are present (or absent with these defaults) and valid.
    record = {k: v for k, v in raw.items() if k not in _COMMON_KEYS}
    try:
        document, fingerprints = kind.from_state(record)
        return StateEntry(
            org=org,
            sandbox=sandbox,
            address=address,
            kind=kind.name,
            id=raw["id"],
            etag=raw["etag"],
            document=document,
            secret_fingerprints=fingerprints,
            protect=raw["protect"],
            depends_on=tuple(raw.get("dependsOn", ())),
            attributes=raw.get("attributes", {}),
        )
    except (KeyError, TypeError, ValueError) as exc:
        c.fail(f"{where} is not a valid {kind.label} record ({type(exc).__name__})")
        return None


def _check_keyed(c: _Checker, raw: dict[str, Any], where: str, allowed: frozenset[str]) -> None:
    """Every problem of a record of a kind with state_keys (a base connection)."""
    d = c.obj(raw, where, allowed)
    if d is None:
        return
    spec = c.obj(d.get("connectionSpec", {}), f"{where}.connectionSpec", _SPEC_KEYS) or {}
    auth = c.obj(d.get("auth", {}), f"{where}.auth", _AUTH_KEYS) or {}
    params = c.string_map(auth.get("params", {}), f"{where}.auth.params")
    prints = c.string_map(auth.get("secretFingerprints", {}), f"{where}.auth.secretFingerprints")
    c.string(d.get("name", ""), f"{where}.name")
    c.string(d.get("description", ""), f"{where}.description")
    c.string(d.get("type", ""), f"{where}.type", empty=False)
    c.string(spec.get("id", ""), f"{where}.connectionSpec.id", empty=False)
    c.string(spec.get("version", ""), f"{where}.connectionSpec.version")
    c.string(auth.get("specName", ""), f"{where}.auth.specName", empty=False)
    for key in sorted(params):
        if is_secret_key(key):
            c.fail(
                f"{where}.auth.params.{key} is a secret parameter, which a state file must "
                "never hold (only its fingerprint, under secretFingerprints)"
            )
    _check_prints(c, prints, f"{where}.auth.secretFingerprints")
    _check_common(c, d, where)


def _check_generic(c: _Checker, d: dict[str, Any], where: str) -> None:
    """Every problem of a record of a kind without state_keys."""
    for key in ("id", "etag", "protect"):
        if key not in d:
            c.fail(f"{where}.{key} is missing")
    prints = c.string_map(d.get("secretFingerprints", {}), f"{where}.secretFingerprints")
    _check_prints(c, prints, f"{where}.secretFingerprints")
    _check_common(c, d, where)


def _check_prints(c: _Checker, prints: dict[str, str], fp_where: str) -> None:
    for key, value in sorted(prints.items()):
        if not FINGERPRINT_RE.match(value):
            c.fail(f'{fp_where}.{key} is not a fingerprint ("hmac-sha256:" and 64 hex digits)')


def _check_common(c: _Checker, d: dict[str, Any], where: str) -> None:
    if not isinstance(d.get("protect", False), bool):
        c.fail(f"{where}.protect must be true or false")
    c.string(d.get("id", ""), f"{where}.id", empty=False)
    c.string(d.get("etag", ""), f"{where}.etag")
    depends = d.get("dependsOn", [])
    if not isinstance(depends, list) or not all(isinstance(x, str) for x in depends):
        c.fail(f"{where}.dependsOn must be a list of addresses")
    if not isinstance(d.get("attributes", {}), dict):
        c.fail(f"{where}.attributes must be an object")


def _nested(c: _Checker, value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        c.fail(f"{where} must be an object")
        return {}
    for key in value:
        if not key:
            c.fail(f"{where} has an empty key")
    return {k: v for k, v in value.items() if k}


def decode_entry(doc: Any, org: str, sandbox: str, address: str) -> StateEntry:
    """One entry document (a journal record's); raises Invalid."""
    c = _Checker()
    entry = _entry(c, doc, org, sandbox, address)
    if entry is None:
        raise Invalid(c.problems)
    return entry


def check_unique_ids(state: State) -> None:
    seen: dict[str, StateEntry] = {}
    problems = []
    for entry in state.sorted_entries():
        other = seen.setdefault(entry.id, entry)
        if other is not entry:
            problems.append(
                f"connection id {entry.id} is recorded twice, at "
                f"resources.{'.'.join(other.key)} and resources.{'.'.join(entry.key)}"
            )
    if problems:
        raise Invalid(problems)


def decode(doc: Any) -> State:
    """A State from a parsed document; raises TooNew or Invalid (with every problem found)."""
    c = _Checker()
    if not isinstance(doc, dict):
        raise Invalid(["the top level must be an object"])
    version = doc.get("version")
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
        raise TooNew(version)
    top = c.obj(doc, _TOP, _TOP_KEYS) or {}
    if "version" in top and (
        isinstance(version, bool) or not isinstance(version, int) or version < 1
    ):
        c.fail(f"version must be a whole number from 1 to {FORMAT_VERSION}")
    lineage = c.string(top.get("lineage", ""), "lineage")
    if "lineage" in top and isinstance(top["lineage"], str):
        try:
            uuid.UUID(lineage)
        except ValueError:
            c.fail("lineage must be a UUID")
    serial = c.whole(top.get("serial", 0), "serial")
    salt = c.string(top.get("salt", ""), "salt")
    if "salt" in top and isinstance(top["salt"], str) and not _SALT_RE.match(salt):
        c.fail("salt must be 16 to 128 lower-case hex digits")
    entries: dict[tuple[str, str, str], StateEntry] = {}
    registry = _kinds()
    for org, sandboxes in _nested(c, top.get("resources", {}), "resources").items():
        for sandbox, addresses in _nested(c, sandboxes, f"resources.{org}").items():
            if not SANDBOX_NAME.fullmatch(sandbox):  # it would go on the wire as it is
                c.fail(
                    f"resources.{org}.{sandbox!r} is not a sandbox name (all lowercase letters, "
                    "digits and hyphens)"
                )
                continue
            for address, entry_doc_ in _nested(c, addresses, f"resources.{org}.{sandbox}").items():
                entry = _entry(c, entry_doc_, org, sandbox, address, registry)
                if entry is not None:
                    entries[entry.key] = entry
    if c.problems:
        raise Invalid(c.problems)
    state = State(lineage=lineage, serial=serial, salt=salt, entries=entries)
    check_unique_ids(state)
    return state
