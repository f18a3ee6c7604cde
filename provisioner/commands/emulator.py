"""`provisioner emulator`: run the local Flow Service + IMS emulator in the foreground."""

from __future__ import annotations

import re
import shlex
import signal
import sqlite3
import threading
from types import FrameType

from provisioner.console import Console
from provisioner.errors import ProvisionerError

# What to export in default mode: the emulator accepts any client id and secret.
DEFAULT_CLIENT_ID = "emulator-client"
DEFAULT_CLIENT_SECRET = "emulator-secret"
DEFAULT_ORG_ID = "EMULATOR0000000000000000@AdobeOrg"
_SANDBOX = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class EmulatorStartError(ProvisionerError):
    """An emulator option is unusable (file, database, port)."""


def _sandboxes(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    bad = [n for n in names if not _SANDBOX.match(n)]
    if not names or bad:
        raise EmulatorStartError(
            f"--sandboxes {text!r} is not a comma-separated list of lowercase sandbox names; "
            "use for example --sandboxes prod,dev"
        )
    return names


def _datasets(names: list[str]) -> tuple[str, ...]:
    bad = [n for n in names if not n.strip() or n != n.strip()]
    if bad:
        raise EmulatorStartError(
            f"--dataset {bad[0]!r} is not a dataset name; give a name without leading or "
            'trailing spaces, for example --dataset "Web events"'
        )
    return tuple(names)


def run(
    *,
    console: Console,
    host: str,
    port: int,
    db: str | None,
    sandboxes: str,
    max_page_size: int,
    clients: str | None,
    s3_credentials: str | None,
    datasets: list[str],
    latency_ms: float,
    rate_limit: float,
    fail_rate: float,
    commit_fail_rate: float,
    token_ttl: int,
    seed: int | None,
) -> int:
    from provisioner.emulator import Emulator, EmulatorConfig
    from provisioner.emulator.fixtures import seeded_names
    from provisioner.emulator.ims import load_clients

    if not 0 <= port <= 65535:
        raise EmulatorStartError(f"--port {port} is not a TCP port; use 0 to 65535 (0 = any free)")
    config = EmulatorConfig(
        host=host,
        port=port,
        db_path=db,
        sandboxes=_sandboxes(sandboxes),
        max_page_size=max_page_size,
        default_page_size=min(20, max_page_size),
        latency_ms=latency_ms,
        rate_limit=rate_limit,
        fail_rate=fail_rate,
        commit_fail_rate=commit_fail_rate,
        token_ttl=token_ttl,
        seed=seed,
        clients_file=clients,
        s3_credentials_file=s3_credentials,
        datasets=_datasets(datasets),
    )
    try:
        emulator = Emulator(config)
    except (OSError, ValueError, sqlite3.Error) as exc:
        raise EmulatorStartError(_why(exc, clients, s3_credentials, db)) from None
    try:
        url = emulator.url  # binds the port
    except OSError as exc:
        emulator.stop()
        raise EmulatorStartError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}); "
            "choose another --port (0 picks a free one)"
        ) from None

    client_id, secret, org = DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_ORG_ID
    if clients:
        client_id, entry = next(iter(load_clients(clients).items()))
        secret, org = f"<the secret of {client_id} in {clients}>", entry.org
    where = f"data in {db}" if db else "data in memory"
    console.out(f"Flow Service emulator listening on {url}")
    console.out(f"  sandboxes: {', '.join(config.sandboxes)}; {where}")
    console.out(f"  datasets: {', '.join(seeded_names(config.datasets))}")
    console.out("Point provisioner at it with:")
    for name, value in (
        ("AEP_PLATFORM_URL", url),
        ("AEP_IMS_URL", url),
        ("AEP_CLIENT_ID", client_id),
        ("AEP_CLIENT_SECRET", secret),
        ("AEP_ORG_ID", org),
    ):
        console.out(f"  export {name}={shlex.quote(value)}")
    _sigterm_as_interrupt()
    try:
        # Announced inside the try: a Ctrl-C right after the words is a clean stop too.
        console.out("Press Ctrl-C to stop.")
        emulator.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    console.out("Emulator stopped.")
    return 0


def _sigterm_as_interrupt() -> None:
    """SIGTERM stops the emulator as cleanly as Ctrl-C does."""
    if threading.current_thread() is not threading.main_thread():
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def _why(exc: Exception, clients: str | None, s3: str | None, db: str | None) -> str:
    if isinstance(exc, sqlite3.Error) or (isinstance(exc, ValueError) and db and db in str(exc)):
        return f"cannot use --db {db} ({exc}); give a new file or an emulator database"
    if isinstance(exc, OSError):
        name = exc.filename or "?"
        option = "--clients" if name == clients else "--s3-credentials" if name == s3 else "--db"
        return f"cannot read {option} file {name} ({exc.strerror or exc}); check the path"
    option = "--clients" if clients and str(exc).startswith(clients) else "--s3-credentials"
    return f"{option}: {exc}"
