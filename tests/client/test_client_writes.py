"""Create, patch, delete and test against the real emulator, including writes of unknown outcome."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from client_helpers import S3_SPEC, Sleeps, s3_body

from provisioner.errors import ApiError, PreconditionError, UncertainWriteError


def test_create_returns_the_id_and_the_quoted_etag(emulator, make_client):
    client = make_client(emulator.url)
    conn_id, etag = client.create_connection("prod", s3_body("created"))
    assert etag.startswith('"') and etag.endswith('"') and len(etag) > 2
    item = client.get_connection("prod", conn_id)
    assert item["id"] == conn_id and item["etag"] == etag and item["name"] == "created"
    assert item["connectionSpec"]["id"] == S3_SPEC


def test_get_of_an_unknown_id_is_none(emulator, make_client):
    assert make_client(emulator.url).get_connection("prod", "no-such-id") is None


def test_patch_with_the_exact_etag_then_a_stale_one(emulator, make_client):
    client = make_client(emulator.url)
    conn_id, etag = client.create_connection("prod", s3_body("patched"))
    ops = [{"op": "replace", "path": "/description", "value": "new words"}]
    new_etag = client.patch_connection("prod", conn_id, etag, ops)
    assert new_etag != etag and new_etag.startswith('"')
    assert client.get_connection("prod", conn_id)["description"] == "new words"
    with pytest.raises(PreconditionError) as info:
        client.patch_connection("prod", conn_id, etag, ops)
    assert info.value.status == 412 and "stale" in str(info.value)


def test_delete_twice(emulator, make_client):
    client = make_client(emulator.url)
    conn_id, _ = client.create_connection("prod", s3_body("doomed"))
    assert client.delete_connection("prod", conn_id) is True
    assert client.delete_connection("prod", conn_id) is False
    assert client.get_connection("prod", conn_id) is None


def test_connection_test_and_spec(emulator, make_client):
    client = make_client(emulator.url)
    conn_id, _ = client.create_connection("prod", s3_body("tested"))
    assert isinstance(client.test_connection("prod", conn_id), bool)
    spec = client.get_connection_spec(S3_SPEC)
    assert spec["id"] == S3_SPEC
    assert {a["name"] for a in spec["authSpec"]} >= {"Access Key"}


def test_a_create_whose_answer_is_lost_is_uncertain_and_exists(emulator_factory, make_client):
    emu = emulator_factory(commit_fail_rate=1.0)
    sleeps = Sleeps()
    client = make_client(emu.url, sleep=sleeps)
    with pytest.raises(UncertainWriteError) as info:
        client.create_connection("prod", s3_body("maybe"))
    assert "may or may not" in str(info.value) and info.value.status == 500
    assert client.requests_sent == 2 and sleeps == []  # token + one POST, never repeated
    assert [c["name"] for c in client.list_connections("prod", name="maybe")] == ["maybe"]


def test_a_create_refused_with_503_is_not_repeated_either(emulator_factory, make_client):
    emu = emulator_factory(fail_rate=1.0)
    client = make_client(emu.url, sleep=Sleeps())
    with pytest.raises(UncertainWriteError):
        client.create_connection("prod", s3_body("never"))
    assert client.requests_sent == 2


def test_a_patch_whose_answer_is_lost_then_412_on_retry(emulator_factory, make_client):
    # The first PATCH is done but answered 500; the retry with the old etag gets 412.
    emu = emulator_factory(commit_fail_rate=1.0)
    client = make_client(emu.url, sleep=Sleeps())
    conn_id, etag = seed(make_client, emu.url, "patch-lost")
    with pytest.raises(PreconditionError):
        client.patch_connection(
            "prod", conn_id, etag, [{"op": "replace", "path": "/description", "value": "v2"}]
        )
    assert client.get_connection("prod", conn_id)["description"] == "v2"


def test_a_delete_whose_answer_is_lost_still_reports_deleted(emulator_factory, make_client):
    emu = emulator_factory(commit_fail_rate=1.0)
    client = make_client(emu.url, sleep=Sleeps())
    conn_id, _ = seed(make_client, emu.url, "delete-lost")
    assert client.delete_connection("prod", conn_id) is True  # 500, then 404 on the retry
    assert client.get_connection("prod", conn_id) is None


def test_writes_that_keep_failing_are_uncertain(emulator_factory, make_client, tmp_path):
    db = str(tmp_path / "faulty.db")
    healthy = emulator_factory(db_path=db)
    conn_id, etag = make_client(healthy.url).create_connection("prod", s3_body("flaky"))
    port = urlsplit(healthy.url).port
    healthy.stop()
    faulty = emulator_factory(db_path=db, port=port, fail_rate=1.0)
    sleeps = Sleeps()
    client = make_client(faulty.url, max_retries=2, sleep=sleeps)
    ops = [{"op": "replace", "path": "/description", "value": "x"}]
    with pytest.raises(UncertainWriteError):
        client.patch_connection("prod", conn_id, etag, ops)
    with pytest.raises(UncertainWriteError):
        client.delete_connection("prod", conn_id)
    assert len(sleeps) == 4  # two retries each


def test_a_validation_error_names_what_flow_service_said(emulator, make_client):
    client = make_client(emulator.url)
    body = s3_body("bad")
    body["auth"]["specName"] = "No Such Auth"
    with pytest.raises(ApiError) as info:
        client.create_connection("prod", body)
    error = info.value
    assert type(error) is ApiError and error.status == 400
    assert str(error).startswith("Flow Service rejected POST /connections with 400 ")
    assert "No Such Auth" in str(error)
    assert error.request_id and f"(request id {error.request_id})" in str(error)
    assert body["auth"]["params"]["s3SecretKey"] not in str(error)


def seed(make_client, url, name):
    """Create `name` where every write's answer is lost: it is there all the same."""
    client = make_client(url, sleep=Sleeps())
    with pytest.raises(UncertainWriteError):
        client.create_connection("prod", s3_body(name))
    found = next(client.list_connections("prod", name=name))
    return found["id"], found["etag"]
