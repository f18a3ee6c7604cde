"""Listings: pages to the end, property filters, orderby, count, and their documented errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from emulator_helpers import S3, Api, flow_code, s3_body

from provisioner.emulator import Emulator, EmulatorConfig


@pytest.fixture(scope="module")
def seeded() -> Iterator[Api]:
    """23 connections, shared by the read-only tests of this module."""
    with Emulator(EmulatorConfig(port=0, max_page_size=10, default_page_size=4)) as emu:
        yield _seed(Api(emu.url))


@pytest.fixture
def fresh(emulator_factory: Any) -> Api:
    return _seed(Api(emulator_factory(max_page_size=10, default_page_size=4).url))


def _seed(api: Api) -> Api:
    for i in range(23):
        body = s3_body(
            f"conn-{i:02d}",
            s3AccessKey=f"AK{i}",
            s3SecretKey="SK",
            bucketName="even" if i % 2 == 0 else "odd",
        )
        if i % 3 == 0:
            body["auth"] = {"specName": "IAMRole Based", "params": {"bucketName": "role"}}
        api.create(body)
    return api


def names(items: list[dict[str, Any]]) -> list[str]:
    return [i["name"] for i in items]


def test_pages_follow_next_links_to_the_end_with_nothing_lost(seeded: Api) -> None:
    first = seeded.call("GET", "/connections").json()
    assert len(first["items"]) == 4  # the default page size
    href = first["_links"]["next"]["href"]
    assert href.startswith("/connections?continuationToken=")
    # Following the bare href (no original params) works as well as aepp's repeated params.
    seen = names(first["items"])
    while href:
        page = seeded.call("GET", href).json()
        seen += names(page["items"])
        href = page["_links"].get("next", {}).get("href")
    assert seen == [f"conn-{i:02d}" for i in range(23)]  # creation order by default
    assert names(seeded.list_all(limit=5)) == seen


def test_limit_above_the_maximum_is_clamped(seeded: Api) -> None:
    page = seeded.call("GET", "/connections", params={"limit": 1000}).json()
    assert len(page["items"]) == 10 and "next" in page["_links"]


def test_the_last_page_has_no_next_link(seeded: Api) -> None:
    page = seeded.call(
        "GET", "/connections", params={"limit": 10, "property": "name==conn-01,conn-02"}
    ).json()
    assert names(page["items"]) == ["conn-01", "conn-02"]
    assert "next" not in page["_links"]


def test_exact_page_boundary_has_no_empty_last_page(seeded: Api) -> None:
    resp = seeded.call(
        "GET",
        "/connections",
        params={"limit": 10, "orderby": "name", "property": "auth.specName==Access Key"},
    )
    pages = [resp.json()]
    while "next" in pages[-1]["_links"]:
        pages.append(seeded.call("GET", pages[-1]["_links"]["next"]["href"]).json())
    assert [len(p["items"]) for p in pages] == [10, 5]


def test_filters_any_of_and_repeated_as_and(seeded: Api) -> None:
    assert names(seeded.list_all(property="name==conn-03")) == ["conn-03"]
    assert names(seeded.list_all(property="name==conn-03,conn-04,nope")) == ["conn-03", "conn-04"]
    both = seeded.list_all(property=["auth.params.bucketName==even", "auth.specName==Access Key"])
    assert names(both) == [f"conn-{i:02d}" for i in range(23) if i % 2 == 0 and i % 3 != 0]
    assert len(seeded.list_all(property=f"connectionSpec.id=={S3}")) == 23
    assert seeded.list_all(property="connectionSpec.id==other") == []
    assert len(seeded.list_all(property="state==enabled")) == 23
    assert len(seeded.list_all(property="description==Connection for an Amazon S3 account")) == 23
    one = seeded.list_all(property="name==conn-07")[0]
    assert names(seeded.list_all(property=f"id=={one['id']}")) == ["conn-07"]
    assert len(seeded.list_all(property="name!=conn-07")) == 22
    assert len(seeded.list_all(property=f"createdAt>={one['createdAt']}")) >= 16


def test_filters_stay_applied_across_pages(seeded: Api) -> None:
    items = seeded.list_all(property="auth.specName==IAMRole Based", limit=2)
    assert names(items) == [f"conn-{i:02d}" for i in range(0, 23, 3)]


@pytest.mark.parametrize(
    ("orderby", "expected"),
    [
        ("name", sorted),
        ("+name", sorted),
        ("-name", lambda n: sorted(n, reverse=True)),
        ("createdAt", sorted),
        ("-createdAt", lambda n: sorted(n, reverse=True)),
        ("updatedAt", sorted),
    ],
)
def test_orderby(seeded: Api, orderby: str, expected: Any) -> None:
    got = names(seeded.list_all(orderby=orderby, limit=3))
    assert got == expected([f"conn-{i:02d}" for i in range(23)])


def test_an_unencoded_plus_in_orderby_still_means_ascending(seeded: Api) -> None:
    page = seeded.call("GET", "/connections?orderby=+name&limit=3").json()
    assert names(page["items"]) == ["conn-00", "conn-01", "conn-02"]


def test_count(seeded: Api) -> None:
    assert seeded.call("GET", "/connections", params={"count": "true"}).json() == {"count": 23}
    answer = seeded.call(
        "GET", "/connections", params={"count": "true", "property": "auth.specName==IAMRole Based"}
    )
    assert answer.json() == {"count": 8}
    assert seeded.call("GET", "/connections", params={"count": "true"}, sandbox="dev").json() == {
        "count": 0
    }


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"count": "true", "limit": 5}, "1401-400"),
        ({"orderby": "#id"}, "1433-400"),
        ({"orderby": "id"}, "1433-400"),
        ({"orderby": "name desc"}, "1432-400"),
        ({"orderby": "name-"}, "1432-400"),
        ({"property": "connections==x"}, "1449-400"),
        ({"property": "auth.params.s3SecretKey==SK"}, "1449-400"),
        ({"property": "name~conn"}, "1440-400"),
        ({"property": "name=conn-01"}, "1450-400"),
        ({"property": "name"}, "1450-400"),
        ({"property": "id>=5"}, "1448-400"),
        ({"property": "createdAt<=1,2"}, "1443-400"),
        ({"property": "createdAt==1676643256,yesterday"}, "1452-400"),
        ({"property": "createdAt=="}, "1453-400"),
        ({"testParam": "1"}, "1451-400"),
        ({"limit": "0"}, "1453-400"),
        ({"limit": "ten"}, "1453-400"),
        ({"count": "maybe"}, "1453-400"),
        ({"continuationToken": "not-a-token"}, "1453-400"),
    ],
)
def test_bad_listing_parameters(seeded: Api, params: dict[str, Any], code: str) -> None:
    resp = seeded.call("GET", "/connections", params=params, validate_request=False)
    assert (resp.status_code, flow_code(resp)) == (400, code)


def test_listing_sees_writes_between_pages_without_repeating_items(fresh: Api) -> None:
    first = fresh.call("GET", "/connections", params={"limit": 10}).json()
    fresh.create(s3_body("late-arrival"))
    rest = fresh.call("GET", first["_links"]["next"]["href"]).json()
    seen = names(first["items"]) + names(rest["items"])
    while "next" in rest["_links"]:
        rest = fresh.call("GET", rest["_links"]["next"]["href"]).json()
        seen += names(rest["items"])
    assert len(seen) == len(set(seen)) == 24 and seen[-1] == "late-arrival"


def test_a_filtered_page_reads_its_matches_not_the_sandbox() -> None:
    """A page filtered by id or name costs about what its matches cost, not what the sandbox
    holds: the plan's benchmark reads 20000 connections 100 names at a time, and the emulator
    shares the machine with the tool (SQLite's own count of VM steps, not a timing)."""
    from provisioner.emulator.listing import Order, parse_filter
    from provisioner.emulator.store import Row, Store

    def cost(store: Store, text: str) -> tuple[int, list[str]]:
        steps = [0]

        def tick() -> int:
            steps[0] += 1
            return 0

        store._db.set_progress_handler(tick, 100)
        rows, _ = store.page("o", "prod", [parse_filter(text, frozenset())], Order(None, False), None, 100)
        store._db.set_progress_handler(None, 0)
        return steps[0], [r.name for r in rows]

    costs = {}
    for size in (1000, 10000):
        store = Store(None)
        for i in range(size):
            store.insert(Row(
                f"id-{i}", "o", "prod", f"c{i:05d}", None, "spec", "1.0", "enabled", "Access Key",
                {}, {}, i, i, "u", "u", "c", "c", f'"{i}"', 0,
            ))
        wanted = [f"c{i:05d}" for i in range(500, 600)]
        by_name = cost(store, "name==" + ",".join(reversed(wanted)))
        by_id = cost(store, "id==" + ",".join(f"id-{i}" for i in range(500, 600)))
        assert by_name[1] == by_id[1] == wanted  # creation order, whatever the filter's order
        costs[size] = (by_name[0], by_id[0])
        store.close()
    # Ten times the connections, about the same cost (a scan would be ten times as much).
    assert costs[10000][0] <= 2 * costs[1000][0] + 10, costs
    assert costs[10000][1] <= 2 * costs[1000][1] + 10, costs
