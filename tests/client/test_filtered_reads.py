"""The plan's reads against the real emulator: id- and name-filtered listings, counted as sent."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from client_helpers import s3_body

from provisioner import kinds
from provisioner.client import FILTER_BUDGET, FlowServiceClient, filter_chunks
from provisioner.emulator import errors as emu_errors
from provisioner.emulator.app import Request, Response
from provisioner.listing import RemoteReader, Wanted, fetch_remote

S3 = kinds.get("amazon-s3")


def record(emulator: Any, refuse: str | None = None) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """Every request the emulator answers from now on: (method, path, query pairs). With
    `refuse`, a listing whose property filter starts with it is answered 400."""
    seen: list[tuple[str, str, list[tuple[str, str]]]] = []
    lock = threading.Lock()
    handle = emulator.app.handle

    def recording(req: Request) -> Response:
        query = parse_qsl(req.query, keep_blank_values=True)
        with lock:
            seen.append((req.method, req.path, query))
        if refuse and any(k == "property" and v.startswith(refuse) for k, v in query):
            raise emu_errors.flow("1450-400", "Invalid filter.")
        return handle(req)  # type: ignore[no-any-return]

    emulator.app.handle = recording
    return seen


def listings(seen: list[tuple[str, str, list[tuple[str, str]]]]) -> list[list[tuple[str, str]]]:
    return [q for m, p, q in seen if m == "GET" and p.endswith("/connections")]


def filters_of(query: list[tuple[str, str]]) -> list[str]:
    return [v for k, v in query if k == "property" and not v.startswith("connectionSpec")]


def test_chunks_stay_within_the_page_and_the_url_budget() -> None:
    ids = [f"{n:08d}-aaaa-bbbb-cccc-{n:012d}" for n in range(450)]
    chunks = list(filter_chunks("id", ids, 100))
    assert sorted(v for c in chunks for v in c) == sorted(ids)
    assert all(len(c) <= 100 for c in chunks)
    assert all(len("id==" + "%2C".join(c)) <= FILTER_BUDGET for c in chunks)
    names = [f"nom é {n}" * 10 for n in range(40)]  # long, with spaces and accents
    for chunk in filter_chunks("name", names, 100):
        assert len(chunk) < 40


def test_a_comma_cannot_be_filtered() -> None:
    with pytest.raises(ValueError):
        list(filter_chunks("name", ["a,b"], 100))


def test_id_filtered_reads_are_chunked_and_exact(emulator: Any, make_client: Any) -> None:
    writer: FlowServiceClient = make_client(emulator.url)
    ids = [writer.create_connection("prod", s3_body(f"conn-{n:03}"))[0] for n in range(230)]
    seen = record(emulator)
    reader: FlowServiceClient = make_client(emulator.url)
    wanted = ids[:205]
    got = [i["id"] for i in reader.list_matching(S3, "prod", "id", wanted)]
    assert sorted(got) == sorted(wanted)
    sent = listings(seen)
    assert len(sent) == len(list(filter_chunks("id", wanted, 100)))
    assert all(len(filters_of(q)) == 1 and filters_of(q)[0].startswith("id==") for q in sent)
    assert not [p for m, p, _ in seen if m == "GET" and "/connections/" in p]  # no GET by id


def test_the_reader_finds_owned_renamed_gone_and_unowned_duplicates(
    emulator: Any, make_client: Any
) -> None:
    writer: FlowServiceClient = make_client(emulator.url)
    made = {n: writer.create_connection("prod", s3_body(n)) for n in ("a", "b", "c", "d")}
    owned = {n: i for n, (i, _) in made.items()}
    twin = writer.create_connection("prod", s3_body("a"))[0]  # not owned, same name as "a"
    stranger = writer.create_connection("prod", s3_body("zzz"))[0]  # neither owned nor declared
    renamed = [{"op": "replace", "path": "/name", "value": "b-renamed"}]
    writer.patch_connection("prod", owned["b"], made["b"][1], renamed)
    writer.delete_connection("prod", owned["c"])
    seen = record(emulator)
    reader = make_client(emulator.url)
    # Declared: a, b (renamed remotely: b is not found by name), new-one; owned: a, b, c, d
    # where d is no longer declared (read by id in the first round).
    scope = {
        ("prod", "amazon-s3"): Wanted(
            ids=set(owned.values()),
            names={"a", "b", "new-one"},
            early_ids={owned["d"]},
        )
    }
    remote = fetch_remote(reader, {"prod"}, {"amazon-s3"}, scope=scope)
    found = {r.id for r in remote["prod"]}
    assert {owned["a"], twin, owned["b"], owned["d"]} <= found
    assert owned["c"] not in found and stranger not in found
    sent = [filters_of(q) for q in listings(seen)]
    # one name read, one early id read, then one id read for what was still missing (b, c)
    assert len(sent) == 3
    assert sorted(f[0].split("==")[0] for f in sent) == ["id", "id", "name"]


def test_a_refused_filter_falls_back_to_full_paging(emulator: Any, make_client: Any) -> None:
    writer: FlowServiceClient = make_client(emulator.url)
    ids = [writer.create_connection("prod", s3_body(f"conn-{n:03}"))[0] for n in range(5)]
    seen = record(emulator, refuse="name==")
    reader = make_client(emulator.url)
    scope = {("prod", "amazon-s3"): Wanted(ids=set(ids[:2]), names={"conn-000", "conn-004"})}
    remote = fetch_remote(reader, {"prod"}, {"amazon-s3"}, scope=scope)
    assert {r.id for r in remote["prod"]} == set(ids)  # the whole collection, once
    sent = [filters_of(q) for q in listings(seen)]
    assert sent[0][0].startswith("name==") and [] in sent  # refused, then paged unfiltered


def test_names_a_filter_cannot_carry_are_paged_in_full(emulator: Any, make_client: Any) -> None:
    writer: FlowServiceClient = make_client(emulator.url)
    made = writer.create_connection("prod", s3_body("a, b"))[0]
    seen = record(emulator)
    reader = RemoteReader(make_client(emulator.url))
    reader.read({("prod", "amazon-s3"): Wanted(names={"a, b"})})
    assert [r.id for r in reader.remote({"prod"}, {"amazon-s3"})["prod"]] == [made]
    assert [filters_of(q) for q in listings(seen)] == [[]]


def _manifest(path: Path, names: list[str]) -> None:
    lines = ["version: 1", "connections:"]
    for i, name in enumerate(names):
        lines += [
            f"  c{i}:",
            "    type: amazon-s3",
            f"    name: {name}",
            "    auth:",
            "      specName: Access Key",
            "      params:",
            "        s3AccessKey: AKIAIOSFODNN7EXAMPLE",
            "        s3SecretKey: ${env:TEST_S3_SECRET}",
            f"        bucketName: bucket-{i}",
        ]
    path.write_text("\n".join(lines) + "\n")


def test_the_cli_plan_sends_filtered_reads_only(
    aep_env: Any, cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AEP_SANDBOX", "prod")
    monkeypatch.setenv("TEST_S3_SECRET", "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY01")
    names = [f"conn {n:03}" for n in range(150)]
    _manifest(tmp_path / "m.yaml", names)
    assert cli("apply", "m.yaml", "--auto-approve").code == 0
    seen = record(aep_env)
    result = cli("plan", "m.yaml", "--detailed-exitcode")
    assert result.code == 0, result.out + result.err
    sent = listings(seen)
    # 150 declared and owned names: two name-filtered reads, nothing else listed, no GET by id
    assert len(sent) == 2
    assert all(f[0].startswith("name==") for f in map(filters_of, sent))
    assert not [p for m, p, _ in seen if m == "GET" and "/connections/" in p]
    # one connection dropped from the manifests: its id is read beside the names
    _manifest(tmp_path / "m.yaml", names[:-1])
    seen.clear()
    result = cli("plan", "m.yaml")
    assert "1 to delete" in result.out
    kinds_sent = sorted(filters_of(q)[0].split("==")[0] for q in listings(seen))
    assert kinds_sent == ["id", "name", "name"]
