"""Error answers: Flow Service's error body, the API gateway's, and IMS's, as one exception."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

FLOW_TYPE = "https://ns.adobe.com/aep/errors/FLOW-"

# Titles of Adobe's Flow Service error catalog (developer.adobe.com, Flow Service API troubleshooting); codes not in it are marked.
_TITLES = {
    "1000-400": "Bad request",
    "1003-404": "Resource not found",
    "1005-405": "Method not allowed",  # not in Adobe's catalog: the emulator's own
    "1101-404": "Resource not found",
    "1102-500": "Internal Error",
    "1103-503": "Service Unavailable",
    "1304-400": "Invalid request",
    "1312-400": "Invalid request",
    "1401-400": "Invalid request",
    "1403-400": "Header is missing",
    "1404-412": "Version not matching",
    "1405-400": "Invalid request",
    "1413-400": "Invalid request",
    "1414-400": "Invalid request",
    "1415-400": "Invalid request",
    "1429-429": "Too Many Requests",  # not in Adobe's catalog: Adobe documents no 429
    "1432-400": "Invalid request",
    "1433-400": "Invalid request",
    "1434-400": "Invalid request",
    "1440-400": "Invalid request",
    "1443-400": "Invalid request",
    "1448-400": "Invalid request",
    "1449-400": "Invalid request",
    "1450-400": "Invalid request",
    "1451-400": "Invalid request",
    "1452-400": "Invalid request",
    "1453-400": "Invalid request",
    "1455-400": "Invalid request",
    "2100-404": "Sandbox not found",
    "2105-400": "Header is missing",
}


@dataclass
class HttpError(Exception):
    """An answer other than success: status, JSON body (request-id filled in later), headers."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    def with_request_id(self, request_id: str) -> dict[str, Any]:
        report = self.body.get("report")
        if isinstance(report, dict):
            return {**self.body, "report": {**report, "request-id": request_id}}
        return self.body


def flow(code: str, message: str, **report: Any) -> HttpError:
    """Flow Service's error body; the status is the code's last three digits."""
    status = int(code.rsplit("-", 1)[1])
    body = {
        "type": FLOW_TYPE + code,
        "title": _TITLES.get(code, "Invalid request"),
        "status": status,
        "report": {"detailed-message": message, "request-id": "", **report},
        "errorMessage": message,
        "errorDetails": message,
    }
    return HttpError(status, body)


def gateway(error_code: str, message: str) -> HttpError:
    """The API gateway's header error; assumed status = the first three digits of the code."""
    return HttpError(int(error_code[:3]), {"error_code": error_code, "message": message})


def bad_content_type() -> HttpError:
    """The documented answer to a POST/PATCH without `Content-Type: application/json`."""
    return HttpError(
        400,
        {
            "type": "/placeholder/type/uri",
            "status": 400,
            "title": "BadRequestError",
            "detail": "A valid content-type must be specified",
        },
    )


def ims(status: int, error: str, description: str) -> HttpError:
    """IMS's OAuth error (RFC 6749 §5.2 shape; Adobe documents none)."""
    return HttpError(status, {"error": error, "error_description": description})


def not_found(connection_id: str) -> HttpError:
    return flow(
        "1101-404",
        "The requested resource is not found. Error from flow provider: "
        "Resource with given id does not exist.",
        id=connection_id,
    )
