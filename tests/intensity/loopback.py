"""A real HTTP server on 127.0.0.1 whose answers each test scripts (status, body, delay, faults)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Reply:
    """One scripted answer. ``body`` may be bytes, str or JSON-ready data."""

    status: int = 200
    body: Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    truncate: bool = False  # announce a longer Content-Length than sent, then close

    def payload(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


@dataclass
class Request:
    path: str
    query: dict[str, str]
    headers: dict[str, str]


Handler = Callable[[Request], Reply]


class LoopbackServer:
    """Serves scripted replies per path; records every request and the peak concurrency."""

    Reply = Reply

    def __init__(self) -> None:
        self.routes: dict[str, Handler | list[Reply]] = {}
        self.requests: list[Request] = []
        self.in_flight = 0
        self.peak_in_flight = 0
        self._lock = threading.Lock()
        outer = self

        class _Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer._serve(self)

            def log_message(self, *args: Any) -> None:
                pass

        class _Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 128
            allow_reuse_address = True

        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def route(self, path: str, *replies: Reply | Handler) -> None:
        """Scripts ``path``: a handler function, or replies used in turn (the last one repeats)."""
        if len(replies) == 1 and callable(replies[0]) and not isinstance(replies[0], Reply):
            self.routes[path] = replies[0]
        else:
            self.routes[path] = list(replies)  # type: ignore[arg-type]

    def hits(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    def _pick(self, request: Request) -> Reply:
        with self._lock:
            self.requests.append(request)
            route = self.routes.get(request.path)
            if route is None:
                return Reply(404, {"error": f"no route for {request.path}"})
            if callable(route):
                handler = route
            else:
                return route.pop(0) if len(route) > 1 else route[0]
        return handler(request)

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        request = Request(parts.path, dict(parse_qsl(parts.query)), dict(handler.headers.items()))
        with self._lock:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            reply = self._pick(request)
            if reply.delay_s:
                time.sleep(reply.delay_s)
            payload = reply.payload()
            handler.send_response(reply.status)
            handler.send_header("Content-Type", "application/json")
            length = len(payload) + (100 if reply.truncate else 0)
            handler.send_header("Content-Length", str(length))
            for name, value in reply.headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(payload)
            handler.wfile.flush()
            if reply.truncate:
                handler.close_connection = True
                handler.connection.shutdown(socket.SHUT_RDWR)
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass  # the client gave up (timeout tests)
        finally:
            with self._lock:
                self.in_flight -= 1

    def start(self) -> LoopbackServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def refused_url() -> str:
    """A loopback URL on a port nothing listens on (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
