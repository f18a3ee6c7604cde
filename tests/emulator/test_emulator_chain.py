"""The ingestion chain over real HTTP: every answer validated against Adobe's three contracts."""

from __future__ import annotations

from typing import Any

import pytest
from chain_helpers import (
    CAMPAIGN_DATASET,
    DATA_LAKE,
    FLOW_SPEC,
    START,
    Chain,
    FakeClock,
    created,
    dataset,
    flow_body,
    mapping_body,
    source_body,
    target_body,
)
from emulator_helpers import S3, Api, flow_code

MAPS = "/data/foundation/conversion/mappingSets"
DATASETS = "/data/foundation/catalog/dataSets"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def timed(emulator_factory: Any, clock: FakeClock) -> Api:
    return Api(emulator_factory(clock=clock).url)


@pytest.mark.slow
def test_the_whole_chain_is_created_and_read_back(timed: Api, clock: FakeClock) -> None:
    c = Chain(timed)
    src = timed.call("GET", f"/sourceConnections/{c.source['id']}").json()["items"][0]
    assert src["baseConnectionId"] == c.base and src["etag"] == c.source["etag"]
    assert src["params"]["path"] == "/acme-marketing/exports/*.csv" and src["state"] == "enabled"
    assert src["createdAt"] == START * 1000  # the injected clock
    tgt = timed.call("GET", f"/targetConnections/{c.target['id']}").json()["items"][0]
    assert (
        tgt["params"]["dataSetId"] == CAMPAIGN_DATASET and tgt["data"]["schema"]["id"] == c.schema
    )
    flow = timed.call("GET", f"/flows/{c.flow['id']}").json()["items"][0]
    assert flow["state"] == "enabled" and flow["version"] == flow["etag"] == c.flow["etag"]
    assert flow["flowSpec"] == {"id": FLOW_SPEC, "version": "1.0"}
    assert flow["scheduleParams"] == {"startTime": START, "frequency": "hour", "interval": "1"}
    assert flow["transformations"][0]["params"] == {
        "mappingId": c.mapping["id"],
        "mappingVersion": "0",
    }
    assert flow["inheritedAttributes"]["sourceConnections"][0]["baseConnection"]["id"] == c.base
    assert flow["runs"] == f"/runs?property=flowId=={c.flow['id']}"


def test_a_post_answers_201_with_location(api: Api) -> None:
    base = api.create()["id"]
    resp = api.call("POST", "/sourceConnections", json=source_body(base))
    assert resp.status_code == 201
    assert resp.headers["Location"].endswith(f"/sourceConnections/{resp.json()['id']}")


def test_flow_spec_lookup_by_quoted_name_and_by_id(api: Api) -> None:
    listed = api.call("GET", "/flowSpecs", params={"property": 'name=="CloudStorageToAEP"'}).json()
    [spec] = listed["items"]
    assert spec["id"] == FLOW_SPEC and S3 in spec["sourceConnectionSpecIds"]
    assert spec["targetConnectionSpecIds"] == [DATA_LAKE]
    schedule = spec["scheduleSpec"]["spec"]
    assert schedule["properties"]["frequency"]["enum"] == ["once", "minute", "hour", "day", "week"]
    assert api.call("GET", f"/flowSpecs/{FLOW_SPEC}").json()["items"] == [spec]
    assert api.call("GET", "/flowSpecs", params={"property": "name==Other"}).json() == {"items": []}
    assert flow_code(api.call("GET", "/flowSpecs/nope")) == "1101-404"


@pytest.mark.parametrize(
    ("schedule", "ok"),
    [
        ({"startTime": START, "frequency": "minute", "interval": 15}, True),
        ({"startTime": str(START), "frequency": "minute", "interval": "30"}, True),
        ({"startTime": START, "frequency": "minute", "interval": 14}, False),
        ({"startTime": START, "frequency": "hour", "interval": 1}, True),
        ({"startTime": START, "frequency": "week", "interval": 0}, False),
        ({"startTime": START, "frequency": "day"}, False),
        ({"startTime": START, "frequency": "once"}, True),
        ({"startTime": START, "frequency": "yearly", "interval": 1}, False),
        ({"frequency": "hour", "interval": 1}, False),
    ],
)
def test_schedule_rules(api: Api, schedule: dict[str, Any], ok: bool) -> None:
    base = api.create()["id"]
    ds, schema = dataset(api)
    src = created(api.call("POST", "/sourceConnections", json=source_body(base)))
    tgt = created(api.call("POST", "/targetConnections", json=target_body(ds, schema)))
    m = created(api.call("POST", MAPS, json=mapping_body(schema)), 200)
    body = flow_body(src["id"], tgt["id"], m["id"], **schedule)
    body["transformations"][0]["params"]["mappingVersion"] = 0  # as the tutorial sends it
    resp = api.call("POST", "/flows", json=body, validate_request=False)
    assert (resp.status_code == 201) is ok, resp.text
    if not ok:
        assert flow_code(resp) in ("1000-400", "1304-400")


