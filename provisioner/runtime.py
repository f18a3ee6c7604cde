"""What API commands share: settings (or an in-process emulator), the client, and the remote
listing started ahead (the listing itself is provisioner.listing)."""

from __future__ import annotations

import functools
import os
import re
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from provisioner import kinds
from provisioner.client_api import Client
from provisioner.config import DEFAULT_SANDBOX, Settings
from provisioner.listing import READ_LANES, OnRead, RemoteReader, Scope, Wanted
from provisioner.secrets import Secret

if TYPE_CHECKING:  # imported where made: loading requests overlaps with reading manifests
    from provisioner.client import FlowServiceClient

EMULATOR_DIR = ".provisioner"
EMULATOR_CLIENT_ID = "provisioner-emulator"
EMULATOR_ORG_ID = "EMULATOR000000000000000@AdobeOrg"


class Runtime:
    """Settings and the API client of one command. With `ahead`, the client is the listing's,
    and it is waited for only when first asked for (the plan prepares its comparison meanwhile)."""

    def __init__(
        self,
        settings: Settings,
        client: Client | None,
        emulator_url: str | None = None,
        ahead: ListingAhead | None = None,
    ) -> None:
        assert client is not None or ahead is not None
        self.settings = settings
        self._client = client
        self.emulator_url = emulator_url
        self.ahead = ahead

    @property
    def client(self) -> Client:
        if self._client is None:
            assert self.ahead is not None
            self._client = self.ahead.client
        return self._client


class ListingAhead:
    """The plan's remote reads, started in a background thread while the command reads its
    manifests and state: the token exchange, and filtered reads of the names the manifests'
    raw text seems to declare (a guess; `make_plan` reads whatever the guess missed)."""

    def __init__(
        self,
        settings: Settings,
        sandboxes: frozenset[str],
        kind_names: frozenset[str],
        guess: Callable[[], Scope] | None = None,
        lanes: int = 64,
    ) -> None:
        self.settings = settings
        self.lanes = lanes  # the most requests in flight at once (--parallelism)
        self.sandboxes = sandboxes
        self.kind_names = kind_names
        self._guess = guess
        self._client: FlowServiceClient | None = None
        self._reader: RemoteReader | None = None
        self._on_read: OnRead | None = None
        self._hook = threading.Lock()  # the reader is made in the thread; the hook comes any time
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
            self._client = _client(self.settings, self.lanes)
            self._client.tokens.token()
            with self._hook:
                self._reader = RemoteReader(
                    self._client, lanes=min(READ_LANES, self.lanes), on_read=self._on_read
                )
            scope = self._guess() if self._guess is not None else {}
            self._reader.read(
                {k: w for k, w in scope.items() if k[0] in self.sandboxes}
                or {(s, k): Wanted() for s in self.sandboxes for k in self.kind_names}
            )
        except BaseException as exc:  # noqa: BLE001 (re-raised where the listing is used)
            self._error = exc
        finally:
            sys.setswitchinterval(interval)

    def compare_as_read(self, on_read: OnRead) -> None:
        """From now on, give each answer's items to `on_read` as they arrive (in their lane)."""
        with self._hook:
            self._on_read = on_read
            if self._reader is not None:
                self._reader.on_read = on_read

    @property
    def client(self) -> Client:
        self._thread.join()
        if self._client is None:
            assert self._error is not None
            raise self._error
        return self._client

    def reader(self, sandboxes: Iterable[str]) -> RemoteReader | None:
        """What was read so far, to be completed; None when the guess named sandboxes not
        asked for (its outcome is then forgotten, an error included)."""
        self._thread.join()
        if not self.sandboxes <= frozenset(sandboxes):
            return None
        if self._error is not None:
            raise self._error
        return self._reader

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


# A top-level section key, or a `name:` key of a manifest entry with its value on that line.
_LINE = re.compile(rb"^([a-z]+):|^[ \t]+-?[ \t]*name:[ \t]*(.*?)[ \t]*\r?$", re.MULTILINE)


def _plain_name(raw: bytes) -> str | None:
    """The YAML scalar `raw` as text when it is certainly just that (else None: not guessed)."""
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        return None
    if " #" in text:
        text = text.split(" #", 1)[0].rstrip()
    if len(text) >= 2 and text[0] == text[-1] == "'":
        inner = text[1:-1]
        return inner.replace("''", "'") if "'" not in inner.replace("''", "") else None
    if len(text) >= 2 and text[0] == text[-1] == '"':
        inner = text[1:-1]
        return inner if "\\" not in inner and '"' not in inner else None
    if not text or text[0] in "[]{}&*!|>%@`'\"#?:,-" or ": " in text or "${" in text:
        return None
    return text


def likely_reads(paths: Sequence[str], override: str | None) -> Scope:
    """The reads a plan of `paths` will most likely need, guessed from the manifests' raw
    text: per sandbox and kind, the names its entries seem to declare (empty when unsure)."""
    from provisioner.errors import ProvisionerError
    from provisioner.manifest.files import discover

    registry = kinds.all_kinds()
    scope: Scope = {}
    try:
        for name in discover(paths):
            text = Path(name).read_bytes()
            match = _TOP_SANDBOX.search(text)
            sandbox = override or (match.group(1).decode() if match else default_sandbox())
            section = ""
            for m in _LINE.finditer(text):
                if m.group(1) is not None:
                    section = m.group(1).decode()
                    for kind in registry.in_section(section):
                        if kind.managed:
                            scope.setdefault((sandbox, kind.name), Wanted())
                    if section == "dataflows":
                        scope.setdefault((sandbox, "mapping"), Wanted())
                    continue
                value = _plain_name(m.group(2))
                if value is None:
                    continue
                for kind in registry.in_section(section):
                    if kind.managed and kind.adopt_by_name:
                        scope.setdefault((sandbox, kind.name), Wanted()).names.add(value)
    except (ProvisionerError, OSError):
        return {}
    return scope


@contextmanager
def listing_ahead(
    paths: Sequence[str], sandbox: str | None, *, emulator: bool, lanes: int = 64
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
    ahead = ListingAhead(
        settings, sandboxes, kind_names, functools.partial(likely_reads, paths, sandbox), lanes
    )
    # On an error (a bad manifest, say) the command ends without waiting for the network:
    # the thread is a daemon and its outcome is dropped.
    yield ahead
    ahead.close()


def _client(settings: Settings, lanes: int) -> FlowServiceClient:
    from provisioner.client import FlowServiceClient
    from provisioner.http.limiter import ConcurrencyLimiter
    from provisioner.http.pacing import AdaptivePacer

    # One pacer for every lane: after a 429 they slow down together. One limiter: how many of
    # the `lanes` may wait on the service at once, learnt from its answers.
    return FlowServiceClient(
        settings,
        pool_size=max(16, lanes),
        pacer=AdaptivePacer(),
        limiter=ConcurrencyLimiter(lanes),
    )


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
        yield Runtime(ahead.settings, None, None, ahead)
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
