"""One parsed manifest file -> its problems, warnings and declared connections (references resolved)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from provisioner import kinds
from provisioner.document import Ref
from provisioner.errors import Problem
from provisioner.manifest import references, schema_check
from provisioner.manifest.located import MDict, MList, Path, Pos, spot_of
from provisioner.manifest.yamltree import Tree
from provisioner.model import Location
from provisioner.secrets import Secret


@dataclass(frozen=True)
class Declared:
    """One resource of one file, checked; `sandbox` is what the file said (None if nothing)."""

    address: str
    section: str
    kind: str
    document: dict[str, Any]
    protect: bool
    location: Location
    sandbox: str | None
    ref_locations: dict[tuple[str | int, ...], Location] = field(default_factory=dict)
    references: tuple[tuple[str, str, Location], ...] = ()  # (address, section, where)

    @property
    def name(self) -> str:
        return str(self.document.get("name", ""))


@dataclass
class Checked:
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    declared: list[Declared] = field(default_factory=list)
    addresses: list[tuple[str, str, Location]] = field(default_factory=list)  # every one written
    # ${env:NAME} uses: as a whole secret, and inside shown-and-stored text (name, description...)
    secret_vars: dict[str, Location] = field(default_factory=dict)
    # (variable, file, (line, column), path): where each ${env:} inside shown text is written
    plain_vars: list[tuple[str, str, Pos, Path]] = field(default_factory=list)
    sandbox: str | None = None
    sandbox_at: Location | None = None  # where the file's `sandbox:` is written
    moved: list[tuple[str, str, Location]] = field(default_factory=list)  # (from, to, where)


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
        # references.parse of each distinct text (a manifest repeats its ${env:} texts)
        self._parsed: dict[str, tuple[list[references.Part], list[references.Malformed]]] = {}
        self._by_key: dict[str, dict[str, kinds.Reference]] = {}

    def problem(self, where: Pos, path: Path, message: str) -> None:
        self.result.problems.append(
            Problem(self.file, where[0], where[1], format_path(path), message)
        )

    def text(self, path: Path, value: str) -> str:
        """Check and resolve the ${env:...} references of one text value."""
        if "$" not in value:
            return value  # the common case: no reference, nothing to resolve or report
        parsed = self._parsed.get(value)
        if parsed is None:
            parsed = self._parsed[value] = references.parse(value)
        parts, malformed = parsed
        where = spot_of(self.root, path)[1]
        for bad in malformed:
            self.problem(where, path, bad.reason + ".")
        if malformed:
            return value
        for part in parts:
            if isinstance(part, references.Reference):
                self.result.plain_vars.append((part.name, self.file, where, path))
                if self.environ.get(part.name) == "":
                    self.empty(where, path, part.name)
        resolved, unset = references.resolve(parts, self.environ)
        for name in unset:
            self.unset(where, path, name)
        return resolved

    def empty(self, where: Pos, path: Path, name: str) -> None:
        self.problem(
            where,
            path,
            f"uses ${{env:{name}}}, but the environment variable {name} is set to an empty "
            "value, which Adobe would refuse; give it its value (or unset it) and run again.",
        )

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
        if isinstance(value, str):
            name = references.full_reference(value)
            if name is not None:
                if name not in self.result.secret_vars:
                    self.result.secret_vars[name] = Location(self.file, where[0], where[1])
                if name in self.environ:
                    if self.environ[name] == "":
                        self.empty(where, path, name)
                    return Secret(self.environ[name])
                self.unset(where, path, name)
                return Secret(value)
        # From here on the value is refused: the message suggests a variable name.
        suggestion = _LazyName(str(path[1]), str(path[-1]))
        if isinstance(value, str):
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

    def resolve(
        self,
        kind: kinds.Kind,
        entry: MDict,
        base: Path,
        node: Any,
        at: Path,
        may_be_secret: bool = False,
    ) -> Any:
        """One value of an entry with its ${env:} references resolved (secrets as Secret).

        `may_be_secret` is set for the values of a mapping the kind names in `secret_parents`
        (a connection's auth params): only those are asked whether they hold a secret."""
        if may_be_secret:
            secret = kind.secret_param(entry, at)
            if secret is None:
                secret = schema_check.is_secret_param(self.root, (*base, *at))
            if secret:
                return self.secret((*base, *at), node)
        if isinstance(node, str):
            return node if "$" not in node else self.text((*base, *at), node)
        if isinstance(node, MDict):
            inner = at in kind.secret_parents
            if inner:
                return {
                    k: self.resolve(kind, entry, base, v, (*at, k), True) for k, v in node.items()
                }
            # Text without a reference (most values) is itself: no call for it.
            return {
                k: v
                if v.__class__ is str and "$" not in v
                else self.resolve(kind, entry, base, v, (*at, k))
                for k, v in node.items()
            }
        if isinstance(node, list):
            return [self.resolve(kind, entry, base, v, (*at, i)) for i, v in enumerate(node)]
        return node

    def entry(self, section: str, address: str, node: MDict, sandbox: str | None) -> list[Declared]:
        base: Path = (section, address)
        kind = kinds.all_kinds().of_entry(section, node)
        if kind is None:
            return []
        resolved: dict[str, Any] = {}
        refs: list[tuple[str, str, Location]] = []
        ref_locations: dict[tuple[str | int, ...], Location] = {}
        by_key = self._by_key.get(kind.name)
        if by_key is None:
            by_key = self._by_key[kind.name] = {r.key: r for r in kind.references}
        top_secret = () in kind.secret_parents
        for key, value in node.items():
            if key in by_key and isinstance(value, str):
                ref = by_key[key]
                where = spot_of(self.root, (*base, key))[1]
                location = Location(self.file, where[0], where[1])
                refs.append((value, ref.section, location))
                ref_locations[ref.path] = location
                resolved[key] = Ref(value, ref.attribute)
            elif not top_secret and value.__class__ is str and "$" not in value:
                resolved[key] = value  # what resolve() answers for text without a reference
            else:
                resolved[key] = self.resolve(kind, node, base, value, (key,), top_secret)
        try:
            declared = kind.derived(address, resolved)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError):
            return []  # the schema check has reported what is wrong
        if any(_has_none(document) for _a, _k, document in declared):
            return []
        protect = node.get("protect", False)
        key_pos = spot_of(self.root, base)[0]
        return [
            Declared(
                address=name,
                section=section,
                kind=kind_name,
                document=document,
                protect=protect is True,
                location=Location(self.file, key_pos[0], key_pos[1]),
                sandbox=sandbox,
                ref_locations=ref_locations if name == address else {},
                references=tuple(refs) if name == address else (),
            )
            for name, kind_name, document in declared
        ]

    def run(self) -> Checked:
        for where, path, sentence in schema_check.check(self.root):
            self.problem(where, path, sentence)
        sandbox = self.root.get("sandbox")
        self.result.sandbox = sandbox if isinstance(sandbox, str) else None
        if self.result.sandbox is not None:
            pos = spot_of(self.root, ("sandbox",))[0]
            self.result.sandbox_at = Location(self.file, pos[0], pos[1])
        moved = self.root.get("moved")
        if isinstance(moved, MList):
            for n, item in enumerate(moved):
                if isinstance(item, MDict) and isinstance(item.get("from"), str) and isinstance(
                    item.get("to"), str
                ):
                    pos = spot_of(self.root, ("moved", n))[0]
                    at = Location(self.file, pos[0], pos[1])
                    self.result.moved.append((str(item["from"]), str(item["to"]), at))
        for section in kinds.all_kinds().sections():
            entries = self.root.get(section)
            if not isinstance(entries, MDict):
                continue
            for address, node in entries.items():
                key_pos = spot_of(self.root, (section, address))[0]
                self.result.addresses.append(
                    (section, address, Location(self.file, key_pos[0], key_pos[1]))
                )
                if isinstance(node, MDict):
                    self.result.declared.extend(
                        self.entry(section, address, node, self.result.sandbox)
                    )
        return self.result


def _has_none(node: Any) -> bool:
    """Whether a null is left anywhere (a value the checks refused)."""
    if node is None:
        return True
    if not isinstance(node, (dict, list)):
        return False
    stack = [node]
    while stack:
        container = stack.pop()
        values = container.values() if isinstance(container, dict) else container
        for value in values:
            if value is None:
                return True
            if isinstance(value, (dict, list)):
                stack.append(value)
    return False


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
