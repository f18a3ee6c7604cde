"""Every wait is bounded: Retry-After, trickling answers, endless paging, short-lived tokens."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from provisioner.errors import ApiError, TransientError
from provisioner.http import limits
from provisioner.http.pacing import AdaptivePacer
from tests.hardening.fakes import (
    Reply,
    Request,
    bounded,
    env_for,
    figure,
    manifest,
    one_error_line,
    run_cli,
    token_reply,
    trickle_body,
    trickle_headers,
)

FAR_FUTURE = "Thu, 01 Jan 2099 00:00:00 GMT"


class Sleeps(list[float]):
    """Records every wait instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


# -- Retry-After ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("retry_after", "said"),
    [("99999", "asked to wait 99999 s"), (FAR_FUTURE, "asked to wait"), ("inf", "429")],
)
@pytest.mark.slow
def test_a_huge_retry_after_ends_the_plan_with_a_sentence(
    fake: Any, tmp_path: Path, retry_after: str, said: str
) -> None:
    server = fake(
        lambda r: Reply(429, {"title": "Too Many Requests"}, {"Retry-After": retry_after})
    )
    manifest(tmp_path)
    proc = run_cli("plan", cwd=tmp_path, env=env_for(server.url, AEP_HTTP_TIMEOUT="2"))
    error = one_error_line(proc)
    assert "Flow Service" in error and "GET /connections" in error and said in error
    figure("retry-after cli", value=retry_after[:12], held=1, attempts=len(server.flow_requests()))


HOSTILE_RETRY_AFTER = [
    "99999",
    FAR_FUTURE,
    "Fri, 31 Dec 9999 23:59:59 GMT",
    "Mon, 01 Jan 0001 00:00:00 GMT",
    "inf",
    "-inf",
    "Infinity",
    "nan",
    "-1",
    "1e999",
    "9" * 400,
    "9" * 5000,
    "0x10",
    "\u00b2",
    "garbage",
    "",
]


@pytest.mark.slow
def test_hostile_retry_after_values_never_crash_and_never_wait_past_the_cap(
    fake: Any, client_for: Any
) -> None:
    held = 0
    for value in HOSTILE_RETRY_AFTER:
        server = fake(lambda r, v=value: Reply(429, {}, {"Retry-After": v}))
        sleeps = Sleeps()
        pacer = AdaptivePacer(sleep=sleeps)
        client = client_for(server.url, sleep=sleeps, pacer=pacer, max_retries=3)
        with pytest.raises(TransientError) as info:
            list(client.list_connections("prod"))
        assert "Flow Service" in str(info.value), value
        assert all(math.isfinite(s) and 0 <= s <= limits.RETRY_AFTER_CAP for s in sleeps), (
            value,
            sleeps,
        )
        held += 1
    figure("retry-after values", tried=len(HOSTILE_RETRY_AFTER), held=held)


def test_a_retry_after_within_the_cap_is_still_honoured(fake: Any, client_for: Any) -> None:
    answers = iter([Reply(429, {}, {"Retry-After": "3"}), Reply(200, {"items": []})])
    server = fake(lambda r: next(answers))
    sleeps = Sleeps()
    client = client_for(server.url, sleep=sleeps, pacer=AdaptivePacer(sleep=sleeps))
    assert list(client.list_connections("prod")) == []
    assert sleeps and max(sleeps) == pytest.approx(3.0, abs=0.1)


# -- an overall deadline per attempt ------------------------------------------------------------


@pytest.mark.parametrize("writer", ["body", "headers"])
@pytest.mark.slow
def test_a_trickling_answer_is_ended_by_the_deadline(
    fake: Any, tmp_path: Path, writer: str
) -> None:
    slow = trickle_body(0.2) if writer == "body" else trickle_headers(0.2)
    server = fake(lambda r: Reply(write=slow))
    manifest(tmp_path)
    proc = run_cli("plan", cwd=tmp_path, env=env_for(server.url, AEP_HTTP_TIMEOUT="1"))
    error = one_error_line(proc)
    assert "did not finish its answer to GET /connections within 2 s" in error, error
    figure("trickle cli", part=writer, held=1, attempts=len(server.flow_requests()))


@pytest.mark.slow
def test_a_trickling_token_answer_is_ended_by_the_deadline(fake: Any, client_for: Any) -> None:
    server = fake(lambda r: Reply(200, {"items": []}), ims=lambda r: Reply(write=trickle_body(0.1)))
    client = client_for(server.url, timeout=0.5, sleep=Sleeps())
    with pytest.raises(
        TransientError, match=r"IMS did not finish its answer to POST /ims/token/v3"
    ):
        bounded(lambda: list(client.list_connections("prod")))


