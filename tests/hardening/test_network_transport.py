"""Credentials never leave over plain http:// to another host; settings numbers are checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from provisioner.errors import ConfigError
from tests.hardening.conftest import settings_for
from tests.hardening.fakes import (
    CLIENT_SECRET,
    TOKEN,
    Reply,
    env_for,
    figure,
    manifest,
    one_error_line,
    run_cli,
)

EMPTY = Reply(200, {"items": []})


def _through(proxy_url: str, **urls: str) -> dict[str, str]:
    """Every plain-http request goes to `proxy_url` (a loopback fake), so nothing leaves this
    machine even when a URL names example.com; the fake records what would have been sent."""
    env = env_for(proxy_url, HTTP_PROXY=proxy_url, http_proxy=proxy_url, **urls)
    env.pop("NO_PROXY", None)
    env.pop("no_proxy", None)
    return env


@pytest.mark.parametrize(
    ("urls", "named"),
    [
        (
            {"AEP_PLATFORM_URL": "http://example.com", "AEP_IMS_URL": "http://example.com"},
            "AEP_PLATFORM_URL",
        ),
        ({"AEP_IMS_URL": "http://example.com"}, "AEP_IMS_URL"),
        ({"AEP_PLATFORM_URL": "http://example.com"}, "AEP_PLATFORM_URL"),
        ({"AEP_IMS_URL": "http://10.0.0.1"}, "AEP_IMS_URL"),
        ({"AEP_PLATFORM_URL": "http://[2001:db8::1]:8080"}, "AEP_PLATFORM_URL"),
        ({"AEP_IMS_URL": "http://127.0.0.1.example.com"}, "AEP_IMS_URL"),
    ],
)
def test_plain_http_to_another_host_is_refused_before_anything_is_sent(
    fake: Any, tmp_path: Path, urls: dict[str, str], named: str
) -> None:
    proxy = fake(lambda r: EMPTY)
    manifest(tmp_path)
    proc = run_cli("plan", cwd=tmp_path, env=_through(proxy.url, **urls))
    error = one_error_line(proc)
    assert error.startswith(f"Error: {named}=") and "plain http://" in error, error
    assert proxy.requests == [], [r.raw for r in proxy.requests]
    assert CLIENT_SECRET not in proc.stdout + proc.stderr
    figure("clear text", variable=named, sent=len(proxy.requests), held=1)


def test_settings_made_in_code_are_refused_too(
    fake: Any, client_for: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = fake(lambda r: EMPTY)
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    ims = fake(lambda r: EMPTY)
    client = client_for(settings_for("http://example.com", ims_url=ims.url))
    with pytest.raises(
        ConfigError, match="^AEP_PLATFORM_URL='http://example.com' uses plain http://"
    ):
        list(client.list_connections("prod"))
    assert proxy.requests == [] and ims.requests == []  # not even the token exchange
    assert TOKEN not in str(client.settings)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_plain_http_to_loopback_is_allowed(fake: Any, tmp_path: Path, host: str) -> None:
    server = fake(lambda r: EMPTY)
    port = server.url.rsplit(":", 1)[1]
    manifest(tmp_path)
    proc = run_cli("plan", cwd=tmp_path, env=env_for(f"http://{host}:{port}"))
    assert proc.returncode == 0, proc.stderr
    assert any(r.path == "/ims/token/v3" for r in server.requests)


BAD_TIMEOUTS = ["nan", "inf", "-inf", "-1", "0", "1e999", "9" * 400, "abc", "301", "0x10", " "]


@pytest.mark.slow
def test_a_timeout_that_is_not_a_number_of_seconds_is_refused(fake: Any, tmp_path: Path) -> None:
    server = fake(lambda r: EMPTY)
    manifest(tmp_path)
    held = 0
    for value in BAD_TIMEOUTS:
        proc = run_cli("plan", cwd=tmp_path, env=env_for(server.url, AEP_HTTP_TIMEOUT=value))
        error = one_error_line(proc)
        assert error.startswith("Error: AEP_HTTP_TIMEOUT="), (value, error)
        held += 1
    assert server.requests == []  # refused before anything was sent
    figure("timeouts from the environment", tried=len(BAD_TIMEOUTS), held=held)
