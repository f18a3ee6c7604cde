"""Manifests: find the files, parse them with positions, check them, resolve ${env:} -> Resources.

    load(paths, sandbox_override=..., default_sandbox=...) -> Manifests
        raises ManifestError with every problem of every file, or ManifestPathError for a path
        that is not a manifest file or a directory holding some.

Inside: files (find, read, decode) -> yamltree (parser events -> `located` values that know
their line and column) -> checks (each file on its own, some in forked helpers: parsing): schema_check (conformance's fast test, else JSON Schema errors
as sentences), references (${env:}) and literal secrets -> here (addresses unique per sandbox,
Resources).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from provisioner import kinds
from provisioner.errors import ManifestError, Problem, ProvisionerError
from provisioner.manifest import checks, graph, parsing
from provisioner.manifest import files as _files
from provisioner.manifest.files import MAX_BYTES, ManifestPathError
from provisioner.model import Location, Resource

__all__ = ["MAX_BYTES", "InvalidManifests", "ManifestPathError", "Manifests", "load", "parse_ahead"]


class InvalidManifests(ManifestError):
    """The ManifestError load() raises; it also carries the warnings found on the way."""

    def __init__(self, problems: list[Problem], warnings: Sequence[Problem] = ()) -> None:
        super().__init__(problems)
        self.warnings = tuple(sorted(warnings))


@dataclass(frozen=True)
class Manifests:
    """The checked manifests: resources in file order, the files read, and their digest."""

    resources: tuple[Resource, ...]
    files: tuple[str, ...]
    digest: str
    warnings: tuple[Problem, ...] = field(default_factory=tuple)
    # `moved:` entries: (sandbox, new address) -> the old address
    moved: Mapping[tuple[str, str], str] = field(default_factory=dict)


def digest(named: Sequence[tuple[str, bytes]]) -> str:
    """sha256 over each file's name and raw bytes, in order (length-prefixed, so unambiguous)."""
    h = hashlib.sha256()
    for name, data in named:
        encoded = name.encode("utf-8", "surrogateescape")
        h.update(b"%d:%s\0%d:" % (len(encoded), encoded, len(data)))
        h.update(data)
    return h.hexdigest()


def parse_ahead(paths: Sequence[str]) -> parsing.Parsing:
    """Start parsing the manifests at `paths` in forked helpers (see parsing), to be handed to
    load(ahead=...) later; call it before any thread starts. Problems are load()'s to report:
    paths it cannot read start nothing here."""
    try:
        names = _files.discover(paths)
    except ProvisionerError:
        names = []
    return parsing.Parsing.start(names, dict(os.environ), True)


def load(
    paths: Sequence[str],
    *,
    sandbox_override: str | None,
    default_sandbox: str,
    environ: Mapping[str, str] | None = None,
    resolve_env: bool = True,
    env_sandbox: str | None = None,
    ahead: parsing.Parsing | None = None,
) -> Manifests:
    """Read and check the manifests at `paths` (files or directories; none = the current one).

    The sandbox of each resource is `sandbox_override`, else its file's `sandbox:`, else
    `default_sandbox`. With resolve_env=False (offline validation) an unset ${env:NAME} is a
    warning and the value keeps its ${env:NAME} text; otherwise it is a problem. `ahead` is
    the parsing `parsing.Parsing.start` began earlier (it is used only if it read the same
    files with the same environment); without it, the parsing starts here.
    """
    env = dict(os.environ) if environ is None else environ  # a snapshot: os.environ encodes each read
    names = _files.discover(paths)
    problems: list[Problem] = []
    warnings: list[Problem] = []
    contents: list[tuple[str, bytes]] = []
    results: list[checks.Checked] = []
    parsed = parsing.Parsing.start(names, env, resolve_env) if ahead is None else ahead
    for name, one in zip(names, parsed.take(names, env, resolve_env), strict=True):
        contents.append((name, one.data))
        problems.extend(one.problems)
        if one.checked is not None:
            problems.extend(one.checked.problems)
            warnings.extend(one.checked.warnings)
            results.append(one.checked)

    problems.extend(_sandbox_conflicts(results, sandbox_override, env_sandbox))
    problems.extend(_duplicates(results, sandbox_override, default_sandbox))
    moves, move_problems = _moves(results, sandbox_override, default_sandbox)
    problems.extend(move_problems)
    problems.extend(_secrets_shown(results))
    if not problems:
        problems.extend(graph.check(results, sandbox_override, default_sandbox))
    if problems:
        raise InvalidManifests(problems, warnings)
    resources = tuple(
        Resource(
            kind=d.kind,
            address=d.address,
            document=d.document,
            location=d.location,
            sandbox=sandbox_override or d.sandbox or default_sandbox,
            protect=d.protect,
            ref_locations=d.ref_locations,
        )
        for r in results
        for d in r.declared
    )
    return Manifests(
        resources=resources,
        files=tuple(names),
        digest=digest(contents),
        warnings=tuple(sorted(warnings)),
        moved=moves,
    )


