"""EmulatorConfig: every knob of the emulator, with the defaults of `provisioner emulator`."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class EmulatorConfig:
    """How the emulator binds, what it stores, and which faults it injects."""

    host: str = "127.0.0.1"
    port: int = 8080  # 0 = any free port
    db_path: str | None = None  # None = in memory
    sandboxes: tuple[str, ...] = ("prod", "dev")
    max_page_size: int = 100
    default_page_size: int = 20
    latency_ms: float = 0
    rate_limit: float = 0  # requests per second over all Flow Service requests; 0 = off
    fail_rate: float = 0  # probability of a 503 before anything is done
    commit_fail_rate: float = 0  # probability of a 500 after a write is done
    token_ttl: int = 86399  # seconds, as IMS's sample response
    seed: int | None = None
    clients_file: str | None = None  # JSON {"CLIENT_ID": {"secret": ..., "org": ...}}
    s3_credentials_file: str | None = None  # JSON {"accessKeys": {...}, "buckets": [...]}
    datasets: tuple[str, ...] = ()  # names of datasets seeded beside the default set
    # Epoch seconds now: token expiry, createdAt/updatedAt and run generation follow it.
    clock: Callable[[], float] = field(default=time.time, compare=False)

    def __post_init__(self) -> None:
        # A list given by a caller is still accepted; the dataclass stays hashable.
        object.__setattr__(self, "sandboxes", tuple(self.sandboxes))
        object.__setattr__(self, "datasets", tuple(self.datasets))
