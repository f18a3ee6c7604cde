"""Saved plans (`plan --out FILE`, `apply FILE`): the file format, and its staleness checks."""

from provisioner.planfile.codec import (
    FORMAT_VERSION,
    MARKER,
    SavedPlan,
    _checksum,
    build,
    claims,
    dumps,
    is_planfile,
    load,
    save,
)
from provisioner.planfile.freshness import check_fresh, check_target, continued_state, prepare

__all__ = [
    "FORMAT_VERSION",
    "MARKER",
    "SavedPlan",
    "_checksum",
    "build",
    "check_fresh",
    "check_target",
    "claims",
    "continued_state",
    "dumps",
    "is_planfile",
    "load",
    "prepare",
    "save",
]
