"""References between declared resources: each must name an address of the right section in the
same sandbox, and they must not go round in a circle. Problems point at the reference."""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from provisioner.errors import Problem
from provisioner.manifest.checks import Checked, Declared


def check(
    results: Sequence[Checked], sandbox_override: str | None, default_sandbox: str
) -> list[Problem]:
    by_key: dict[tuple[str, str], Declared] = {}
    for result in results:
        sandbox = sandbox_override or result.sandbox or default_sandbox
        for d in result.declared:
            by_key[(sandbox, d.address)] = d
    problems: list[Problem] = []
    edges: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for (sandbox, address), d in sorted(by_key.items()):
        for target, section, where in d.references:
            path = f"{d.section}.{address}"
            found = by_key.get((sandbox, target))
            if found is None or found.section != section:
                options = sorted(a for (s, a), o in by_key.items() if s == sandbox and o.section == section)
                close = difflib.get_close_matches(target, options, n=1, cutoff=0.6)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                if found is not None:
                    what = f"'{target}' is declared under {found.section}, not under {section}"
                else:
                    what = f"no {section} entry '{target}' is declared in sandbox '{sandbox}'"
                could = (
                    f"the {section} addresses here are {', '.join(options)}"
                    if options
                    else f"declare it under '{section}:' in a manifest of sandbox '{sandbox}'"
                )
                problems.append(
                    Problem(where.file, where.line, where.column, path, f"refers to '{target}', but {what}{hint}; {could}.")
                )
                continue
            edges.setdefault((sandbox, address), []).append((sandbox, target))
    problems.extend(_cycles(by_key, edges))
    return problems


def _cycles(
    by_key: dict[tuple[str, str], Declared], edges: dict[tuple[str, str], list[tuple[str, str]]]
) -> list[Problem]:
    state: dict[tuple[str, str], int] = {}  # 1 visiting, 2 done
    problems: list[Problem] = []

    def visit(node: tuple[str, str], trail: list[tuple[str, str]]) -> None:
        state[node] = 1
        for nxt in edges.get(node, []):
            if state.get(nxt) == 1:
                ring = trail[trail.index(nxt):] + [nxt] if nxt in trail else [node, nxt]
                d = by_key[node]
                where = next(w for t, _s, w in d.references if t == nxt[1])
                names = " -> ".join(a for _s, a in ring)
                problems.append(
                    Problem(
                        where.file,
                        where.line,
                        where.column,
                        f"{d.section}.{d.address}",
                        f"the references go round in a circle ({names}); a resource cannot "
                        "depend on itself, so remove one of these references.",
                    )
                )
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    return problems
