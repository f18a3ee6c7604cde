"""The sender's own request preparation (kept URLs, no auth step, the cookie jar asked only when
it holds cookies) makes exactly the request `PreparedRequest.prepare` makes, call after call."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from client_helpers import Answer, s3_body, settings_for, with_ims

from provisioner.errors import ConfigError
from provisioner.http.call import Call
from provisioner.http.retry import Mode, RetryPolicy
from provisioner.http.sender import Sender, new_session

BASE = "https://platform.example.test/data/foundation/flowservice"


class _NoAuth(requests.auth.AuthBase):
    """What the sender used to pass as auth: leaves the request as it is."""

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        return r


def _call(method: str, path: str, **kwargs: Any) -> Call:
    settings = settings_for("https://platform.example.test")
    return Call(
        service="Flow Service",
        method=method,
        url=f"{BASE}{path}",
        mode=Mode.READ if method == "GET" else Mode.WRITE,
        settings=settings,
        sandbox="dev",
        **kwargs,
    )


def _reference(session: requests.Session, call: Call, headers: dict[str, str]) -> Any:
    """requests' own preparation of the call, as the sender did it before."""
    given = {name.lower() for name in headers}
    merged = {k: v for k, v in session.headers.items() if k.lower() not in given}
    merged.update(headers)
    prepared = requests.PreparedRequest()
    prepared.prepare(
        method=call.method,
        url=call.url,
        headers=merged,
        data=call.form,
        json=call.json,
        params=list(call.params) or None,
        auth=_NoAuth(),
        cookies=session.cookies,
        hooks=session.hooks,
    )
    return _wire(prepared)


def _wire(prepared: requests.PreparedRequest) -> Any:
    """What goes out, the query as the pairs the service decodes (the sender leaves '=' and
    ',' unencoded where requests writes %3D and %2C: the same pairs, see the test below)."""
    url = prepared.url or ""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    where = url.split("?", 1)[0]
    return (prepared.method, where, query, list(prepared.headers.items()), prepared.body)


CALLS = [
    _call(
        "POST", "/connections", json=s3_body("one"), headers={"Content-Type": "application/json"}
    ),
    _call("GET", "/connections", params=(("limit", "100"), ("property", "name==a b,c/d"))),
    _call("GET", "/connections", params=(("limit", "100"), ("property", "name==other"))),
    _call("GET", "/connections"),
    _call("PATCH", "/connections/c1", json=[{"op": "replace"}], headers={"If-Match": '"e1"'}),
    _call("DELETE", "/connections/c%2F1"),
    _call("POST", "/connections/c1/action", params=(("op", "enable"),)),
    _call("GET", "/connections", params=(("limit", "100"), ("property", "name==a b,c/d"))),
    _call("POST", "/token", form={"client_id": "x", "client_secret": "y"}),
]


@pytest.mark.parametrize("cookie", [False, True])
def test_each_call_is_prepared_as_requests_prepares_it(cookie: bool) -> None:
    session = new_session(2)
    if cookie:
        session.cookies.set("gw", "affinity-1", domain="platform.example.test", path="/")
    sender = Sender(session, policy=RetryPolicy(), timeout=5)
    try:
        # Twice over: the second round is served from the kept URLs.
        for _round in range(2):
            for call in CALLS:
                headers = {**call.headers, "Authorization": "Bearer t", "x-sandbox-name": "dev"}
                assert _wire(sender._prepare(call, headers)) == _reference(session, call, headers)
        kept = sender._urls
        assert len(kept) == len({(c.url, tuple(c.params)) for c in CALLS})
        if cookie:
            assert dict(sender._prepare(CALLS[0], {}).headers)["Cookie"] == "gw=affinity-1"
    finally:
        session.close()


def test_no_header_of_one_call_reaches_the_next() -> None:
    session = new_session(2)
    sender = Sender(session, policy=RetryPolicy(), timeout=5)
    try:
        patch, delete = CALLS[4], CALLS[5]
        first = sender._prepare(patch, dict(patch.headers))
        second = sender._prepare(delete, dict(delete.headers))
        assert first.headers["If-Match"] == '"e1"'
        assert "If-Match" not in second.headers
        assert "Content-Type" not in second.headers
        assert second.body is None and first.body is not None
        assert "If-Match" not in session.headers
    finally:
        session.close()


def test_a_kept_url_keeps_its_own_query() -> None:
    session = new_session(2)
    sender = Sender(session, policy=RetryPolicy(), timeout=5)
    try:
        a, b = CALLS[1], CALLS[2]
        for _ in range(3):
            assert (
                sender._prepare(a, {}).url
                == f"{BASE}/connections?limit=100&property=name==a+b,c%2Fd"
            )
            assert sender._prepare(b, {}).url == f"{BASE}/connections?limit=100&property=name==other"
    finally:
        session.close()


