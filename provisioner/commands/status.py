"""`provisioner status [PATH...]`: each declared dataflow's state and its last runs."""

from __future__ import annotations

import json as jsonlib
from typing import Any

from provisioner.console import Console


def run(
    *,
    console: Console,
    paths: list[str],
    json: bool,
    runs: int,
    state: str,
    sandbox: str | None,
    emulator: bool,
) -> int:
    from provisioner import kinds
    from provisioner import runs as run_records
    from provisioner.errors import PlanError
    from provisioner.manifest import load
    from provisioner.render import escape
    from provisioner.render.text import when
    from provisioner.runtime import connect, default_sandbox
    from provisioner.state import StateStore

    manifests = load(
        list(paths), sandbox_override=sandbox, default_sandbox=default_sandbox(), resolve_env=False
    )
    flows = [r for r in manifests.resources if r.kind == "dataflow"]
    if not flows:
        raise PlanError(
            f"no dataflow is declared in {', '.join(manifests.files) or 'the given paths'}; "
            "status reports on the dataflows of the manifests"
        )
    current = StateStore(state).load()
    kind = kinds.get("dataflow")
    report: list[dict[str, Any]] = []
    with connect(emulator=emulator) as runtime:
        org = runtime.settings.org_id
        for res in sorted(flows, key=lambda r: (r.sandbox, r.address)):
            entry = current.get(org, res.sandbox, res.address)
            row: dict[str, Any] = {
                "address": res.address,
                "sandbox": res.sandbox,
                "name": res.name,
                "id": entry.id if entry else None,
                "state": "not created",
                "runs": [],
            }
            if entry is not None:
                item = runtime.client.get_item(kind, res.sandbox, entry.id)
                if item is None:
                    row["state"] = "deleted outside provisioner"
                else:
                    row["state"] = str(item.get("state", "unknown"))
                    found = runtime.client.runs(res.sandbox, entry.id, limit=runs)
                    row["runs"] = [run_records.read(i).data for i in found]
            report.append(row)
    if json:
        text = jsonlib.dumps({"format_version": "1.0", "dataflows": report}, indent=2)
        console.out(escape.json_text(text))
        return 0
    for row in report:
        where = escape.plain(f"{row['sandbox']}/{row['address']}")
        ident = f" (id {row['id']})" if row["id"] else ""
        console.out(f"{where}: {escape.plain(row['name'], quote=True)}{ident}: {row['state']}")
        if row["id"] and row["state"] not in ("not created", "deleted outside provisioner"):
            if not row["runs"]:
                console.out("    no run yet")
            for r in row["runs"]:
                console.out("    " + _run_line(r, when))
                for e in r["errors"]:
                    console.out(f"      error {escape.plain(e['code'])}: {escape.plain(e['message'])}")
        elif row["state"] == "not created":
            console.out("    run 'provisioner apply' to create it")
    return 0


def _run_line(r: dict[str, Any], when: Any) -> str:
    def n(value: Any) -> str:
        return "?" if value is None else str(value)

    started = when(r["started_at_ms"]) if r["started_at_ms"] else "not started"
    return (
        f"{started}  {r['status']:<10}  files {n(r['files_read'])} read, "
        f"{n(r['files_written'])} written; records {n(r['records_read'])} read, "
        f"{n(r['records_written'])} written, {n(r['records_failed'])} failed"
    )
