"""The remote state: `s3://BUCKET/KEY` and its companions, as objects (docs/remote-state.md).

    KEY                      the state (every write conditional: If-Match on the etag read,
                             If-None-Match: * for the first one)
    KEY.backup               the previous version
    KEY.lock                 the lock, created with If-None-Match: * and naming its holder
    KEY.journal/W-NNNNNN     the journal of a running apply: small objects, each a whole
                             journal (header line, then records), W naming the writer

boto3 is an optional extra, imported only here (and only when an s3:// state is used).
Credentials, region and endpoint come from the standard AWS chain, AWS_ENDPOINT_URL_S3
included. Every failure is one StateError/ConfigError sentence naming what to do.
"""

from __future__ import annotations

import getpass
import importlib
import os
import random
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, NoReturn

from provisioner.errors import ConfigError, LockError, StateError, UsageError
from provisioner.state import lock as locking
from provisioner.state.backend import S3_SCHEME, Segment, StateConflict, Stored
from provisioner.state.lock import LockInfo

# Lock waits: first retry after BACKOFF_START seconds, doubling up to BACKOFF_MAX, with jitter.
BACKOFF_START = 0.2
BACKOFF_MAX = 5.0
DELETE_BATCH = 1000  # DeleteObjects takes at most 1000 keys
_CREDENTIAL_CODES = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
    "TokenRefreshRequired",
    "AuthorizationHeaderMalformed",
}
_CONDITION_CODES = {"PreconditionFailed", "ConditionalRequestConflict"}
_SPLIT_HINT = "give the state as s3://BUCKET/KEY, for example s3://acme-ops/provisioner/prod.json"


def parse_url(name: str) -> tuple[str, str]:
    """(bucket, key) of s3://BUCKET/KEY; UsageError naming the problem otherwise."""
    rest = name[len(S3_SCHEME) :]
    bucket, _, key = rest.partition("/")
    if not bucket or not key:
        raise UsageError(
            f"the state {name!r} names no {'bucket' if not bucket else 'key'}; {_SPLIT_HINT}"
        )
    if key.endswith("/"):
        raise UsageError(f"the state {name!r} names a folder, not an object; {_SPLIT_HINT}")
    return bucket, key


def _import_boto3() -> tuple[Any, Any, tuple[type[Exception], ...]]:
    """boto3, botocore.config and the exceptions botocore raises; ConfigError without boto3."""
    try:
        boto3 = importlib.import_module("boto3")
        config = importlib.import_module("botocore.config")
        errors = importlib.import_module("botocore.exceptions")
    except ImportError:
        raise ConfigError(
            "an s3:// state needs boto3, which is not installed; install the S3 extra "
            "(pip install 'provisioner[s3]', or pip install boto3), then run again"
        ) from None
    return boto3, config, (errors.ClientError, errors.BotoCoreError)


