"""Fixtures for the network hardening tests: hostile loopback fakes, closed after each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from provisioner.client import FlowServiceClient
from provisioner.config import Settings
from provisioner.secrets import Secret
from tests.hardening.fakes import CLIENT_ID, CLIENT_SECRET, ORG_ID, Fake, Route


@pytest.fixture
def fake() -> Iterator[Callable[..., Fake]]:
    """fake(route, ims=None) starts a hostile server on a free loopback port."""
    started: list[Fake] = []

    def start(route: Route, **kwargs: Any) -> Fake:
        server = Fake(route, **kwargs)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


def settings_for(url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "client_id": CLIENT_ID,
        "org_id": ORG_ID,
        "client_secret": Secret(CLIENT_SECRET),
        "platform_url": url,
        "ims_url": url,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def client_for() -> Iterator[Callable[..., FlowServiceClient]]:
    """client_for(url_or_settings, **FlowServiceClient kwargs): the real client, closed after."""
    made: list[FlowServiceClient] = []

    def make(target: str | Settings, **kwargs: Any) -> FlowServiceClient:
        settings = target if isinstance(target, Settings) else settings_for(target)
        client = FlowServiceClient(settings, **kwargs)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()
