"""`provisioner graph [PATH...]`: the declared resources and their references, as Mermaid or DOT.
Offline: it reads only the manifests (plan --markdown shows the same picture with actions)."""

from __future__ import annotations

from provisioner.console import Console


def run(*, console: Console, paths: list[str], format: str, sandbox: str | None) -> int:
    from provisioner.manifest import load
    from provisioner.render import graph
    from provisioner.runtime import default_sandbox

    manifests = load(
        list(paths), sandbox_override=sandbox, default_sandbox=default_sandbox(), resolve_env=False
    )
    nodes, edges = graph.of_resources(manifests.resources)
    console.out(graph.dot(nodes, edges) if format == "dot" else graph.mermaid(nodes, edges))
    return 0
