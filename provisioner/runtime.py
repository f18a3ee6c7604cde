"""What API commands share: settings (or an in-process emulator), the client, the remote listing."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provisioner import kinds
from provisioner.config import DEFAULT_SANDBOX, Settings
from provisioner.model import RemoteConnection
from provisioner.secrets import Secret

EMULATOR_DIR = ".provisioner"
EMULATOR_CLIENT_ID = "provisioner-emulator"
EMULATOR_ORG_ID = "EMULATOR000000000000000@AdobeOrg"


@dataclass
class Runtime:
    settings: Settings
    client: Any  # provisioner.client.FlowServiceClient
    emulator_url: str | None = None


def default_sandbox() -> str:
    return os.environ.get("AEP_SANDBOX") or DEFAULT_SANDBOX


@contextmanager
def connect(*, emulator: bool, pool_size: int = 16) -> Iterator[Runtime]:
    """Settings and a client for Adobe, or for a local emulator started here (--emulator)."""
    from provisioner.client import FlowServiceClient
    from provisioner.http.pacing import AdaptivePacer

    emu = None
    if emulator:
        from provisioner.emulator import Emulator, EmulatorConfig

        Path(EMULATOR_DIR).mkdir(exist_ok=True)
        emu = Emulator(EmulatorConfig(port=0, db_path=str(Path(EMULATOR_DIR) / "emulator.db")))
        emu.start()
        settings = Settings(
            client_id=EMULATOR_CLIENT_ID,
            org_id=EMULATOR_ORG_ID,
            client_secret=Secret("provisioner-emulator-secret"),
            platform_url=emu.url,
            ims_url=emu.url,
            default_sandbox=default_sandbox(),
        )
    else:
        settings = Settings.from_env()
    try:
        # One pacer for every lane: after a 429 they slow down together (issue #7).
        pacer = AdaptivePacer()
        with FlowServiceClient(settings, pool_size=max(16, pool_size), pacer=pacer) as client:
            yield Runtime(settings, client, emu.url if emu else None)
    finally:
        if emu is not None:
            emu.stop()


def fetch_remote(client: Any, sandboxes: Iterable[str]) -> dict[str, list[RemoteConnection]]:
    """One paginated, spec-filtered listing per sandbox and kind; never a GET per resource."""
    remote: dict[str, list[RemoteConnection]] = {}
    for sandbox in sorted(set(sandboxes)):
        conns: list[RemoteConnection] = []
        for kind in kinds.registry().values():
            for item in client.list_connections(sandbox, spec_id=kind.spec_id):
                conns.append(kind.read(item, sandbox))
        remote[sandbox] = conns
    return remote