class S3Backend:
    salvage_stale_journals = True  # pieces of a run whose lock was broken stay until folded

    def __init__(self, name: str) -> None:
        self.name = name
        self.bucket, self.key = parse_url(name)
        self.backup_name = f"{name}.backup"
        self.journal_name = f"{name}.journal/"
        self.lock_name = f"{name}.lock"
        self.bytes_written = 0
        self.journal_objects_written = 0
        self._client: Any = None
        self._errors: tuple[type[Exception], ...] = ()
        self._mine: LockInfo | None = None  # the lock this process holds
        self._sinks: list[S3Sink] = []
        self._count_lock = threading.Lock()

    # -- the client and its errors -----------------------------------------------------------

    def client(self) -> Any:
        if self._client is None:
            boto3, config, self._errors = _import_boto3()
            try:
                session = boto3.session.Session()
                self._client = session.client(
                    "s3",
                    config=config.Config(
                        connect_timeout=10,
                        read_timeout=60,
                        retries={"mode": "standard", "max_attempts": 4},
                        max_pool_connections=32,
                    ),
                )
            except self._errors as exc:
                self._fail(exc, "connect to")
            self._check_bucket()
        return self._client

    def _check_bucket(self) -> None:
        try:
            self._client.head_bucket(Bucket=self.bucket)
        except self._errors as exc:
            status = _status(exc)
            if status == 404 or _code(exc) in ("NoSuchBucket", "404", "NotFound"):
                self._no_bucket()
            if status == 403 and not _code(exc) in _CREDENTIAL_CODES:
                return  # may lack s3:ListBucket only; the object calls will tell
            self._fail(exc, "reach the bucket of")

    def _no_bucket(self) -> NoReturn:
        raise StateError(
            f"the bucket {self.bucket} of the state {self.name} does not exist (or this "
            "endpoint cannot see it); create it, or fix the bucket in --state / "
            "PROVISIONER_STATE"
        )

    def _fail(self, exc: BaseException, doing: str, what: str | None = None) -> NoReturn:
        """One sentence for a boto3/botocore failure; never the credentials themselves."""
        what = what or self.name
        kind = type(exc).__name__
        code = _code(exc)
        if kind in ("NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError"):
            raise ConfigError(
                f"cannot {doing} the state {what}: no AWS credentials were found; set "
                "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE, or a role from "
                "OIDC/instance metadata), then run again"
            ) from None
        if kind == "NoRegionError":
            raise ConfigError(
                f"cannot {doing} the state {what}: no AWS region is set; set AWS_REGION "
                "(or AWS_DEFAULT_REGION), then run again"
            ) from None
        if kind in (
            "EndpointConnectionError",
            "ConnectTimeoutError",
            "ConnectionClosedError",
            "ReadTimeoutError",
            "SSLError",
            "ProxyConnectionError",
        ):
            endpoint = getattr(self._client, "meta", None)
            url = getattr(endpoint, "endpoint_url", "S3") if endpoint else "S3"
            raise StateError(
                f"cannot {doing} the state {what}: {url} cannot be reached ({kind}); check the "
                "network, or AWS_ENDPOINT_URL_S3 for an S3-compatible store, then run again"
            ) from None
        if code == "NoSuchBucket":
            self._no_bucket()
        if code in _CREDENTIAL_CODES:
            raise ConfigError(
                f"cannot {doing} the state {what}: S3 refused the AWS credentials ({code}); "
                "check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN or "
                "AWS_PROFILE, then run again"
            ) from None
        if code in ("AccessDenied", "AllAccessDisabled", "403") or _status(exc) == 403:
            raise StateError(
                f"cannot {doing} the state {what}: access denied; grant these credentials "
                f"s3:GetObject, s3:PutObject, s3:DeleteObject and s3:ListBucket on the bucket "
                f"{self.bucket}, then run again"
            ) from None
        if code:
            raise StateError(
                f"cannot {doing} the state {what}: S3 answered {code} "
                f"(HTTP {_status(exc) or '?'}); run again, or check the bucket's configuration"
            ) from None
        raise StateError(f"cannot {doing} the state {what}: {kind} from S3; run again") from None

    def _count(self, n: int) -> None:
        with self._count_lock:
            self.bytes_written += n

    def _get(self, key: str, doing: str) -> tuple[bytes, str] | None:
        client = self.client()
        try:
            reply = client.get_object(Bucket=self.bucket, Key=key)
            return reply["Body"].read(), str(reply.get("ETag", ""))
        except self._errors as exc:
            if _code(exc) in ("NoSuchKey", "404", "NotFound"):
                return None
            self._fail(exc, doing, f"s3://{self.bucket}/{key}")

    def _head(self, key: str) -> bool:
        client = self.client()
        try:
            client.head_object(Bucket=self.bucket, Key=key)
            return True
        except self._errors as exc:
            if _status(exc) == 404 or _code(exc) in ("NoSuchKey", "404", "NotFound"):
                return False
            self._fail(exc, "read", f"s3://{self.bucket}/{key}")

    def _put(self, key: str, data: bytes, doing: str, **conditions: str) -> str:
        client = self.client()
        try:
            reply = client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=data,
                ContentType="application/json",
                **conditions,
            )
        except self._errors as exc:
            if _code(exc) in _CONDITION_CODES or _status(exc) == 412:
                raise _ConditionFailed() from None
            self._fail(exc, doing, f"s3://{self.bucket}/{key}")
        self._count(len(data))
        return str(reply.get("ETag", ""))

    # -- the state ---------------------------------------------------------------------------

    def read(self) -> Stored | None:
        got = self._get(self.key, "read")
        return None if got is None else Stored(got[0], got[1])

    def exists(self) -> bool:
        return self._head(self.key)

    def backup_exists(self) -> bool:
        return self._head(f"{self.key}.backup")

    def _kept(self) -> str:
        return (
            f"nothing was saved to it: this run's results are kept in the journal objects "
            f"under {self.journal_name}, which the next run folds in"
        )

    def check_writable(self) -> None:
        if self._mine is None:
            return
        holder = self.lock_info()
        if holder is not None and holder.id == self._mine.id:
            return
        now = f"it is now held by {holder.describe()}" if holder else "it is not held now"
        raise StateConflict(
            f"the lock on the state {self.name} was removed while this run held it "
            f"(force-unlock?) and {now}; {self._kept()}"
        )

    def write(self, data: bytes, replaces: Stored | None) -> None:
        condition = {"IfMatch": replaces.version} if replaces else {"IfNoneMatch": "*"}
        try:
            self._put(self.key, data, "write", **condition)
        except _ConditionFailed:
            raise StateConflict(
                f"the state {self.name} changed since this run read it (another run wrote it, "
                f"so this run's lock was broken); {self._kept()}"
            ) from None
        if replaces is not None:
            self._put(f"{self.key}.backup", replaces.data, "write the backup of")

    def sweep(self) -> None:
        return None  # a PUT is whole or absent: nothing half-written to clean up

    # -- the journal -------------------------------------------------------------------------

    def _journal_keys(self, limit: int | None = None) -> list[str]:
        prefix = f"{self.key}.journal/"
        keys: list[str] = []
        token: str | None = None
        client = self.client()
        try:
            while True:
                kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix}
                if token:
                    kwargs["ContinuationToken"] = token
                if limit:
                    kwargs["MaxKeys"] = limit
                page = client.list_objects_v2(**kwargs)
                keys.extend(str(o["Key"]) for o in page.get("Contents", []))
                if limit or not page.get("IsTruncated"):
                    break
                token = page.get("NextContinuationToken")
        except self._errors as exc:
            self._fail(exc, "list the journal of")
        return sorted(keys)

    def journal_exists(self) -> bool:
        return bool(self._journal_keys(limit=1))

    def journal_segments(self) -> list[Segment]:
        segments = []
        for key in self._journal_keys():
            got = self._get(key, "read the journal of")
            if got is not None:  # removed since the listing: folded by another run
                segments.append(Segment(f"s3://{self.bucket}/{key}", got[0]))
        return segments

    def journal_open(self, header: bytes) -> S3Sink:
        writer = f"{time.time_ns():020d}-{secrets.token_hex(4)}"
        sink = S3Sink(self, f"{self.key}.journal/{writer}", header)
        self._sinks.append(sink)
        return sink

    def journal_drop(
        self, lineage: str, serial: int, segments: Sequence[Segment], own: bool
    ) -> None:
        prefix = f"s3://{self.bucket}/"
        keys = [s.id[len(prefix) :] for s in segments]
        if own:
            for sink in self._sinks:
                keys.extend(sink.written())
            self._sinks = [s for s in self._sinks if not s.closed]
        if not keys:
            return
        client = self.client()
        for start in range(0, len(keys), DELETE_BATCH):
            batch = keys[start : start + DELETE_BATCH]
            try:
                client.delete_objects(
                    Bucket=self.bucket,
                    Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True},
                )
            except self._errors as exc:
                # Left behind, they are folded again (idempotently) by the next run.
                if _code(exc) in _CREDENTIAL_CODES or _status(exc) == 403:
                    self._fail(exc, "clean up the journal of")

    # -- the lock ----------------------------------------------------------------------------

    def _lock_key(self) -> str:
        return f"{self.key}.lock"

    def _read_lock(self) -> tuple[LockInfo, str] | None:
        got = self._get(self._lock_key(), "read the lock of")
        if got is None:
            return None
        return locking.parse(got[0].decode("utf-8", errors="replace")), got[1]

    def lock_info(self) -> LockInfo | None:
        got = self._read_lock()
        return None if got is None else got[0]

    def unlock_command(self) -> str:
        return f"provisioner force-unlock --state {self.name}"

    def _acquire(
        self, command: str, timeout: float, on_wait: Callable[[LockInfo], None] | None
    ) -> LockInfo:
        mine = LockInfo(
            pid=os.getpid(),
            host=socket.gethostname(),
            command=command,
            started=locking.now(),
            id=secrets.token_hex(8),
            user=_user(),
            where=_where(),
        )
        data = locking.encode(mine)
        deadline = time.monotonic() + timeout
        delay = BACKOFF_START
        announced = False
        unlock = self.unlock_command()
        while True:
            try:
                self._put(self._lock_key(), data, "lock", IfNoneMatch="*")
                self._mine = mine
                return mine
            except _ConditionFailed:
                pass
            holder = self.lock_info()
            if holder is None:
                continue  # released between our attempt and our look: try again at once
            if holder.is_stale():
                raise LockError(
                    f"the state {self.name} is locked by a stale lock left by a process that "
                    f"no longer runs: {holder.describe()}; run '{unlock}' to remove it, then "
                    "run again"
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if timeout > 0:
                    raise LockError(
                        f"the state {self.name} is still locked after "
                        f"{locking.seconds(timeout)} by {holder.describe()}; wait for it to "
                        f"finish, retry with a longer --lock-timeout, or run '{unlock}' if "
                        "that run is gone"
                    )
                raise LockError(
                    f"the state {self.name} is locked by {holder.describe()}; wait for it to "
                    f"finish, retry with --lock-timeout SECONDS, or run '{unlock}' if that "
                    "run is gone"
                )
            if on_wait is not None and not announced:
                on_wait(holder)
                announced = True
            time.sleep(min(delay * random.uniform(0.5, 1.0), remaining))
            delay = min(delay * 2, BACKOFF_MAX)

    def _release(self, mine: LockInfo) -> None:
        self._mine = None
        got = self._read_lock()
        if got is not None and got[0].id == mine.id:
            self._delete_lock(got[1])

    def _delete_lock(self, etag: str) -> bool:
        client = self.client()
        try:
            client.delete_object(Bucket=self.bucket, Key=self._lock_key(), IfMatch=etag)
        except self._errors as exc:
            if _code(exc) in _CONDITION_CODES or _status(exc) == 412:
                return False  # replaced meanwhile: not ours to remove
            if _code(exc) in ("NoSuchKey", "404"):
                return False
            self._fail(exc, "unlock", self.lock_name)
        return True

    @contextmanager
    def _hold(
        self, command: str, timeout: float, on_wait: Callable[[LockInfo], None] | None
    ) -> Iterator[LockInfo]:
        mine = self._acquire(command, timeout, on_wait)
        try:
            yield mine
        finally:
            self._release(mine)

    def lock(
        self, command: str, timeout: float, on_wait: Callable[[LockInfo], None] | None
    ) -> AbstractContextManager[LockInfo]:
        return self._hold(command, timeout, on_wait)

    def remove_lock(self, expected: LockInfo | None) -> bool:
        got = self._read_lock()
        if got is None or (expected is not None and got[0] != expected):
            return False
        return self._delete_lock(got[1])


class S3Sink:
    """Journal records as objects, with group commit: append() returns once its record is in
    S3; records arriving while a PUT is in flight go together in the next one. Bytes written
    are linear in the records: each object is one header line plus its batch."""

    def __init__(self, backend: S3Backend, prefix: str, header: bytes) -> None:
        self.name = f"s3://{backend.bucket}/{prefix}-*"
        self._backend = backend
        self._prefix = prefix
        self._header = header
        self._cond = threading.Condition()
        self._pending: list[bytes] = []
        self._queued = 0  # records handed to append()
        self._durable = 0  # records known to be in S3
        self._flushing = False
        self._error: BaseException | None = None
        self._keys: list[str] = []
        self.closed = False

    def _flush(self, batch: list[bytes]) -> None:
        key = f"{self._prefix}-{len(self._keys):06d}"
        self._backend._put(key, self._header + b"".join(batch), "write the journal of")
        self._keys.append(key)
        self._backend.journal_objects_written += 1

    def append(self, data: bytes) -> None:
        with self._cond:
            self._pending.append(data)
            self._queued += 1
            ticket = self._queued
            while self._durable < ticket:
                if self._error is not None:
                    raise self._error
                if self._flushing:
                    self._cond.wait()
                    continue
                self._flushing = True
                batch, self._pending = self._pending, []
                upto = self._queued
                self._cond.release()
                error: BaseException | None = None
                try:
                    self._flush(batch)
                except BaseException as exc:  # noqa: BLE001 - handed to every waiter
                    error = exc
                finally:
                    self._cond.acquire()
                    self._flushing = False
                if error is not None:
                    self._error = error
                    self._cond.notify_all()
                    raise error
                self._durable = upto
                self._cond.notify_all()

    def written(self) -> list[str]:
        with self._cond:
            return list(self._keys)

    def close(self) -> None:
        self.closed = True  # every append() returned only once its record was in S3


class _ConditionFailed(Exception):
    """A conditional PUT found the object not as required (412)."""


def _code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", "") or "")
    return ""


def _status(exc: BaseException) -> int:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return status if isinstance(status, int) else 0
    return 0


def _user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return ""


def _where() -> str:
    """Where the holder runs: a CI job when it says so, else the working directory."""
    if os.environ.get("GITHUB_ACTIONS") == "true":
        repo, run = os.environ.get("GITHUB_REPOSITORY", ""), os.environ.get("GITHUB_RUN_ID", "")
        return f"GitHub Actions {repo} run {run}".strip()
    if os.environ.get("CI_JOB_URL"):
        return os.environ["CI_JOB_URL"]
    try:
        return os.getcwd()
    except OSError:
        return ""