def test_plain_http_to_another_host_is_refused_every_time() -> None:
    session = new_session(2)
    sender = Sender(session, policy=RetryPolicy(), timeout=5)
    settings = settings_for("http://127.0.0.1:9")
    call = Call("Flow Service", "GET", "http://platform.example.test/x", Mode.READ, settings)
    try:
        for _ in range(2):
            with pytest.raises(ConfigError, match="plain http://"):
                sender.send(call)
        assert session.requests_sent == 0
    finally:
        session.close()


def test_cookies_set_by_the_service_are_sent_back(seam, make_client) -> None:
    answers = iter(
        [
            Answer(200, {"items": []}, headers={"Set-Cookie": "gw=lane-7; Path=/"}),
            Answer(200, {"items": []}),
        ]
    )
    server = seam(with_ims(lambda s: next(answers)))
    client = make_client(server.url)
    assert list(client.list_connections("dev")) == []
    assert list(client.list_connections("dev")) == []
    first, second = [s for s in server.seen if s.path.endswith("/connections")]
    assert "Cookie" not in first.headers
    assert second.headers["Cookie"] == "gw=lane-7"


def test_a_bad_header_is_refused_every_time_and_no_token_is_kept() -> None:
    session = new_session(2)
    sender = Sender(session, policy=RetryPolicy(), timeout=5)
    call = CALLS[3]
    try:
        good = {"x-sandbox-name": "dev", "Authorization": "Bearer secret-token-1"}
        sender._prepare(call, good)
        for _ in range(2):
            with pytest.raises(requests.exceptions.InvalidHeader):
                sender._prepare(call, {"x-sandbox-name": "dev\r\nX-Injected: 1"})
            with pytest.raises(requests.exceptions.InvalidHeader):
                sender._prepare(call, {"Authorization": "Bearer secret-token-1\nX: 1"})
        assert ("x-sandbox-name", "dev") in sender._valid_headers
        assert not any("secret-token" in value for _, value in sender._valid_headers)
    finally:
        session.close()


def _secrets_reference(value: Any) -> tuple[str, ...]:
    """The walk _secrets_in was before it looked at scalars in their container's loop."""
    from provisioner.secrets import is_secret_key

    found: list[str] = []

    def walk(node: Any, secret: bool) -> None:
        if isinstance(node, dict):
            path = node.get("path")
            op_secret = isinstance(path, str) and is_secret_key(path.rsplit("/", 1)[-1])
            for key, child in node.items():
                is_secret = secret or (isinstance(key, str) and is_secret_key(key))
                walk(child, is_secret or (op_secret and key == "value"))
        elif isinstance(node, list):
            for child in node:
                walk(child, secret)
        elif secret and isinstance(node, str):
            found.append(node)

    walk(value, False)
    return tuple(found)


BODIES: list[Any] = [
    s3_body("one"),
    {"auth": {"params": {"s3SecretKey": ["a", {"x": "b", "n": 3}, None, "c"], "k": "v"}}},
    [{"op": "replace", "path": "/auth/params/s3SecretKey", "value": "new"}],
    [{"op": "add", "path": "/auth/params/bucketName", "value": "bucket"}],
    [{"op": "add", "path": "/auth/params/secretAccessKey", "value": {"deep": ["s1", "s2"]}}],
    {1: "not a key", "client_secret": "cs", "nested": [[["sessionToken"]]]},
    {"sessionToken": {"a": {"b": "t1"}}, "after": "plain"},
    "a bare string",
    None,
]


@pytest.mark.parametrize("body", BODIES)
def test_secrets_in_finds_what_the_recursive_walk_found(body: Any) -> None:
    from provisioner.client import _secrets_in

    assert _secrets_in(body) == _secrets_reference(body)
    assert _secrets_in(body) == _secrets_reference(body)  # the memo answers the second time


@pytest.mark.parametrize(
    "value",
    ["name==a b,c/d", "id==1,2,3", "name==x=y", "tok+en/==", "é & # % ? ; :", "", "a,,b"],
)
def test_the_query_leaves_equals_and_commas_and_decodes_as_requests_encodes_it(value: str) -> None:
    """Adobe writes its filters `property=name==a,b`; '=' and ',' are allowed in a query. Every
    other character is encoded as requests encodes it, so the service decodes the same pairs."""
    from provisioner.http.sender import with_query

    params = [("limit", "100"), ("property", value)]
    ours = with_query(f"{BASE}/connections", params)
    theirs = requests.Request("GET", f"{BASE}/connections", params=params).prepare().url or ""
    assert parse_qsl(urlsplit(ours).query, keep_blank_values=True) == params
    assert parse_qsl(urlsplit(theirs).query, keep_blank_values=True) == params
    assert ours == theirs.replace("%3D", "=").replace("%2C", ",")
    assert "%3D" not in ours and "%2C" not in ours