def _sandbox_conflicts(
    results: Sequence[checks.Checked], override: str | None, env_sandbox: str | None
) -> list[Problem]:
    """A --sandbox or AEP_SANDBOX that contradicts a file's explicit `sandbox:` is an error: it
    would silently move that file's resources to another sandbox."""
    problems: list[Problem] = []
    for r in results:
        if r.sandbox is None or r.sandbox_at is None:
            continue
        if override and override != r.sandbox:
            source = f"--sandbox {override}"
        elif not override and env_sandbox and env_sandbox != r.sandbox:
            source = f"AEP_SANDBOX={env_sandbox}"
        else:
            continue
        at = r.sandbox_at
        problems.append(
            Problem(
                at.file,
                at.line,
                at.column,
                "sandbox",
                f"the file says sandbox: {r.sandbox}, but {source} asks for another sandbox; "
                "a manifest's own sandbox is never overridden, so drop the option (or the "
                "variable), or plan this file separately.",
            )
        )
    return problems


def _moves(
    results: Sequence[checks.Checked], override: str | None, default_sandbox: str
) -> tuple[dict[tuple[str, str], str], list[Problem]]:
    """The `moved:` entries by (sandbox, new address) -> old address; each address moves once."""
    out: dict[tuple[str, str], str] = {}
    sources: dict[tuple[str, str], str] = {}
    problems: list[Problem] = []
    for r in results:
        sandbox = override or r.sandbox or default_sandbox
        for old, new, where in r.moved:
            if old == new or (sandbox, new) in out or (sandbox, old) in sources:
                problems.append(
                    Problem(
                        where.file,
                        where.line,
                        where.column,
                        "moved",
                        f"the move {old} -> {new} for sandbox '{sandbox}' is "
                        + ("a move to itself" if old == new else "not the only move of one of these addresses")
                        + "; each address moves at most once, to another address, so remove it.",
                    )
                )
                continue
            out[(sandbox, new)] = old
            sources[(sandbox, old)] = new
    return out, problems


# The tool's own credentials: never allowed in a field that is shown, stored and sent.
CREDENTIAL_VARIABLES = ("AEP_CLIENT_SECRET", "AEP_ACCESS_TOKEN")


def _secrets_shown(results: Sequence[checks.Checked]) -> list[Problem]:
    """A variable used as a secret anywhere, or holding the tool's own credentials, may not also
    fill a field that is shown and stored (name, description, a non-secret parameter)."""
    secret: dict[str, Location] = {}
    for result in results:
        for name, where in result.secret_vars.items():
            secret.setdefault(name, where)
    problems: list[Problem] = []
    for result in results:
        for name, file, pos, path in result.plain_vars:
            if name in CREDENTIAL_VARIABLES:
                why = "holds provisioner's own credentials"
            elif name in secret:
                why = f"holds a secret (it is used as one at {secret[name]})"
            else:
                continue
            problems.append(
                Problem(
                    file,
                    pos[0],
                    pos[1],
                    checks.format_path(path),
                    f"uses ${{env:{name}}}, which {why}; this field is shown in plans, stored in "
                    "the state and sent to Adobe, so use another variable here.",
                )
            )
    return problems


def _duplicates(
    results: Sequence[checks.Checked], sandbox_override: str | None, default_sandbox: str
) -> list[Problem]:
    first: dict[tuple[str, str], Location] = {}
    problems: list[Problem] = []
    for result in results:
        sandbox = sandbox_override or result.sandbox or default_sandbox
        for section, address, where in result.addresses:
            earlier = first.setdefault((sandbox, address), where)
            if earlier is where:
                continue
            problems.append(
                Problem(
                    where.file,
                    where.line,
                    where.column,
                    f"{section}.{address}",
                    f"the address '{address}' is also declared at {earlier} for sandbox "
                    f"'{sandbox}'; an address must be unique per sandbox across all manifest "
                    "files, so rename or remove one of them.",
                )
            )
    # Names too (plan refuses them): a lost state is recovered by name, so one name, one connection.
    named: dict[tuple[str, str, str], checks.Declared] = {}
    reported = {(p.file, p.line, p.column) for p in problems}  # a duplicate address says enough
    for result in results:
        sandbox = sandbox_override or result.sandbox or default_sandbox
        for d in result.declared:
            if not d.name or not kinds.get(d.kind).adopt_by_name:
                continue
            other = named.setdefault((sandbox, d.kind, d.name), d)
            if other is d or (d.location.file, d.location.line, d.location.column) in reported:
                continue
            problems.append(
                Problem(
                    d.location.file,
                    d.location.line,
                    d.location.column,
                    f"{d.section}.{d.address}",
                    f"the name '{d.name}' is also declared by '{other.address}' at "
                    f"{other.location} for sandbox '{sandbox}'; names must be unique per sandbox "
                    "so that a lost state can be recovered by name, so give each its own name.",
                )
            )
    return problems
