"""The S3 ingestion chain end to end: real CLI, real emulator, the example manifests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import requests

from tests.aep import RawApi
from tests.chain.conftest import writes


def _state(path: Path) -> dict[str, Any]:
    doc = json.loads((path / "provisioner.state.json").read_text())
    return {a: e for sandboxes in doc["resources"].values() for s in sandboxes.values() for a, e in s.items()}


def _collection(emu: Any, path: str, sandbox: str = "prod") -> list[dict[str, Any]]:
    api = RawApi(emu.url)
    items: list[dict[str, Any]] = []
    url = f"{emu.url}/data/foundation/flowservice{path}?limit=100"
    while url:
        body = requests.get(url, headers=api.headers(sandbox), timeout=10).json()
        items += body["items"]
        nxt = (body.get("_links") or {}).get("next", {}).get("href")
        url = f"{emu.url}/data/foundation/flowservice{nxt}" if nxt else ""
    return items


def test_the_example_chain_applies_in_one_apply_and_a_second_plan_is_clean(
    chain_env: Any, cli: Any, examples: Path, tmp_path: Path
) -> None:
    r = cli("apply", "--auto-approve", str(examples))
    assert r.code == 0, r.err
    assert "Apply complete! 7 created" in r.out
    st = _state(tmp_path)
    assert sorted(st) == [
        "campaign-exports", "campaign-ingest", "campaign-ingest.mapping", "campaign-lake",
        "finance-reports", "marketing-landing", "product-catalog",
    ]
    assert st["campaign-ingest"]["kind"] == "dataflow"
    assert st["campaign-ingest"]["dependsOn"] == ["campaign-exports", "campaign-ingest.mapping", "campaign-lake"]
    assert st["campaign-exports"]["baseConnectionId"] == st["marketing-landing"]["id"]
    flows = _collection(chain_env, "/flows")
    assert [f["id"] for f in flows] == [st["campaign-ingest"]["id"]]
    assert flows[0]["sourceConnectionIds"] == [st["campaign-exports"]["id"]]
    assert flows[0]["transformations"][0]["params"]["mappingId"] == st["campaign-ingest.mapping"]["id"]
    before = (tmp_path / "provisioner.state.json").read_bytes()
    again = cli("plan", "--detailed-exitcode", str(examples))
    assert again.code == 0, again.out + again.err
    assert "No changes. The resources match the manifests and the state." in again.out
    assert cli("apply", "--auto-approve", str(examples)).code == 0
    assert (tmp_path / "provisioner.state.json").read_bytes() == before


def test_the_plan_shows_ids_known_only_after_apply_and_the_dependencies(
    chain_env: Any, cli: Any, examples: Path
) -> None:
    r = cli("plan", "--json", str(examples))
    assert r.code == 0, r.err
    changes = {c["address"]: c for c in json.loads(r.out)["changes"]}
    flow = changes["campaign-ingest"]
    assert flow["depends_on"] == ["campaign-exports", "campaign-ingest.mapping", "campaign-lake"]
    unknown = {f["path"] for f in flow["fields"] if f.get("unknown")}
    assert {"sourceConnectionIds[0]", "targetConnectionIds[0]", "transformations[0].params.mappingId"} <= unknown
    target = {f["path"]: f["after"] for f in changes["campaign-lake"]["fields"]}
    assert target["params.dataSetId"] == "6461e5e5b8a3f41c0a1f2b3c"  # found by name in Catalog
    text = cli("plan", str(examples)).out
    assert "+ dataflow \"campaign-ingest\" {" in text
    assert "sourceConnectionIds[0]                   = (known after apply)" in text


def test_renaming_a_flow_is_one_patch(chain_env: Any, cli: Any, examples: Path) -> None:
    assert cli("apply", "--auto-approve", str(examples)).code == 0
    chain = examples / "chain.yaml"
    chain.write_text(chain.read_text().replace("name: Example campaign exports to the lake", "name: Renamed flow"))
    r = cli("apply", "--auto-approve", "--debug", str(examples))
    assert r.code == 0, r.err
    sent = writes(r.err)
    assert len(sent) == 1 and sent[0][0] == "PATCH" and sent[0][1].startswith("/flows/"), sent
    assert _collection(chain_env, "/flows")[0]["name"] == "Renamed flow"


def test_a_mapping_change_is_one_put_and_one_flow_patch(chain_env: Any, cli: Any, examples: Path) -> None:
    assert cli("apply", "--auto-approve", str(examples)).code == 0
    chain = examples / "chain.yaml"
    chain.write_text(
        chain.read_text().replace(
            "      - {source: email, destination: personalEmail.address}\n",
            "      - {source: email, destination: personalEmail.address}\n"
            "      - {source: first_name, destination: person.name.firstName}\n",
        )
    )
    plan = cli("plan", str(examples))
    assert "transformations[0].params.mappingVersion = \"0\" -> (known after apply)" in plan.out
    r = cli("apply", "--auto-approve", "--debug", str(examples))
    assert r.code == 0, r.err
    methods = [(m, p.split("/")[1]) for m, p in writes(r.err)]
    assert methods == [("PUT", "mappingSets"), ("PATCH", "flows")], methods
    flow = _collection(chain_env, "/flows")[0]
    assert flow["transformations"][0]["params"]["mappingVersion"] == "1"
    assert cli("plan", "--detailed-exitcode", str(examples)).code == 0


def test_enabled_false_disables_through_the_flow_action(chain_env: Any, cli: Any, examples: Path) -> None:
    assert cli("apply", "--auto-approve", str(examples)).code == 0
    chain = examples / "chain.yaml"
    chain.write_text(chain.read_text().replace("enabled: true", "enabled: false"))
    r = cli("apply", "--auto-approve", "--debug", str(examples))
    assert r.code == 0, r.err
    assert [(m, p.rsplit("/", 1)[-1]) for m, p in writes(r.err)] == [("POST", "action")]
    assert _collection(chain_env, "/flows")[0]["state"] == "disabled"
    assert cli("plan", "--detailed-exitcode", str(examples)).code == 0


def test_destroy_removes_everything_in_reverse_order(chain_env: Any, cli: Any, examples: Path, tmp_path: Path) -> None:
    assert cli("apply", "--auto-approve", str(examples)).code == 0
    r = cli("destroy", "--auto-approve", "--debug", str(examples))
    assert r.code == 0, r.err
    assert "1418" not in r.err
    order = [p.split("/")[1] for m, p in writes(r.err) if m == "DELETE"]
    assert order.index("flows") < order.index("mappingSets")
    assert order.index("flows") < order.index("sourceConnections") < max(
        i for i, c in enumerate(order) if c == "connections"
    )
    for path in ("/flows", "/sourceConnections", "/targetConnections"):
        assert _collection(chain_env, path) == [], path
    (kept,) = RawApi(chain_env.url).list()  # finance-reports is protect: true
    assert kept["id"] == _state(tmp_path)["finance-reports"]["id"]
    assert "Destroy complete! 6 deleted, 1 protected kept." in r.out


def test_a_lost_state_adopts_the_whole_chain_with_no_duplicate(
    chain_env: Any, cli: Any, examples: Path, tmp_path: Path
) -> None:
    assert cli("apply", "--auto-approve", str(examples)).code == 0
    ids = {a: e["id"] for a, e in _state(tmp_path).items()}
    (tmp_path / "provisioner.state.json").unlink()
    r = cli("apply", "--auto-approve", str(examples))
    assert r.code == 0, r.err
    assert "0 created" in r.out and "7 adopted" in r.out
    assert {a: e["id"] for a, e in _state(tmp_path).items()} == ids
    for path in ("/flows", "/sourceConnections", "/targetConnections"):
        assert len(_collection(chain_env, path)) == 1
    assert cli("plan", "--detailed-exitcode", str(examples)).code == 0


def test_a_failed_create_stops_only_what_depends_on_it(chain_env: Any, cli: Any, examples: Path, tmp_path: Path) -> None:
    chain = examples / "chain.yaml"
    # The emulator refuses a source path that does not start with '/', as the reference advises.
    chain.write_text(chain.read_text().replace("path: /acme-marketing/exports/*.csv", "path: acme-marketing/exports/*.csv"))
    r = cli("apply", "--auto-approve", str(examples))
    assert r.code == 1
    assert "prod/campaign-exports: failed" in r.err
    assert "prod/campaign-ingest: failed: not attempted: it depends on prod/campaign-exports, which failed" in r.err
    created = sorted(_state(tmp_path))
    assert created == ["campaign-ingest.mapping", "campaign-lake", "finance-reports", "marketing-landing", "product-catalog"]
    assert _collection(chain_env, "/flows") == []


def test_status_shows_each_dataflow_and_its_runs(chain_env: Any, cli: Any, examples: Path) -> None:
    before = cli("status", str(examples))
    assert before.code == 0 and "prod/campaign-ingest" in before.out and "not created" in before.out
    assert cli("apply", "--auto-approve", str(examples)).code == 0
    r = cli("status", "--json", str(examples))
    assert r.code == 0, r.err
    (flow,) = json.loads(r.out)["dataflows"]
    assert flow["state"] == "enabled" and flow["address"] == "campaign-ingest"
    assert flow["runs"], "an enabled hourly flow started in the past has a run"
    run = flow["runs"][0]
    assert run["files_read"] == 2 and run["records_read"] == 215
    text = cli("status", str(examples)).out
    assert "files 2 read" in text and "records 215 read" in text


def test_verify_reports_a_source_path_that_does_not_exist(chain_env: Any, cli: Any, examples: Path) -> None:
    assert cli("apply", "--auto-approve", str(examples)).code == 0
    assert cli("plan", "--verify", str(examples)).code == 0
    chain = examples / "chain.yaml"
    chain.write_text(chain.read_text().replace("/acme-marketing/exports/*.csv", "/acme-marketing/missing/*.csv"))
    r = cli("plan", "--verify", str(examples))
    assert r.code == 1
    assert "prod/campaign-exports: verify failed: the folder /acme-marketing/missing/ does not exist" in r.err
    chain.write_text(chain.read_text().replace("/acme-marketing/missing/*.csv", "/acme-marketing/exports/*.parquet"))
    r = cli("plan", "--verify", str(examples))
    assert r.code == 1 and "no file matches *.parquet in /acme-marketing/exports/" in r.err


def test_import_and_refresh_work_on_chain_resources(chain_env: Any, cli: Any, examples: Path, tmp_path: Path) -> None:
    assert cli("apply", "--auto-approve", str(examples)).code == 0
    source_id = _state(tmp_path)["campaign-exports"]["id"]
    assert cli("state", "rm", "campaign-exports").code == 0
    r = cli("import", "campaign-exports", source_id, str(examples))
    assert r.code == 0, r.err
    assert _state(tmp_path)["campaign-exports"]["id"] == source_id
    api = RawApi(chain_env.url)
    flow = _collection(chain_env, "/flows")[0]
    resp = requests.patch(
        f"{chain_env.url}/data/foundation/flowservice/flows/{flow['id']}",
        headers=api.headers("prod", **{"If-Match": flow["etag"]}),
        json=[{"op": "replace", "path": "/name", "value": "Edited in the UI"}],
        timeout=10,
    )
    assert resp.status_code == 200, resp.text
    r = cli("refresh", str(examples))
    assert r.code == 0, r.err
    assert "prod/campaign-ingest: changed outside provisioner by ui-colleague" in r.out
    plan = cli("plan", str(examples))
    assert '~ name = "Edited in the UI" -> "Example campaign exports to the lake"' in plan.out


def test_a_saved_plan_of_the_chain_is_applied_exactly(chain_env: Any, cli: Any, examples: Path, tmp_path: Path) -> None:
    r = cli("plan", "--out", "plan.bin", str(examples))
    assert r.code == 0, r.err
    doc = json.loads((tmp_path / "plan.bin").read_text())
    flow = next(c for c in doc["plan"]["changes"] if c["address"] == "campaign-ingest")
    assert flow["depends_on"] == ["campaign-exports", "campaign-ingest.mapping", "campaign-lake"]
    shown = cli("show", "--json", "plan.bin")
    assert shown.code == 0 and json.loads(shown.out)["summary"]["create"] == 7
    applied = cli("apply", "plan.bin")
    assert applied.code == 0, applied.err
    assert "Apply complete! 7 created" in applied.out
    assert cli("plan", "--detailed-exitcode", str(examples)).code == 0
    # A plan made before a change elsewhere in the chain is stale, not half-applied.
    chain = examples / "chain.yaml"
    chain.write_text(chain.read_text().replace("name: Example campaign exports to the lake", "name: Renamed"))
    assert cli("plan", "--out", "plan.bin", str(examples)).code == 0
    api = RawApi(chain_env.url)
    flow_id = _state(tmp_path)["campaign-ingest"]["id"]
    current = _collection(chain_env, "/flows")[0]
    requests.patch(
        f"{chain_env.url}/data/foundation/flowservice/flows/{flow_id}",
        headers=api.headers("prod", **{"If-Match": current["etag"]}),
        json=[{"op": "replace", "path": "/description", "value": "edited in the UI"}],
        timeout=10,
    ).raise_for_status()
    stale = cli("apply", "plan.bin")
    assert stale.code == 1 and "is stale, so nothing was applied" in stale.err
    assert _collection(chain_env, "/flows")[0]["name"] == "Example campaign exports to the lake"
