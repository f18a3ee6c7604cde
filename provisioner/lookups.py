"""Unmanaged resources (datasets) found by name or id: one paged Catalog look-up per sandbox."""

from __future__ import annotations

from collections.abc import Iterable

from provisioner import kinds
from provisioner.client_api import Client
from provisioner.errors import PlanError
from provisioner.model import Remote, Resource


def find(client: Client, resources: Iterable[Resource]) -> dict[tuple[str, str], Remote]:
    """What each declared dataset is, by (sandbox, address); PlanError naming every dataset
    that is missing or whose name is ambiguous."""
    wanted: dict[str, list[Resource]] = {}
    for res in resources:
        if not kinds.get(res.kind).managed:
            wanted.setdefault(res.sandbox, []).append(res)
    found: dict[tuple[str, str], Remote] = {}
    problems: list[str] = []
    for sandbox, declared in sorted(wanted.items()):
        kind = kinds.get(declared[0].kind)
        names = sorted({str(r.document["name"]) for r in declared if "name" in r.document})
        by_name: dict[str, list[Remote]] = {}
        if names:
            # Catalog's name= takes several names at once (any of them).
            simple = [n for n in names if "," not in n]
            for batch in _batches(simple):
                for item in client.list_items(kind, sandbox, filters=[("name", ",".join(batch))]):
                    remote = kind.read(item, sandbox)
                    by_name.setdefault(remote.name, []).append(remote)
            for name in (n for n in names if "," in n):
                for item in client.list_items(kind, sandbox, name=name):
                    remote = kind.read(item, sandbox)
                    by_name.setdefault(remote.name, []).append(remote)
        for res in sorted(declared, key=lambda r: r.address):
            where = f"{sandbox}/{res.address}"
            if "id" in res.document:
                by_id = client.get_item(kind, sandbox, str(res.document["id"]))
                if by_id is None:
                    problems.append(
                        f"{where}: no dataset has the id {res.document['id']} in sandbox "
                        f"{sandbox}; check the id, or give the dataset's name instead"
                    )
                else:
                    found[(sandbox, res.address)] = kind.read(by_id, sandbox)
                continue
            name = str(res.document["name"])
            matches = by_name.get(name, [])
            if not matches:
                problems.append(
                    f"{where}: no dataset named {name!r} exists in sandbox {sandbox}; create it "
                    "in AEP first (provisioner never creates datasets), or fix the name"
                )
            elif len(matches) > 1:
                ids = ", ".join(sorted(m.id for m in matches))
                problems.append(
                    f"{where}: {len(matches)} datasets are named {name!r} in sandbox {sandbox} "
                    f"({ids}); write `id:` instead of `name:` to choose one"
                )
            else:
                found[(sandbox, res.address)] = matches[0]
    if problems:
        if len(problems) == 1:
            raise PlanError(problems[0] + ".")
        raise PlanError(
            f"{len(problems)} problems prevent a plan:\n" + "\n".join(f"  - {p}" for p in problems)
        )
    return found


def _batches(names: list[str], size: int = 40) -> Iterable[list[str]]:
    for i in range(0, len(names), size):
        yield names[i : i + size]
