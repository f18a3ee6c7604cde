"""Small hostile loopback servers (stdlib http.server in a thread, port 0) for the network tests.

A `Fake` answers the IMS token exchange like IMS (unless told otherwise) and every other
request with `route(request)`, which returns a `Reply`: a status, headers and a body, or a
`write(handler, stop)` that writes the whole answer itself (trickles, endless bodies).
Every request is recorded, so a test can check what reached the server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.aep import child_env, s3, write_manifest

CLIENT_ID = "hardening-client"
CLIENT_SECRET = "SENTINEL-hardening-secret-7e41"
ORG_ID = "HARDENINGORG00000000000@AdobeOrg"
TOKEN = "SENTINEL-hardening-token-0b9a"
S3_SECRET = "SENTINEL-hardening-s3-secret-55"


@dataclass
class Request:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes

    @property
    def raw(self) -> str:
        return f"{self.method} {self.path} {self.query} {self.headers} {self.body!r}"


Writer = Callable[[BaseHTTPRequestHandler, threading.Event], None]


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # JSON unless `raw`
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    write: Writer | None = None  # writes the whole answer itself


Route = Callable[[Request], Reply]


def token_reply(expires_in: Any = 86399) -> Reply:
    return Reply(200, {"access_token": TOKEN, "token_type": "bearer", "expires_in": expires_in})


class Fake:
    def __init__(self, route: Route, *, ims: Route | None = None) -> None:
        self.requests: list[Request] = []
        self.stop = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                parts = urlsplit(self.path)
                request = Request(
                    self.command,
                    parts.path if not parts.netloc else self.path,  # a proxy sees full URLs
                    parse_qsl(parts.query, keep_blank_values=True),
                    dict(self.headers.items()),
                    self.rfile.read(length) if length else b"",
                )
                fake.requests.append(request)
                if parts.path == "/ims/token/v3":
                    reply = (ims or (lambda r: token_reply()))(request)
                else:
                    reply = route(request)
                try:
                    if reply.write is not None:
                        self.close_connection = True
                        reply.write(self, fake.stop)
                        return
                    payload = reply.raw
                    if payload is None:
                        payload = b"" if reply.body is None else json.dumps(reply.body).encode()
                    self.send_response(reply.status)
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    if "Content-Type" not in reply.headers:
                        self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    self.close_connection = True  # the client gave up: that is the point

            do_GET = do_POST = do_PATCH = do_DELETE = do_CONNECT = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def flow_requests(self) -> list[Request]:
        return [r for r in self.requests if not r.path.endswith("/ims/token/v3")]

    def close(self) -> None:
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()


# -- hostile writers ----------------------------------------------------------------------------


def trickle_body(every: float, total: int = 1_000_000) -> Writer:
    """A 200 whose headers come at once and whose body comes one byte every `every` seconds."""

    def write(h: BaseHTTPRequestHandler, stop: threading.Event) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(total))
        h.end_headers()
        h.wfile.flush()
        for _ in range(total):
            if stop.wait(every):
                return
            h.wfile.write(b" ")
            h.wfile.flush()

    return write


def trickle_headers(every: float) -> Writer:
    """An answer whose status line and headers come one byte every `every` seconds."""

    def write(h: BaseHTTPRequestHandler, stop: threading.Event) -> None:
        head = b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"a" * 60000
        for byte in head:
            if stop.wait(every):
                return
            h.wfile.write(bytes([byte]))
            h.wfile.flush()

    return write


def endless_body(status: int = 200) -> Writer:
    """An answer without a length whose body never ends (until the client hangs up)."""

    def write(h: BaseHTTPRequestHandler, stop: threading.Event) -> None:
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Connection", "close")
        h.end_headers()
        chunk = b"[" * 65536
        sent = 0
        while not stop.is_set() and sent < 200 * 1024 * 1024:
            h.wfile.write(chunk)
            sent += len(chunk)

    return write


def declared_huge(size: int = 3 * 1024**3) -> Writer:
    """A 200 that declares a body of `size` bytes (3 GiB), sends 1 kB of it and waits."""

    def write(h: BaseHTTPRequestHandler, stop: threading.Event) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(size))
        h.end_headers()
        h.wfile.write(b" " * 1024)
        h.wfile.flush()
        stop.wait(30)

    return write


# -- the real CLI in a subprocess ---------------------------------------------------------------


def env_for(url: str, **extra: str) -> dict[str, str]:
    """The environment of a user whose AEP_* variables point at `url` (a fake)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AEP_")}
    for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        env.pop(proxy, None)
    env.update(
        AEP_CLIENT_ID=CLIENT_ID,
        AEP_CLIENT_SECRET=CLIENT_SECRET,
        AEP_ORG_ID=ORG_ID,
        AEP_PLATFORM_URL=url,
        AEP_IMS_URL=url,
        TEST_S3_KEY="AKIAHARDENING",
        TEST_S3_SECRET=S3_SECRET,
        NO_COLOR="1",
    )
    env.update(extra)
    return child_env(env)


def manifest(directory: Path) -> Path:
    return write_manifest(directory / "connections.yaml", {"landing": s3("hardening-landing")})


class Hung(AssertionError):
    pass


def run_cli(
    *argv: str, cwd: Path, env: dict[str, str], wall: float = 60.0
) -> subprocess.CompletedProcess[str]:
    """`python -m provisioner ARGV`; a run that outlives `wall` seconds is killed and fails the
    test (a hang is a failure, never a hung test). HARDENING_WALL overrides `wall`."""
    wall = float(os.environ.get("HARDENING_WALL") or wall)
    try:
        return subprocess.run(
            [sys.executable, "-m", "provisioner", *argv],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=wall,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise Hung(f"provisioner {' '.join(argv)} was still running after {wall:g} s") from None


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    """The single `Error:` sentence of a failed run (no traceback, no internal error)."""
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "internal error" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, proc.stderr
    return errors[0]


def figure(name: str, **values: Any) -> None:
    """One line of figures for docs/network.md (seen with pytest -s)."""
    print(f"\nFIGURE {name}: " + ", ".join(f"{k}={v}" for k, v in values.items()))


def bounded(work: Callable[[], Any], wall: float = 60.0) -> Any:
    """`work()` in a daemon thread: its result or its exception, or Hung after `wall` seconds
    (an in-process call that would hang fails the test instead)."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = work()
        except BaseException as exc:  # noqa: BLE001 (re-raised in the test's thread)
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(float(os.environ.get("HARDENING_WALL") or wall))
    if thread.is_alive():
        raise Hung(f"still running after {wall:g} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("result")
