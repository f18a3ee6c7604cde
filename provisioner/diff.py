"""Field-level differences between views of a connection, as the project's own FieldChange records.

A view is a flat mapping of dotted paths (`name`, `description`, `auth.specName`,
`auth.params.bucketName`, ...) to values. Secret params appear under their path with their
salted fingerprint as the value, so a rotated secret shows up as a change while no secret
value ever enters a view.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from provisioner.model import RemoteConnection, Resource
from provisioner.secrets import MASK, Secret
from provisioner.state import StateEntry

View = dict[str, str]
SECRET_PREFIX = "secret:"


@dataclass(frozen=True)
class FieldChange:
    """One field's before and after (None = absent). Sensitive values are shown masked."""

    path: str
    before: str | None
    after: str | None
    sensitive: bool = False

    @property
    def kind(self) -> str:
        if self.before is None:
            return "add"
        if self.after is None:
            return "remove"
        return "change"


def _base(name: str, description: str, kind: str, spec: str) -> View:
    view = {"type": kind, "name": name, "auth.specName": spec}
    if description:
        view["description"] = description
    return view


def desired_view(res: Resource, fingerprints: Mapping[str, str]) -> View:
    view = _base(res.name, res.description, res.kind, res.auth_spec)
    for k, v in res.params.items():
        if not isinstance(v, Secret):
            view[f"auth.params.{k}"] = v
    for k, fp in fingerprints.items():
        view[f"{SECRET_PREFIX}auth.params.{k}"] = fp
    return view


def entry_view(entry: StateEntry, *, secrets: bool = True) -> View:
    view = _base(entry.name, entry.description, entry.type, entry.auth_spec)
    for k, v in entry.params.items():
        view[f"auth.params.{k}"] = v
    if secrets:
        for k, fp in entry.secret_fingerprints.items():
            view[f"{SECRET_PREFIX}auth.params.{k}"] = fp
    return view


def remote_view(conn: RemoteConnection, *, secrets: Mapping[str, str] | None = None) -> View:
    from provisioner import kinds

    kind = kinds.by_spec_id(conn.spec_id)
    view = _base(conn.name, conn.description, kind.name if kind else conn.spec_id, conn.auth_spec)
    for k, v in conn.params.items():
        view[f"auth.params.{k}"] = v
    for k, fp in (secrets or {}).items():
        view[f"{SECRET_PREFIX}auth.params.{k}"] = fp
    return view


def current_view(conn: RemoteConnection, entry: StateEntry) -> View:
    """What is there now: the remote's visible fields, and the secrets we last wrote."""
    return remote_view(conn, secrets=entry.secret_fingerprints)


def _change(path: str, before: str | None, after: str | None) -> FieldChange:
    if path.startswith(SECRET_PREFIX):
        return FieldChange(
            path[len(SECRET_PREFIX) :],
            MASK if before is not None else None,
            MASK if after is not None else None,
            sensitive=True,
        )
    return FieldChange(path, before, after)


def changes(before: View, after: View, *, replace: bool = False) -> tuple[FieldChange, ...]:
    """What differs from `before` to `after`. With replace=True, every after-field is listed.

    Views are flat (dotted paths to strings), so a key-by-key comparison is the whole diff.
    """
    paths = set(before) | set(after)
    out = [
        _change(p, before.get(p), after.get(p))
        for p in paths
        if before.get(p) != after.get(p) or (replace and p in after)
    ]
    return tuple(sorted(out, key=lambda f: _order(f.path, f.sensitive)))


def _order(path: str, sensitive: bool) -> tuple[int, str, bool]:
    rank = {"type": 0, "name": 1, "description": 2, "auth.specName": 3}.get(path, 4)
    return (rank, path, sensitive)


def added_fields(view: View) -> tuple[FieldChange, ...]:
    return changes({}, view)


def removed_fields(view: View) -> tuple[FieldChange, ...]:
    return changes(view, {})
