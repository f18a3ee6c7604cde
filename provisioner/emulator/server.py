"""The HTTP/1.1 server (threaded, keep-alive) and `Emulator`, which starts and stops it."""

from __future__ import annotations

import json
import socket
import sys
import threading
import traceback
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

from provisioner.emulator import errors
from provisioner.emulator.app import App, Request, Response
from provisioner.emulator.config import EmulatorConfig
from provisioner.emulator.ims import Ims, load_clients
from provisioner.emulator.store import Store

_MAX_BODY = 1 << 20


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    app: App

    def __init__(self, address: tuple[str, int], app: App) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.app = app
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that went away mid-answer (killed, timed out) is not an emulator fault.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Wake every keep-alive connection still open so its thread ends."""
        with self._open_lock:
            open_ = list(self._open)
        for sock in open_:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: every answer carries Content-Length
    # Headers and body go out in two writes; with Nagle on, the body waits for the client's
    # delayed ACK (~40 ms per request), which would dwarf --latency-ms in the benchmark.
    disable_nagle_algorithm = True
    server: _Server

    def version_string(self) -> str:
        return "flowservice-emulator"

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PATCH = do_DELETE = do_PUT = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: the emulator may serve thousands of requests a second

    def _read_body(self) -> bytes:
        try:
            return self._read_framed_body()
        except ValueError:
            self.close_connection = True  # the stream is out of step: do not read on
            raise errors.flow("1000-400", "The request body is not framed correctly.") from None

    def _too_large(self) -> errors.HttpError:
        self.close_connection = True
        return errors.gateway("413001", f"Request body larger than {_MAX_BODY} bytes")

    def _read_framed_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
                if sum(map(len, chunks)) > _MAX_BODY:
                    raise self._too_large()
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_BODY:
            raise self._too_large()
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self) -> None:
        request_id = self.headers.get("x-request-id") or str(uuid.uuid4())
        try:
            path, _, query = self.path.partition("?")
            body = self._read_body()
            req = Request(self.command, path, query, self.headers, body)  # type: ignore[arg-type]
            response = self.server.app.handle(req)
        except errors.HttpError as exc:
            response = Response(exc.status, exc.with_request_id(request_id), exc.headers)
        except Exception:  # noqa: BLE001 -- a bug in the emulator: say so, as the real service would say 500
            traceback.print_exc(file=sys.stderr)
            exc500 = errors.flow("1102-500", "An internal error has occurred in the emulator.")
            response = Response(500, exc500.with_request_id(request_id))
        self._send(response, request_id)

    def _send(self, response: Response, request_id: str) -> None:
        self.send_response(response.status)
        self.send_header("x-request-id", request_id)
        if self.close_connection:
            self.send_header("Connection", "close")
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.status == 204:
            self.end_headers()
            return
        data = b"" if response.body is None else json.dumps(response.body).encode()
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _load_s3(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        try:
            data = json.load(fh)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path} is not valid JSON ({exc.msg}, line {exc.lineno})") from None
    keys = data.get("accessKeys", {}) if isinstance(data, dict) else None
    buckets = data.get("buckets", []) if isinstance(data, dict) else None
    if not (
        isinstance(keys, dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in keys.items())
        and isinstance(buckets, list)
        and all(isinstance(b, str) for b in buckets)
    ):
        raise ValueError(
            f'{path} must be a JSON object {{"accessKeys": {{"ACCESS_KEY": "SECRET"}}, '
            '"buckets": ["bucket-name"]}'
        )
    return {"accessKeys": keys, "buckets": buckets}


class Emulator:
    """A Flow Service + IMS emulator. Files are read and the database opened on construction
    (ValueError/OSError/sqlite3.Error if unusable); `start()` binds (OSError if it cannot)."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        clients = load_clients(self.config.clients_file) if self.config.clients_file else None
        s3 = _load_s3(self.config.s3_credentials_file) if self.config.s3_credentials_file else None
        self._store = Store(self.config.db_path)
        self.app = App(
            self.config, Ims(clients, self.config.token_ttl, self.config.clock), self._store, s3
        )
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def _bind(self) -> _Server:
        if self._server is None:
            self._server = _Server((self.config.host, self.config.port), self.app)
        return self._server

    @property
    def port(self) -> int:
        return int(self._bind().server_address[1])

    @property
    def url(self) -> str:
        """The base URL of both IMS and Flow Service (a wildcard host is shown as loopback)."""
        host = self.config.host
        if host in ("", "0.0.0.0"):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    def start(self) -> Self:
        """Bind and serve in a background thread."""
        server = self._bind()
        if self._thread is None:
            self._thread = threading.Thread(
                # A short poll makes stop() quick; the idle cost is negligible.
                target=server.serve_forever,
                args=(0.05,),
                name="flowservice-emulator",
                daemon=True,
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Bind and serve in this thread until stop() or KeyboardInterrupt."""
        self._bind().serve_forever()

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            if self._thread is not None:
                server.shutdown()
                self._thread.join()
                self._thread = None
            server.server_close()
            server.close_connections()
        self._store.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
