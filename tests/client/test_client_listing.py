"""Listing against the real emulator: every page read, filters, names with commas, sandboxes."""

from __future__ import annotations

import math
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

import pytest
from client_helpers import ORG_ID, S3_SPEC, s3_body

from provisioner.client import FlowServiceClient, SandboxNotFoundError


def create_many(client: FlowServiceClient, sandbox: str, names: Iterable[str]) -> list[str]:
    with ThreadPoolExecutor(10) as pool:
        return [
            i for i, _ in pool.map(lambda n: client.create_connection(sandbox, s3_body(n)), names)
        ]


@pytest.fixture
def filled(emulator_factory, make_client):
    """An emulator (max page 100, default page 20) holding 250 connections in prod."""
    emu = emulator_factory(max_page_size=100, default_page_size=20)
    ids = create_many(make_client(emu.url), "prod", (f"conn-{n:03}" for n in range(250)))
    return emu, ids


@pytest.mark.slow
@pytest.mark.parametrize("page_size", [100, 500, 7])
def test_every_page_is_read(filled, make_client, page_size):
    emu, ids = filled
    client = make_client(emu.url, page_size=page_size)
    listed = list(client.list_connections("prod", spec_id=S3_SPEC))
    assert sorted(c["id"] for c in listed) == sorted(ids)
    pages = math.ceil(250 / min(page_size, 100))  # the emulator clamps to its maximum, 100
    assert client.requests_sent == 1 + pages


@pytest.mark.slow
def test_the_listing_is_lazy(filled, make_client):
    emu, _ = filled
    client = make_client(emu.url)
    listing = client.list_connections("prod")
    assert client.requests_sent == 0
    next(listing)
    assert client.requests_sent == 2  # token + first page only


def test_name_filter_across_pages(emulator, make_client):
    client = make_client(emulator.url)
    create_many(client, "prod", ["twin"] * 130 + ["other"] * 5)
    create_many(client, "dev", ["twin"])
    reader = make_client(emulator.url)
    twins = list(reader.list_connections("prod", spec_id=S3_SPEC, name="twin"))
    assert len(twins) == 130 and {c["name"] for c in twins} == {"twin"}
    assert reader.requests_sent == 1 + 2  # the filter is kept on the second page
    assert len(list(reader.list_connections("dev", name="twin"))) == 1


def test_a_name_with_a_comma_is_matched_exactly(emulator, make_client):
    client = make_client(emulator.url)
    create_many(client, "prod", ["a,b", "a", "b", "a,b,c"])
    found = list(client.list_connections("prod", spec_id=S3_SPEC, name="a,b"))
    assert [c["name"] for c in found] == ["a,b"]
    assert [c["name"] for c in client.list_connections("prod", name="a")] == ["a"]


def test_names_with_query_characters(emulator, make_client):
    client = make_client(emulator.url)
    odd = ["50% & more", "x==y", "spaces  inside ", "ünïcødé?#"]
    create_many(client, "prod", odd)
    for name in odd:
        assert [c["name"] for c in client.list_connections("prod", name=name)] == [name]


def test_sandboxes_are_separate_and_an_unknown_one_is_one_clear_error(emulator, make_client):
    client = make_client(emulator.url)
    create_many(client, "dev", ["only-in-dev"])
    assert list(client.list_connections("prod")) == []
    assert client.sandbox_exists("dev") and not client.sandbox_exists("qa")
    with pytest.raises(SandboxNotFoundError) as info:
        list(client.list_connections("qa"))
    assert str(info.value).startswith(
        f"sandbox 'qa' does not exist in org {ORG_ID}; "
        "check --sandbox, the manifest's sandbox: and AEP_SANDBOX"
    )
    with pytest.raises(SandboxNotFoundError):
        client.get_connection("qa", "any-id")  # not mistaken for "no such connection"
