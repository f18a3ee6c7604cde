"""The project's error root; the CLI turns every ProvisionerError into one sentence and exit 1.

    ProvisionerError              expected failure: one sentence for the user, exit 1
    ├── UsageError                bad command line (also exit 1, like every error)
    ├── ConfigError               missing or bad AEP_* settings, credentials
    ├── ManifestError             every problem of every manifest file, with file:line:column
    ├── StateError                state file unreadable, failing its checks, or newer than us
    │   └── LockError             the state is locked by another run (names the holder)
    ├── PlanError                 ambiguous adoption, stale saved plan, refused action
    └── ApiError                  Flow Service or IMS said no (status, code, request id)
        ├── AuthError             IMS refused the credentials, or 401/403 from the gateway
        ├── NotFoundError         404
        ├── PreconditionError     412: the etag we sent is stale
        ├── TransientError        429/5xx/timeouts still failing after the retries
        └── UncertainWriteError   a write whose outcome is unknown (timeout or 5xx after sending)
            └── RetriedWriteRefused  412 on a retry of such a write (also a PreconditionError)

Subclasses that only one module raises may live in that module; they still derive from these.
Messages never contain a secret: values that might be secret are wrapped in `Secret`
(provisioner.secrets) whose str() is masked.
"""

from __future__ import annotations

from dataclasses import dataclass


class ProvisionerError(Exception):
    """An expected failure, reported to the user as one sentence (what, where, what to do)."""


class UsageError(ProvisionerError):
    """The command line is wrong."""


class ConfigError(ProvisionerError):
    """The environment or configuration is missing something."""


@dataclass(frozen=True, order=True)
class Problem:
    """One manifest problem, located in its file."""

    file: str
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ManifestError(ProvisionerError):
    """One or more manifest problems; str() lists each on its own line."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class StateError(ProvisionerError):
    """The state file cannot be used."""


class LockError(StateError):
    """Another run holds the state lock."""


class PlanError(ProvisionerError):
    """The plan cannot be made or applied as asked."""


class ApiError(ProvisionerError):
    """A Flow Service or IMS request failed; carries what the service said."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.request_id = request_id
        suffix = f" (request id {request_id})" if request_id else ""
        super().__init__(message + suffix)


class AuthError(ApiError):
    """Credentials were refused."""


class NotFoundError(ApiError):
    """The resource does not exist."""


class PreconditionError(ApiError):
    """The If-Match etag is stale (412)."""


class TransientError(ApiError):
    """Rate limiting, unavailability or timeouts outlasted the retries."""


class UncertainWriteError(TransientError):
    """A write may or may not have happened (timeout or 5xx after the request was sent)."""


class RetriedWriteRefused(UncertainWriteError, PreconditionError):
    """412 on the retry of a write that may have been applied: most likely the first attempt
    was, and its new etag is what refused the retry. Both uncertain and a precondition."""