def test_create_refuses_what_does_not_exist_or_does_not_fit(api: Api) -> None:
    base = api.create()["id"]
    ds, schema = dataset(api)
    _, other_schema = dataset(api, "Customer profiles")
    bad_src = api.call("POST", "/sourceConnections", json=source_body("no-such-base"))
    assert bad_src.status_code == 400 and "no-such-base" in bad_src.json()["errorMessage"]
    wrong_schema = api.call("POST", "/targetConnections", json=target_body(ds, other_schema))
    assert wrong_schema.status_code == 400
    no_dataset = api.call("POST", "/targetConnections", json=target_body("5" * 24, schema))
    assert no_dataset.status_code == 400
    src = created(api.call("POST", "/sourceConnections", json=source_body(base)))
    tgt = created(api.call("POST", "/targetConnections", json=target_body(ds, schema)))
    m = created(api.call("POST", MAPS, json=mapping_body(schema)), 200)
    other_m = created(api.call("POST", MAPS, json=mapping_body(other_schema)), 200)
    assert flow_code(api.call("POST", "/flows", json=flow_body("nope", tgt["id"], m["id"]))) == (
        "1000-400"
    )
    assert flow_code(api.call("POST", "/flows", json=flow_body(src["id"], "nope", m["id"]))) == (
        "1000-400"
    )
    assert flow_code(api.call("POST", "/flows", json=flow_body(src["id"], tgt["id"], "nope"))) == (
        "1412-400"
    )
    unknown_version = flow_body(src["id"], tgt["id"], m["id"], version=3)
    assert flow_code(api.call("POST", "/flows", json=unknown_version)) == "1412-400"
    mismatch = flow_body(src["id"], tgt["id"], other_m["id"])
    assert flow_code(api.call("POST", "/flows", json=mismatch)) == "1425-400"
    with_state = {**flow_body(src["id"], tgt["id"], m["id"]), "state": "enabled"}
    assert flow_code(api.call("POST", "/flows", json=with_state)) == "1410-400"
    spec = {**flow_body(src["id"], tgt["id"], m["id"]), "flowSpec": {"id": "x", "version": "1.0"}}
    assert flow_code(api.call("POST", "/flows", json=spec)) == "1413-400"
    assert api.call("GET", "/flows").json()["items"] == []  # nothing half-made


def test_older_tutorial_bodies_are_accepted(api: Api) -> None:
    base = api.create()["id"]
    _, schema = dataset(api)
    body = source_body(base)
    body["data"] = {"format": "DELIMITED", "columnDelimiter": "\t"}
    body["params"] = {"path": "/acme-marketing/exports/", "recursive": "true"}
    src = created(api.call("POST", "/sourceConnections", json=body))
    item = api.call("GET", f"/sourceConnections/{src['id']}").json()["items"][0]
    assert item["data"] == {"format": "delimited", "properties": {"columnDelimiter": "\t"}}
    assert item["params"]["recursive"] is True
    old = {
        "version": 0,
        "id": None,
        "xdmSchema": schema,
        "xdmVersion": "1.0",
        "mappings": [{"sourceAttribute": "Id", "destinationXdmPath": "_id", "identity": False}],
    }
    m = created(api.call("POST", MAPS, json=old, validate_request=False), 200)
    got = api.call("GET", f"{MAPS}/{m['id']}").json()
    assert got["outputSchema"]["schemaRef"]["id"] == schema
    assert got["mappings"][0]["source"] == "Id" and got["mappings"][0]["destination"] == "_id"


