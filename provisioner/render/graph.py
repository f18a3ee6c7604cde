"""The resource graph as a picture: Mermaid (GitHub renders it in PR comments and job summaries)
and Graphviz DOT. Node ids are generated (n0, n1, ...); names only ever appear in labels,
escaped for the medium, so no manifest text can add a node, an edge or a link."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from provisioner.render import escape


@dataclass(frozen=True)
class Node:
    key: tuple[str, str]  # (sandbox, address)
    label: str  # the kind's label: connection, source, ...
    action: str  # create, update, no-op, delete, read, ...


_STYLE = {
    "create": "fill:#dafbe1,stroke:#1a7f37",
    "recreate": "fill:#dafbe1,stroke:#1a7f37",
    "adopt": "fill:#ddf4ff,stroke:#0969da",
    "update": "fill:#fff8c5,stroke:#9a6700",
    "replace": "fill:#fbefff,stroke:#8250df",
    "delete": "fill:#ffebe9,stroke:#cf222e",
    "read": "fill:#f6f8fa,stroke:#57606a,stroke-dasharray:3 3",
    "no-op": "fill:#ffffff,stroke:#8c959f",
}


def _mermaid_text(text: str) -> str:
    """Text inside a quoted Mermaid label: every character that is not plainly safe becomes an
    entity code (#35; style), so quotes, brackets, pipes, HTML and newlines stay text."""
    safe = escape.plain(text)
    return "".join(
        ch if ch.isascii() and (ch.isalnum() or ch in " .-_/:") else f"#{ord(ch)};" for ch in safe
    )


def _ordered(nodes: Iterable[Node]) -> list[Node]:
    return sorted(nodes, key=lambda n: n.key)


def mermaid(nodes: Iterable[Node], edges: Iterable[tuple[tuple[str, str], tuple[str, str]]]) -> str:
    """A `flowchart LR`: each edge points from what is needed to what needs it."""
    ordered = _ordered(nodes)
    ids = {n.key: f"n{i}" for i, n in enumerate(ordered)}
    lines = ["flowchart LR"]
    for n in ordered:
        sandbox, address = n.key
        label = _mermaid_text(f"{n.label} {sandbox}/{address}") + "<br/>" + _mermaid_text(n.action)
        lines.append(f'  {ids[n.key]}["{label}"]:::{_css(n.action)}')
    for needed, needing in sorted(set(edges)):
        if needed in ids and needing in ids:
            lines.append(f"  {ids[needed]} --> {ids[needing]}")
    for action in sorted({n.action for n in ordered}):
        lines.append(f"  classDef {_css(action)} {_STYLE.get(action, _STYLE['no-op'])}")
    return "\n".join(lines)


def _css(action: str) -> str:
    return "a_" + "".join(ch if ch.isalnum() else "_" for ch in action)


def _dot_text(text: str) -> str:
    return escape.plain(text).replace("\\", "\\\\").replace('"', '\\"')


def dot(nodes: Iterable[Node], edges: Iterable[tuple[tuple[str, str], tuple[str, str]]]) -> str:
    ordered = _ordered(nodes)
    ids = {n.key: f"n{i}" for i, n in enumerate(ordered)}
    lines = ["digraph provisioner {", "  rankdir=LR;", "  node [shape=box];"]
    for n in ordered:
        sandbox, address = n.key
        label = _dot_text(f"{n.label} {sandbox}/{address}") + "\\n" + _dot_text(n.action)
        lines.append(f'  {ids[n.key]} [label="{label}"];')
    for needed, needing in sorted(set(edges)):
        if needed in ids and needing in ids:
            lines.append(f"  {ids[needed]} -> {ids[needing]};")
    lines.append("}")
    return "\n".join(lines)


def of_plan(plan: object) -> tuple[list[Node], list[tuple[tuple[str, str], tuple[str, str]]]]:
    """Nodes and edges of a Plan: its changes (with their actions) and the datasets it read."""
    from provisioner import kinds
    from provisioner.plan import Plan

    assert isinstance(plan, Plan)
    nodes: dict[tuple[str, str], Node] = {}
    edges: list[tuple[tuple[str, str], tuple[str, str]]] = []
    for c in plan.changes:
        nodes[(c.sandbox, c.address)] = Node((c.sandbox, c.address), c.label, c.action.value)
        edges += [((c.sandbox, d), (c.sandbox, c.address)) for d in c.depends_on]
    for (_org, sandbox, address), res in plan.resources.items():
        if (sandbox, address) not in nodes and not kinds.get(res.kind).managed:
            nodes[(sandbox, address)] = Node((sandbox, address), kinds.get(res.kind).label, "read")
    return list(nodes.values()), edges


def of_resources(
    resources: Iterable[object],
) -> tuple[list[Node], list[tuple[tuple[str, str], tuple[str, str]]]]:
    """Nodes and edges of declared resources alone (no plan: no actions)."""
    from provisioner import kinds
    from provisioner.model import Resource

    nodes: list[Node] = []
    edges: list[tuple[tuple[str, str], tuple[str, str]]] = []
    for res in resources:
        assert isinstance(res, Resource)
        kind = kinds.get(res.kind)
        nodes.append(
            Node((res.sandbox, res.address), kind.label, "declared" if kind.managed else "read")
        )
        edges += [((res.sandbox, d), (res.sandbox, res.address)) for d in res.depends_on]
    return nodes, edges

