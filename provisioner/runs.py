"""Dataflow runs as the project's own records (from Flow Service's GET /runs items)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RunError:
    code: str
    message: str


@dataclass(frozen=True)
class Run:
    id: str
    status: str  # inProgress, success, failed, ...
    started_at: int | None  # epoch milliseconds
    completed_at: int | None
    files_read: int | None
    files_written: int | None
    records_read: int | None
    records_written: int | None
    records_failed: int | None
    errors: tuple[RunError, ...] = ()

    @property
    def data(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "started_at_ms": self.started_at,
            "completed_at_ms": self.completed_at,
            "files_read": self.files_read,
            "files_written": self.files_written,
            "records_read": self.records_read,
            "records_written": self.records_written,
            "records_failed": self.records_failed,
            "errors": [{"code": e.code, "message": e.message} for e in self.errors],
        }


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def read(item: Mapping[str, Any]) -> Run:
    metrics = _map(item.get("metrics"))
    status = _map(metrics.get("statusSummary"))
    duration = _map(metrics.get("durationSummary"))
    files = _map(metrics.get("fileSummary"))
    records = _map(metrics.get("recordSummary"))
    raw_errors = status.get("errors") or item.get("errors") or []
    errors = tuple(
        RunError(str(e.get("code", "")), str(e.get("message", "")))
        for e in raw_errors
        if isinstance(e, Mapping)
    )
    return Run(
        id=str(item.get("id", "")),
        status=str(status.get("status", "unknown")),
        started_at=_int(duration.get("startedAtUTC")),
        completed_at=_int(duration.get("completedAtUTC")),
        files_read=_int(files.get("inputFileCount")),
        files_written=_int(files.get("outputFileCount")),
        records_read=_int(records.get("inputRecordCount")),
        records_written=_int(records.get("outputRecordCount")),
        records_failed=_int(records.get("failedRecordCount")),
        errors=errors,
    )