def test_patches_need_if_match_and_change_the_etag(api: Api) -> None:
    c = Chain(api)
    for path, item_id, etag in (
        ("/sourceConnections", c.source["id"], c.source["etag"]),
        ("/targetConnections", c.target["id"], c.target["etag"]),
        ("/flows", c.flow["id"], c.flow["etag"]),
    ):
        ops = [{"op": "replace", "path": "/name", "value": "renamed"}]
        no_if_match = api.call("PATCH", f"{path}/{item_id}", json=ops, validate_request=False)
        assert flow_code(no_if_match) == "1403-400"
        stale = api.call("PATCH", f"{path}/{item_id}", json=ops, headers={"If-Match": '"old"'})
        assert flow_code(stale) == "1404-412"
        resp = api.call("PATCH", f"{path}/{item_id}", json=ops, headers={"If-Match": etag})
        assert resp.status_code == 200, resp.text
        assert resp.json()["etag"] != etag
        item = api.call("GET", f"{path}/{item_id}").json()["items"][0]
        assert item["name"] == "renamed" and item["etag"] == resp.json()["etag"]
        unquoted = api.call(
            "PATCH", f"{path}/{item_id}", json=ops, headers={"If-Match": item["etag"].strip('"')}
        )
        assert unquoted.status_code == 200


def test_a_source_path_patch_and_the_fields_that_cannot_change(api: Api) -> None:
    c = Chain(api)
    sid = c.source["id"]
    ops = [{"op": "replace", "path": "/params/path", "value": "/acme-marketing/exports/"}]
    resp = api.call(
        "PATCH", f"/sourceConnections/{sid}", json=ops, headers={"If-Match": c.source["etag"]}
    )
    assert resp.json()["items"][0]["params"]["path"] == "/acme-marketing/exports/"
    etag = resp.json()["etag"]
    spec = [{"op": "replace", "path": "/connectionSpec/id", "value": "x"}]
    assert (
        flow_code(
            api.call("PATCH", f"/sourceConnections/{sid}", json=spec, headers={"If-Match": etag})
        )
        == "1414-400"
    )
    base = [{"op": "replace", "path": "/baseConnectionId", "value": "x"}]
    assert (
        flow_code(
            api.call("PATCH", f"/sourceConnections/{sid}", json=base, headers={"If-Match": etag})
        )
        == "1455-400"
    )
    state = [{"op": "replace", "path": "/state", "value": "disabled"}]
    assert (
        flow_code(
            api.call(
                "PATCH", f"/flows/{c.flow['id']}", json=state, headers={"If-Match": c.flow["etag"]}
            )
        )
        == "1455-400"
    )


def test_a_mapping_change_is_a_put_and_a_flow_patch(api: Api) -> None:
    c = Chain(api)
    new = mapping_body(
        c.schema, ("email", "personalEmail.address"), ("first", "person.name.firstName")
    )
    put = api.call("PUT", f"{MAPS}/{c.mapping['id']}", json=new)
    assert put.status_code == 200 and put.json()["version"] == 1
    assert (
        api.call("GET", f"{MAPS}/{c.mapping['id']}", params={"version": 0}).json()["version"] == 0
    )
    assert len(api.call("GET", f"{MAPS}/{c.mapping['id']}").json()["mappings"]) == 2
    ops = [
        {
            "op": "replace",
            "path": "/transformations/0",
            "value": {
                "name": "Mapping",
                "params": {"mappingId": c.mapping["id"], "mappingVersion": "1"},
            },
        }
    ]
    resp = api.call(
        "PATCH", f"/flows/{c.flow['id']}", json=ops, headers={"If-Match": c.flow["etag"]}
    )
    assert resp.status_code == 200 and set(resp.json()) == {"id", "etag"}
    flow = api.call("GET", f"/flows/{c.flow['id']}").json()["items"][0]
    assert flow["transformations"][0]["params"]["mappingVersion"] == "1"
    ops[0]["value"]["params"]["mappingVersion"] = "7"
    bad = api.call(
        "PATCH", f"/flows/{c.flow['id']}", json=ops, headers={"If-Match": resp.json()["etag"]}
    )
    assert flow_code(bad) == "1412-400"


def test_mapping_destinations_must_be_schema_fields(api: Api) -> None:
    _, schema = dataset(api)
    resp = api.call("POST", MAPS, json=mapping_body(schema, ("x", "person.nickname")))
    assert resp.status_code == 400 and "person.nickname" in resp.json()["detail"]
    unknown = api.call("POST", MAPS, json=mapping_body("https://ns.adobe.com/x/schemas/none"))
    assert unknown.status_code == 400
    indexed = api.call("POST", MAPS, json=mapping_body(schema, ("a", "person.name[0].firstName")))
    assert indexed.status_code == 200  # array steps are not schema fields: they are ignored
    ok = api.call("POST", MAPS, json=mapping_body(schema, ("n", "person.name")))
    assert ok.status_code == 200 and len(ok.json()["id"]) == 32