# -- paging that must progress ------------------------------------------------------------------


def test_the_same_page_under_fresh_tokens_is_refused(fake: Any, client_for: Any) -> None:
    served = []

    def route(request: Request) -> Reply:
        served.append(request)
        links = (
            {}
            if len(served) > 300
            else {"next": {"href": f"/connections?continuationToken=t{len(served)}"}}
        )
        return Reply(
            200, {"items": [{"id": "a", "name": "a"}, {"id": "b", "name": "b"}], "_links": links}
        )

    client = client_for(fake(route).url)
    with pytest.raises(ApiError, match="pages in a row without a new item") as info:
        list(client.list_connections("prod"))
    assert "sandbox 'prod'" in str(info.value)
    assert len(served) == 1 + limits.MAX_STALLED_PAGES
    figure("paging same page", pages_served=len(served), held=1)


def test_empty_pages_with_fresh_tokens_are_refused(fake: Any, client_for: Any) -> None:
    served = []

    def route(request: Request) -> Reply:
        served.append(request)
        links = (
            {}
            if len(served) > 300
            else {"next": {"href": f"/connections?continuationToken=e{len(served)}"}}
        )
        return Reply(200, {"items": [], "_links": links})

    client = client_for(fake(route).url)
    with pytest.raises(ApiError, match="without a new item"):
        list(client.list_connections("prod"))
    assert len(served) == limits.MAX_STALLED_PAGES


@pytest.mark.slow
def test_a_listing_that_never_ends_stops_at_the_page_cap(
    fake: Any, client_for: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "MAX_PAGES", 40)
    served = []

    def route(request: Request) -> Reply:
        served.append(request)
        n = len(served)
        links = {} if n > 400 else {"next": {"href": f"/connections?continuationToken=n{n}"}}
        return Reply(200, {"items": [{"id": f"id-{n}", "name": f"c{n}"}], "_links": links})

    client = client_for(fake(route).url)
    with pytest.raises(ApiError, match="more than the 40 pages the tool reads"):
        list(client.list_connections("prod"))
    assert len(served) == 40
    figure("paging endless", pages_served=len(served), held=1)


def test_a_repeated_item_on_a_later_page_is_listed_once(fake: Any, client_for: Any) -> None:
    def route(request: Request) -> Reply:
        if dict(request.query).get("continuationToken") == "p2":
            return Reply(200, {"items": [{"id": "b"}, {"id": "c"}]})
        return Reply(
            200,
            {
                "items": [{"id": "a"}, {"id": "b"}],
                "_links": {"next": {"href": "/connections?continuationToken=p2"}},
            },
        )

    client = client_for(fake(route).url)
    assert [c["id"] for c in client.list_connections("prod")] == ["a", "b", "c"]


# -- token lifetime -----------------------------------------------------------------------------

BAD_LIFETIMES: list[Any] = [0, "0", 1, 1.5, 1e-9, -5, "-1", "soon", True, [], {}]
RAW_LIFETIMES = [b"NaN", b"Infinity", b"-Infinity", b"1e999"]


def test_a_token_that_expires_at_once_is_an_error_not_an_exchange_per_request(
    fake: Any, client_for: Any
) -> None:
    tried = 0
    cases: list[Reply] = [token_reply(v) for v in BAD_LIFETIMES]
    for raw in RAW_LIFETIMES:
        cases.append(Reply(200, raw=b'{"access_token": "t", "expires_in": ' + raw + b"}"))
    for case in cases:
        server = fake(lambda r: Reply(200, {"items": []}), ims=lambda r, c=case: c)
        client = client_for(server.url, sleep=Sleeps())
        for _ in range(3):
            with pytest.raises(ApiError, match="expires_in") as info:
                list(client.list_connections("prod"))
            assert "IMS" in str(info.value) and "AEP_IMS_URL" in str(info.value)
        assert client.token_requests == 1, case
        assert server.flow_requests() == []  # the token was never used
        tried += 1
    figure("token lifetimes", tried=tried, held=tried, exchanges_each=1)


@pytest.mark.parametrize("lifetime", [86399, "86399", 2, 1e12])
def test_usable_lifetimes_are_accepted(fake: Any, client_for: Any, lifetime: Any) -> None:
    server = fake(lambda r: Reply(200, {"items": []}), ims=lambda r: token_reply(lifetime))
    client = client_for(server.url)
    for _ in range(3):
        assert list(client.list_connections("prod")) == []
    assert client.token_requests == 1
