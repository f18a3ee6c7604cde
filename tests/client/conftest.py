"""Client fixtures: clients closed after each test, and a tiny seam server."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from client_helpers import Handler, Seam, Seen, settings_for

from provisioner.client import FlowServiceClient
from provisioner.config import Settings


@pytest.fixture
def make_client() -> Iterator[Callable[..., FlowServiceClient]]:
    """make_client(url_or_settings, **FlowServiceClient kwargs); closed after the test."""
    made: list[FlowServiceClient] = []

    def make(target: str | Settings, **kwargs: Any) -> FlowServiceClient:
        settings = target if isinstance(target, Settings) else settings_for(target)
        client = FlowServiceClient(settings, **kwargs)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def seam() -> Iterator[Callable[[Handler], Seam]]:
    """seam(handler) starts a local HTTP server answering every request with handler(seen);
    only for cases the emulator cannot produce (read timeouts, HTTP-date Retry-After...)."""
    servers: list[ThreadingHTTPServer] = []

    def start(handler: Handler) -> Seam:
        seen: list[Seen] = []

        class _H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                parts = urlsplit(self.path)
                request = Seen(
                    self.command,
                    parts.path,
                    parse_qsl(parts.query, keep_blank_values=True),
                    dict(self.headers.items()),
                    self.rfile.read(length) if length else b"",
                )
                seen.append(request)
                answer = handler(request)
                if answer.delay:
                    time.sleep(answer.delay)
                if answer.hang_up:
                    self.close_connection = True
                    self.connection.close()
                    return
                payload = answer.raw
                if payload is None:
                    payload = b"" if answer.body is None else json.dumps(answer.body).encode()
                self.send_response(answer.status)
                for key, value in answer.headers.items():
                    self.send_header(key, value)
                if payload and answer.raw is None:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PATCH = do_DELETE = _serve

        server = ThreadingHTTPServer(("127.0.0.1", 0), _H)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return Seam(f"http://127.0.0.1:{server.server_address[1]}", seen)

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
