"""What API commands share: settings (or an in-process emulator), the client, the remote listing."""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provisioner import kinds
from provisioner.config import DEFAULT_SANDBOX, Settings
from provisioner.model import Remote
from provisioner.secrets import Secret

EMULATOR_DIR = ".provisioner"
EMULATOR_CLIENT_ID = "provisioner-emulator"
EMULATOR_ORG_ID = "EMULATOR000000000000000@AdobeOrg"


@dataclass
class Runtime:
    settings: Settings
    client: Any  # provisioner.client.FlowServiceClient
    emulator_url: str | None = None
    ahead: ListingAhead | None = None


class ListingAhead:
    """The remote listing, fetched in a background thread while the command reads its manifests
    and state: at thousands of connections both take about a second, and the
    listing is almost all waiting on the network."""

    def __init__(
        self, settings: Settings, sandboxes: frozenset[str], kind_names: frozenset[str]
    ) -> None:
        self.settings = settings
        self.sandboxes = sandboxes
        self.kind_names = kind_names
        self._client: Any = None
        self._remote: dict[str, list[Remote]] | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="listing-ahead", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        # The main thread parses manifests meanwhile and holds the GIL; at the default 5 ms
        # switch interval each return from the network waits that long for it, which doubled
        # the time per page. Switch more often while this thread lives.
        interval = sys.getswitchinterval()
        sys.setswitchinterval(min(interval, 0.0005))
        try:
            # Made here: importing requests is itself worth overlapping with the manifests.
            self._client = _client(self.settings, 16)
            self._remote = fetch_remote(self._client, self.sandboxes, self.kind_names)
        except BaseException as exc:  # noqa: BLE001 (re-raised where the listing is used)
            self._error = exc
        finally:
            sys.setswitchinterval(interval)

    @property
    def client(self) -> Any:
        self._thread.join()
        if self._client is None:
            assert self._error is not None
            raise self._error
        return self._client

    def take(
        self, sandboxes: Iterable[str], kind_names: Iterable[str]
    ) -> dict[str, list[Remote]] | None:
        """The listing, if it was of exactly these sandboxes and of at least these kinds (its
        error raised now); else None."""
        self._thread.join()
        wanted = frozenset(kind_names)
        if frozenset(sandboxes) != self.sandboxes or not wanted <= self.kind_names:
            return None  # the guess was wrong: list again, and forget this one's outcome
        if self._error is not None:
            raise self._error
        if self._remote is None or wanted == self.kind_names:
            return self._remote
        return {s: [r for r in items if r.kind in wanted] for s, items in self._remote.items()}

    def close(self) -> None:
        self._thread.join()
        if self._client is not None:
            self._client.close()


# A top-level `sandbox:` line of a manifest (the schema allows only such names).
_TOP_SANDBOX = re.compile(
    rb"""^sandbox:[ \t]*["']?([A-Za-z0-9_-]+)["']?[ \t]*(?:#.*)?\r?$""", re.MULTILINE
)


# The top-level section keys of a manifest.
_TOP_SECTION = re.compile(rb"^([a-z]+):", re.MULTILINE)


def likely_scope(paths: Sequence[str], override: str | None) -> tuple[frozenset[str], frozenset[str]]:
    """The sandboxes the manifests at `paths` will name and the kinds they will declare,
    guessed from their raw text (empty when unsure); the manifest loader stays the authority."""
    from provisioner.errors import ProvisionerError
    from provisioner.manifest.files import discover

    found: set[str] = set()
    sections: set[str] = set()
    try:
        for name in discover(paths):
            text = Path(name).read_bytes()
            match = _TOP_SANDBOX.search(text)
            found.add(match.group(1).decode() if match else default_sandbox())
            sections.update(m.decode() for m in _TOP_SECTION.findall(text))
    except (ProvisionerError, OSError):
        return frozenset(), frozenset()
    registry = kinds.all_kinds()
    names = {k.name for s in sections for k in registry.in_section(s) if k.managed}
    if "dataflows" in sections:
        names.add("mapping")
    return (frozenset({override}) if override else frozenset(found)), frozenset(names)


def likely_sandboxes(paths: Sequence[str], override: str | None) -> frozenset[str]:
    return likely_scope(paths, override)[0]


@contextmanager
def listing_ahead(
    paths: Sequence[str], sandbox: str | None, *, emulator: bool
) -> Iterator[ListingAhead | None]:
    """Start listing the likely sandboxes now; None when the settings are incomplete (the
    command then reports that where it always did), with --emulator, or without a guess."""
    sandboxes, kind_names = likely_scope(paths, sandbox)
    if emulator or not sandboxes:
        yield None
        return
    from provisioner.errors import ProvisionerError

    try:
        settings = Settings.from_env()
    except ProvisionerError:
        yield None
        return
    ahead = ListingAhead(settings, sandboxes, kind_names)
    # On an error (a bad manifest, say) the command ends without waiting for the network:
    # the thread is a daemon and its outcome is dropped.
    yield ahead
    ahead.close()


def _client(settings: Settings, pool_size: int) -> Any:
    from provisioner.client import FlowServiceClient
    from provisioner.http.pacing import AdaptivePacer

    # One pacer for every lane: after a 429 they slow down together.
    return FlowServiceClient(settings, pool_size=max(16, pool_size), pacer=AdaptivePacer())


def default_sandbox() -> str:
    from provisioner.config import check_sandbox

    return check_sandbox(os.environ.get("AEP_SANDBOX") or DEFAULT_SANDBOX, "AEP_SANDBOX")


def endpoint(runtime: Runtime) -> str:
    """What a saved plan records as where it was made: the Platform URL, or "emulator" for the
    in-process one (its port changes with every run, its data lives in .provisioner/)."""
    return "emulator" if runtime.emulator_url else runtime.settings.platform_url


@contextmanager
def connect(
    *, emulator: bool, pool_size: int = 16, ahead: ListingAhead | None = None
) -> Iterator[Runtime]:
    """Settings and a client for Adobe, or for a local emulator started here (--emulator).
    With `ahead`, its settings and client are used (listing_ahead closes them)."""
    if ahead is not None:
        yield Runtime(ahead.settings, ahead.client, None, ahead)
        return
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
        with _client(settings, pool_size) as client:
            yield Runtime(settings, client, emu.url if emu else None)
    finally:
        if emu is not None:
            emu.stop()


def fetch_remote(
    client: Any, sandboxes: Iterable[str], kind_names: Iterable[str] | None = None
) -> dict[str, list[Remote]]:
    """One paginated, filtered listing per sandbox and kind; never a GET per resource.
    Without `kind_names`, every managed kind is listed."""
    registry = kinds.all_kinds().kinds
    names = sorted(kind_names) if kind_names is not None else sorted(
        n for n, k in registry.items() if k.managed
    )
    remote: dict[str, list[Remote]] = {}
    for sandbox in sorted(set(sandboxes)):
        found: list[Remote] = []
        for name in names:
            kind = registry[name]
            for item in client.list_items(kind, sandbox):
                found.append(kind.read(item, sandbox))
        remote[sandbox] = found
    return remote