def test_mapping_set_listing_pages_with_start_and_limit(api: Api) -> None:
    _, schema = dataset(api)
    ids = [created(api.call("POST", MAPS, json=mapping_body(schema)), 200)["id"] for _ in range(5)]
    seen: list[str] = []
    start = 0
    while True:
        page = api.call("GET", MAPS, params={"limit": 2, "start": start}).json()
        assert page["_page"] == {"count": 5, "limit": 2}
        seen += [m["id"] for m in page["data"]]
        if "_links" not in page:
            break
        start += 2
    assert sorted(seen) == sorted(ids)
    missing = api.call("GET", MAPS, params={"limit": 2})
    assert missing.status_code == 400


def test_catalog_datasets_keyed_by_id(emulator_factory: Any) -> None:
    api = Api(emulator_factory(datasets=("Web events", "Web events")).url)
    listed = api.call("GET", DATASETS, params={"limit": 10}).json()
    names = sorted(d["name"] for d in listed.values())
    assert names == ["Campaign events", "Customer profiles", "Web events", "Web events"]
    dup = api.call("GET", DATASETS, params={"name": "Web events"}).json()
    assert len(dup) == 2  # an ambiguous name: both come back
    assert len({d["schemaRef"]["id"] for d in dup.values()}) == 2
    one = api.call("GET", f"{DATASETS}/{CAMPAIGN_DATASET}", params={"properties": "name"}).json()
    assert one == {CAMPAIGN_DATASET: {"name": "Campaign events"}}
    by_property = api.call("GET", DATASETS, params={"property": "name==Customer profiles"}).json()
    assert [d["name"] for d in by_property.values()] == ["Customer profiles"]
    paged = api.call("GET", DATASETS, params={"limit": 3, "start": 3}).json()
    assert len(paged) == 1
    assert api.call("GET", f"{DATASETS}/{'0' * 24}").status_code == 404
    assert api.call("GET", DATASETS, params={"limit": 0}).status_code == 400
    assert api.call("GET", DATASETS, sandbox=None, validate_request=False).status_code == 400


def test_explore_the_seeded_bucket_tree(api: Api) -> None:
    base = api.create()["id"]
    path = f"/connections/{base}/explore"

    def explore(**params: str) -> Any:
        return api.call("GET", path, params=params, validate_request=False)

    root = explore(objectType="root").json()
    assert [i["path"] for i in root] == ["/acme-marketing/", "/acme-sales/"]
    assert explore(objectType="folder", object="root").json() == root
    exports = explore(objectType="folder", object="/acme-marketing/exports/").json()
    assert {i["name"]: i["type"] for i in exports} == {
        "archive": "folder",
        "campaign-2026-01.csv": "file",
        "campaign-2026-02.csv": "file",
        "events.json": "file",
    }
    assert explore(objectType="FOLDER", object="/acme-sales/incoming").json() == []
    missing = explore(objectType="folder", object="/acme-marketing/nope")
    assert missing.status_code == 404 and flow_code(missing) == "1101-404"
    assert "/acme-marketing/nope" in missing.json()["errorMessage"]
    columns = explore(
        objectType="file",
        object="/acme-marketing/exports/events.json",
        fileType="json",
        preview="true",
    ).json()
    assert {"name": "email", "type": "String"} in columns
    assert flow_code(explore(objectType="table")) == "1358-400"
    assert flow_code(explore(objectType="folder")) == "1337-400"
    assert (
        flow_code(
            api.call(
                "GET",
                "/connections/nope/explore",
                params={"objectType": "root"},
                validate_request=False,
            )
        )
        == "1101-404"
    )


def test_explore_honours_the_connections_bucket(api: Api) -> None:
    body = {
        "name": "role",
        "auth": {"specName": "IAMRole Based", "params": {"bucketName": "acme-sales"}},
        "connectionSpec": {"id": S3, "version": "1.0"},
    }
    base = api.create(body)["id"]
    params = {"objectType": "root"}
    root = api.call("GET", f"/connections/{base}/explore", params=params, validate_request=False)
    assert [i["name"] for i in root.json()] == ["acme-sales"]
    other = {"objectType": "folder", "object": "/acme-marketing/exports"}
    resp = api.call("GET", f"/connections/{base}/explore", params=other, validate_request=False)
    assert resp.status_code == 404


