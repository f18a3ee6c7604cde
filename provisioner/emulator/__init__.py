"""A local Flow Service + IMS emulator (docs/emulator.md); imports nothing from the rest of provisioner."""

from __future__ import annotations

from provisioner.emulator.config import EmulatorConfig
from provisioner.emulator.server import Emulator

__all__ = ["Emulator", "EmulatorConfig"]
