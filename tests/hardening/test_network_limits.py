"""Answers are read within a size limit: a huge or endless body is refused, never read whole."""

from __future__ import annotations

from typing import Any

import pytest

from provisioner.errors import ApiError, UncertainWriteError
from provisioner.http import limits
from tests.client.client_helpers import s3_body
from tests.hardening.fakes import Reply, declared_huge, endless_body, figure


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


LIMIT = limits.megabytes(limits.MAX_BODY_BYTES)


def test_a_declared_3_gib_listing_page_is_refused_before_it_is_read(
    fake: Any, client_for: Any
) -> None:
    server = fake(lambda r: Reply(write=declared_huge()))
    client = client_for(server.url, timeout=2, sleep=Sleeps())
    with pytest.raises(ApiError) as info:
        list(client.list_connections("prod"))
    message = str(info.value)
    assert "GET /connections" in message and f"larger than {LIMIT}" in message, message
    assert len(server.flow_requests()) == 1  # not retried: the same answer would come again
    figure("body declared 3 GiB", held=1, attempts=len(server.flow_requests()))


def test_an_endless_listing_page_is_cut_at_the_limit(fake: Any, client_for: Any) -> None:
    server = fake(lambda r: Reply(write=endless_body()))
    client = client_for(server.url, timeout=5, sleep=Sleeps())
    with pytest.raises(ApiError) as info:
        list(client.list_connections("prod"))
    message = str(info.value)
    assert "GET /connections" in message and f"larger than {LIMIT}" in message, message
    figure("body endless", held=1, limit=LIMIT)


def test_an_endless_answer_to_a_create_is_an_uncertain_write(fake: Any, client_for: Any) -> None:
    server = fake(lambda r: Reply(write=endless_body(201)))
    client = client_for(server.url, timeout=5, sleep=Sleeps())
    with pytest.raises(UncertainWriteError, match="POST /connections") as info:
        client.create_connection("prod", s3_body("huge"))
    assert "larger than" in str(info.value)
    assert len(server.flow_requests()) == 1


def test_an_endless_token_answer_is_cut_at_its_own_limit(fake: Any, client_for: Any) -> None:
    server = fake(lambda r: Reply(200, {"items": []}), ims=lambda r: Reply(write=endless_body()))
    client = client_for(server.url, timeout=5, sleep=Sleeps())
    with pytest.raises(ApiError) as info:
        list(client.list_connections("prod"))
    message = str(info.value)
    assert "POST /ims/token/v3" in message
    assert f"larger than {limits.megabytes(limits.MAX_TOKEN_BODY_BYTES)}" in message
    assert server.flow_requests() == []


def test_a_page_under_the_limit_is_read_whole(
    fake: Any, client_for: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    items = [{"id": f"id-{n}", "name": "x" * 1000} for n in range(2000)]  # about 2 MB
    server = fake(lambda r: Reply(200, {"items": items}))
    client = client_for(server.url)
    assert len(list(client.list_connections("prod"))) == 2000