def test_listings_filter_and_page(api: Api) -> None:
    chains = [Chain(api) for _ in range(3)]
    flows = []
    page = api.call("GET", "/flows", params={"limit": 2}).json()
    while True:
        flows += page["items"]
        nxt = page["_links"].get("next")
        if not nxt:
            break
        assert nxt["href"].startswith("/flows?continuationToken=")
        page = api.call("GET", nxt["href"]).json()
    assert [f["id"] for f in flows] == [c.flow["id"] for c in chains]
    two = f"{chains[0].flow['id']},{chains[2].flow['id']}"
    got = api.call("GET", "/flows", params={"property": f"id=={two}"}).json()["items"]
    assert {f["id"] for f in got} == {chains[0].flow["id"], chains[2].flow["id"]}
    by_source = api.call(
        "GET", "/flows", params={"property": f"sourceConnectionIds[]=={chains[1].source['id']}"}
    ).json()["items"]
    assert [f["id"] for f in by_source] == [chains[1].flow["id"]]
    both = api.call(
        "GET",
        "/flows",
        params=[("property", f"flowSpec.id=={FLOW_SPEC}"), ("property", f"id=={two}")],
    ).json()["items"]
    assert len(both) == 2
    by_base = api.call(
        "GET", "/sourceConnections", params={"property": f"baseConnectionId=={chains[2].base}"}
    ).json()["items"]
    assert [s["id"] for s in by_base] == [chains[2].source["id"]]
    by_spec = api.call(
        "GET", "/targetConnections", params={"property": f"connectionSpec.id=={DATA_LAKE}"}
    ).json()
    assert len(by_spec["items"]) == 3
    assert api.call("GET", "/flows", params={"count": "true"}).json() == {"count": 3}
    named = api.call("GET", "/flows", params={"property": "name==Campaign exports to the lake"})
    assert len(named.json()["items"]) == 3
    assert api.call("GET", "/flows", sandbox="dev").json()["items"] == []


def test_referential_rules_on_delete(api: Api) -> None:
    c = Chain(api)
    used = api.call("DELETE", f"/connections/{c.base}")
    assert flow_code(used) == "1418-400" and c.flow["id"] in str(used.json())
    assert flow_code(api.call("DELETE", f"/sourceConnections/{c.source['id']}")) == "1447-400"
    assert flow_code(api.call("DELETE", f"/targetConnections/{c.target['id']}")) == "1447-400"
    in_use = api.call("DELETE", f"{MAPS}/{c.mapping['id']}")
    assert in_use.status_code == 400
    assert api.call("DELETE", f"/flows/{c.flow['id']}").status_code == 204
    assert flow_code(api.call("GET", f"/flows/{c.flow['id']}")) == "1439-404"
    assert api.call("DELETE", f"/sourceConnections/{c.source['id']}").status_code == 204
    assert api.call("DELETE", f"/targetConnections/{c.target['id']}").status_code == 204
    assert api.call("DELETE", f"{MAPS}/{c.mapping['id']}").status_code == 204
    assert api.call("GET", f"{MAPS}/{c.mapping['id']}").status_code == 404
    assert api.call("DELETE", f"/connections/{c.base}").status_code == 204


def test_runs_follow_the_schedule_and_the_clock(timed: Api, clock: FakeClock) -> None:
    c = Chain(timed)  # hourly from START, created at START
    fid = c.flow["id"]

    def runs() -> list[dict[str, Any]]:
        resp = timed.call("GET", "/runs", params={"property": f"flowId=={fid}"})
        return list(resp.json()["items"])

    first = runs()
    assert len(first) == 1 and first[0]["metrics"]["statusSummary"]["status"] == "inProgress"
    clock.advance(6 * 3600 + 120)
    done = runs()
    assert len(done) == 7 and runs() == done  # the same clock shows the same runs
    statuses = [r["metrics"]["statusSummary"]["status"] for r in done]
    assert statuses == ["success"] * 5 + ["failed", "success"]
    m = done[0]["metrics"]
    assert m["fileSummary"]["inputFileCount"] == 2  # the two csv files of exports/ (backfill)
    assert m["recordSummary"] == {
        "inputRecordCount": 215,
        "createdRecordCount": 213,
        "outputRecordCount": 213,
        "failedRecordCount": 2,
    }
    assert m["statusSummary"]["errors"][0]["code"] == "MAPPER-3700-400"
    assert done[1]["metrics"]["fileSummary"]["inputFileCount"] == 0  # nothing new since
    assert done[5]["metrics"]["statusSummary"]["errors"][0]["code"] == "CONNECTOR-1001-500"
    one = timed.call("GET", f"/runs/{done[5]['id']}").json()["items"][0]
    assert one["id"] == done[5]["id"] and one["activities"] == one["activites"]
    failed = timed.call("GET", "/runs", params={"property": "metrics.statusSummary.status==failed"})
    assert [r["id"] for r in failed.json()["items"]] == [done[5]["id"]]
    flow = timed.call("GET", f"/flows/{fid}").json()["items"][0]
    assert flow["lastRunDetails"]["id"] == done[6]["id"]
    newest = timed.call("GET", "/runs", params={"orderby": "-createdAt", "limit": 2}).json()
    assert [r["id"] for r in newest["items"]] == [done[6]["id"], done[5]["id"]]


