"""One parsed manifest file -> its problems, warnings and declared connections (references resolved)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from provisioner import kinds
from provisioner.errors import Problem
from provisioner.manifest import references, schema_check
from provisioner.manifest.located import MDict, MList, Path, Pos, spot_of
from provisioner.manifest.yamltree import Tree
from provisioner.model import Location, ParamValue
from provisioner.secrets import Secret


@dataclass(frozen=True)
class Declared:
    """One connection of one file, checked; `sandbox` is what the file said (None if nothing)."""

    address: str
    kind: str
    name: str
    description: str
    protect: bool
    auth_spec: str
    params: dict[str, ParamValue]
    location: Location
    sandbox: str | None


@dataclass
class Checked:
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    declared: list[Declared] = field(default_factory=list)
    addresses: list[tuple[str, Location]] = field(default_factory=list)  # every one written
    # ${env:NAME} uses: as a whole secret, and inside shown-and-stored text (name, description...)
    secret_vars: dict[str, Location] = field(default_factory=dict)
    plain_vars: list[tuple[str, Problem]] = field(default_factory=list)
    sandbox: str | None = None


class _LazyName:
    """A suggested variable name, made only if a message needs it (it is on the hot path)."""

    def __init__(self, *words: str) -> None:
        self.words = words

    def __str__(self) -> str:
        return references.suggest_name(*self.words)

    def __format__(self, spec: str) -> str:
        return str(self)


def format_path(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


class _FileCheck:
    def __init__(
        self, file: str, root: MDict, environ: Mapping[str, str], resolve_env: bool
    ) -> None:
        self.file = file
        self.root = root
        self.environ = environ
        self.resolve_env = resolve_env
        self.result = Checked()

    def problem(self, where: Pos, path: Path, message: str) -> None:
        self.result.problems.append(
            Problem(self.file, where[0], where[1], format_path(path), message)
        )

    def text(self, path: Path, value: str) -> str:
        """Check and resolve the ${env:...} references of one text value."""
        parts, malformed = references.parse(value)
        where = spot_of(self.root, path)[1]
        for bad in malformed:
            self.problem(where, path, bad.reason + ".")
        if malformed:
            return value
        for part in parts:
            if isinstance(part, references.Reference):
                spot = Problem(self.file, where[0], where[1], format_path(path), "")
                self.result.plain_vars.append((part.name, spot))
        resolved, unset = references.resolve(parts, self.environ)
        for name in unset:
            self.unset(where, path, name)
        return resolved

    def unset(self, where: Pos, path: Path, name: str) -> None:
        if self.resolve_env:
            self.problem(
                where,
                path,
                f"uses ${{env:{name}}}, but the environment variable {name} is not set; "
                "export it and run again.",
            )
        else:
            self.result.warnings.append(
                Problem(
                    self.file,
                    where[0],
                    where[1],
                    format_path(path),
                    f"uses ${{env:{name}}}, but the environment variable {name} is not set here; "
                    "plan and apply will need it.",
                )
            )

    def secret(self, path: Path, value: Any) -> Secret | None:
        """A secret param must be exactly one ${env:NAME}; its value is never echoed."""
        _, where, _ = spot_of(self.root, path)
        suggestion = _LazyName(str(path[1]), str(path[-1]))
        if isinstance(value, str):
            name = references.full_reference(value)
            if name is not None:
                self.result.secret_vars.setdefault(name, Location(self.file, where[0], where[1]))
                if name in self.environ:
                    return Secret(self.environ[name])
                self.unset(where, path, name)
                return Secret(value)
            parts, malformed = references.parse(value)
            if value.startswith("${") or any(isinstance(p, references.Reference) for p in parts):
                if malformed and value.startswith("${"):
                    for bad in malformed:
                        self.problem(where, path, bad.reason + ".")
                    return None
                self.problem(
                    where,
                    path,
                    "is a secret and must be exactly one ${env:NAME} reference with nothing "
                    f"around it, so no part of it reaches git; write ${{env:{suggestion}}}.",
                )
                return None
        if value is None:
            self.problem(
                where,
                path,
                "is empty; it is a secret, so write an ${env:NAME} reference to the environment "
                f"variable that holds it, e.g. ${{env:{suggestion}}}.",
            )
            return None
        self.problem(
            where,
            path,
            "is a secret and must be an ${env:NAME} reference, not a literal, so it never "
            f"reaches git; export it as an environment variable and write ${{env:{suggestion}}}.",
        )
        return None

    def connection(self, address: str, conn: MDict, sandbox: str | None) -> Declared | None:
        base: Path = ("connections", address)
        name = conn.get("name")
        if isinstance(name, str):
            name = self.text((*base, "name"), name)
        description = conn.get("description")
        if isinstance(description, str):
            description = self.text((*base, "description"), description)
        kind_name = conn.get("type")
        kind = kinds.registry().get(kind_name) if isinstance(kind_name, str) else None
        auth = conn.get("auth")
        spec_name = auth.get("specName") if isinstance(auth, dict) else None
        params = auth.get("params") if isinstance(auth, dict) else None
        spec = (
            kind.auth_specs.get(spec_name)
            if kind is not None and isinstance(spec_name, str)
            else None
        )
        resolved: dict[str, ParamValue] = {}
        if isinstance(params, MDict):
            for key, value in params.items():
                path = (*base, "auth", "params", key)
                if schema_check.is_secret_param(self.root, path):
                    secret = self.secret(path, value)
                    if secret is not None:
                        resolved[key] = secret
                elif isinstance(value, str):
                    resolved[key] = self.text(path, value)
        if kind is None or spec is None or not isinstance(name, str):
            return None
        protect = conn.get("protect", False)
        key_pos = spot_of(self.root, base)[0]
        return Declared(
            address=address,
            kind=kind.name,
            name=name,
            description=description if isinstance(description, str) else "",
            protect=protect is True,
            auth_spec=spec.name,
            params=dict(sorted(resolved.items())),
            location=Location(self.file, key_pos[0], key_pos[1]),
            sandbox=sandbox,
        )

    def run(self) -> Checked:
        for where, path, sentence in schema_check.check(self.root):
            self.problem(where, path, sentence)
        sandbox = self.root.get("sandbox")
        self.result.sandbox = sandbox if isinstance(sandbox, str) else None
        connections = self.root.get("connections")
        if isinstance(connections, MDict):
            for address, conn in connections.items():
                key_pos = spot_of(self.root, ("connections", address))[0]
                self.result.addresses.append((address, Location(self.file, key_pos[0], key_pos[1])))
                if isinstance(conn, MDict):
                    entry = self.connection(address, conn, self.result.sandbox)
                    if entry is not None:
                        self.result.declared.append(entry)
        return self.result


def check_file(file: str, tree: Tree, *, environ: Mapping[str, str], resolve_env: bool) -> Checked:
    """Every problem of one parsed file, and the connections it declares well enough to build."""
    root = tree.root
    if tree.empty:
        return Checked(
            problems=[
                Problem(
                    file,
                    1,
                    1,
                    "",
                    "the file is empty; a manifest needs 'version: 1' and a 'connections:' mapping.",
                )
            ]
        )
    if not isinstance(root, MDict):
        # Never quoted: a file that is not a manifest (a symlink to a key, a log) must not leak.
        what = (
            "a list"
            if isinstance(root, MList)
            else "text"
            if isinstance(root, str)
            else "one value"
        )
        return Checked(
            problems=[
                Problem(
                    file,
                    tree.start[0],
                    tree.start[1],
                    "",
                    "the top level must be a mapping with 'version' and 'connections', "
                    f"not {what}.",
                )
            ]
        )
    return _FileCheck(file, root, environ, resolve_env).run()
