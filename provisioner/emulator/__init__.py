"""A local Flow Service + IMS emulator (SPEC.md §9); imports nothing from the rest of provisioner."""

from __future__ import annotations

from provisioner.emulator.config import EmulatorConfig
from provisioner.emulator.server import Emulator

__all__ = ["Emulator", "EmulatorConfig"]