def test_a_disabled_flow_makes_no_runs(timed: Api, clock: FakeClock) -> None:
    c = Chain(timed)
    fid = c.flow["id"]
    clock.advance(60)  # the run made at creation starts before the flow is disabled
    off = timed.call(
        "POST", f"/flows/{fid}/action", params={"op": "disable"}, validate_request=False
    )
    assert off.status_code == 200 and off.json()["etag"] != c.flow["etag"]
    assert timed.call("GET", f"/flows/{fid}").json()["items"][0]["state"] == "disabled"
    clock.advance(5 * 3600)
    before = timed.call("GET", "/runs", params={"property": f"flowId=={fid}"}).json()["items"]
    assert len(before) == 1  # only the one made at creation
    on = timed.call("POST", f"/flows/{fid}/action", params={"op": "ENABLE"}, validate_request=False)
    assert on.status_code == 200
    again = timed.call(
        "POST", f"/flows/{fid}/action", params={"op": "enable"}, validate_request=False
    )
    assert again.status_code == 200 and again.json()["etag"] != on.json()["etag"]
    clock.advance(2 * 3600)
    after = timed.call("GET", "/runs", params={"property": f"flowId=={fid}"}).json()["items"]
    assert len(after) == 3
    publish = timed.call(
        "POST", f"/flows/{fid}/action", params={"op": "publish"}, validate_request=False
    )
    assert flow_code(publish) == "1422-400"
    assert timed.call("DELETE", f"/flows/{fid}").status_code == 204
    gone = timed.call("GET", "/runs", params={"property": f"flowId=={fid}"}).json()
    assert gone["items"] == []


def test_a_once_flow_runs_once(timed: Api, clock: FakeClock) -> None:
    c = Chain(timed, startTime=START + 60, frequency="once")
    clock.advance(12 * 3600)
    runs = timed.call("GET", "/runs", params={"property": f"flowId=={c.flow['id']}"}).json()
    assert len(runs["items"]) == 1 and runs["items"][0]["createdAt"] == (START + 60) * 1000


def test_the_chain_persists_with_db(emulator_factory: Any, tmp_path: Any) -> None:
    db = str(tmp_path / "emu.db")
    first = emulator_factory(db_path=db)
    c = Chain(Api(first.url))
    first.stop()
    api = Api(emulator_factory(db_path=db).url)
    assert api.call("GET", f"/flows/{c.flow['id']}").json()["items"][0]["etag"] == c.flow["etag"]
    assert api.call("GET", f"{MAPS}/{c.mapping['id']}").json()["version"] == 0
    assert flow_code(api.call("DELETE", f"/connections/{c.base}")) == "1418-400"


def test_faults_apply_to_the_chain(emulator_factory: Any) -> None:
    api = Api(emulator_factory(fail_rate=1.0).url)
    for path in ("/flows", "/runs", MAPS + "?limit=1&start=0", DATASETS):
        assert api.call("GET", path).status_code == 503
    rated = Api(emulator_factory(rate_limit=1).url)
    codes = [rated.call("GET", DATASETS).status_code for _ in range(3)]
    assert 429 in codes


def test_the_headers_rules_hold_on_every_service(api: Api) -> None:
    for path in ("/flows", MAPS + "?limit=1&start=0", DATASETS):
        resp = api.call("GET", path, drop=("x-api-key",), validate_request=False)
        assert resp.status_code == 403 and resp.json()["error_code"] == "403000"
        assert api.call("GET", path, sandbox="nowhere").status_code == 404
    assert flow_code(api.call("GET", "/flows", sandbox=None)) == "2105-400"
    resp = api.call("POST", MAPS, data="{}", validate_request=False)
    assert resp.status_code == 400 and resp.json()["title"] == "BadRequestError"
