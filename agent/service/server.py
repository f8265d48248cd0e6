"""A small HTTP server on a background thread (stdlib http.server) with a bounded shutdown.

Routes are GET paths mapped to callables returning a ``Reply``. A route that raises answers 500 and is
logged; the server thread keeps serving. ``stop`` returns within its timeout even if a handler hangs.
Its resources are bounded: at most ``max_connections`` connections are served at once (one thread
each); a connection beyond them is answered 503 and closed at once instead of getting a thread, and
a connection that sends nothing for ``timeout_s`` is closed, so idle clients cannot pile up threads.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import structlog

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"


Route = Callable[[], Reply]
MAX_CONNECTIONS = 16
"""Connections served at once. Probes and scrapes need a handful; the rest wait for a free slot."""
TIMEOUT_S = 10.0
"""Seconds a connection may stay silent (before its request, or idle between keep-alive requests)."""
BUSY = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\nRetry-After: 1\r\n\r\n"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a hung handler must not hold up stop()
    request_queue_size = 128  # accepted quickly (served or shed), so a burst does not overflow the backlog

    def __init__(self, address: tuple[str, int], routes: Mapping[str, Route], *, max_connections: int,
                 timeout_s: float) -> None:
        self.routes = routes
        self.timeout_s = timeout_s
        self._slots = threading.BoundedSemaphore(max_connections)
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):  # every slot busy: shed, rather than start one more thread
            with contextlib.suppress(OSError):
                request.sendall(BUSY)
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        self.request.settimeout(self.server.timeout_s)  # the class's timeout (None) leaves it as set here
        super().setup()

    def do_GET(self) -> None:
        route = self.server.routes.get(urlsplit(self.path).path)
        if route is None:
            reply = Reply(404, b"not found\n")
        else:
            try:
                reply = route()
            except Exception as e:  # noqa: BLE001 (a failing route answers 500; the server keeps serving)
                log.error("http_route_failed", path=self.path, error=f"{type(e).__name__}: {e}"[:300])
                reply = Reply(500, b"internal error\n")
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("http_request", line=format % args)


class BackgroundHTTPServer:
    """Serves ``routes`` on ``host:port`` (port 0: a free one, see ``port``) from a daemon thread."""

    def __init__(self, *, host: str, port: int, routes: Mapping[str, Route], name: str,
                 max_connections: int = MAX_CONNECTIONS, timeout_s: float = TIMEOUT_S) -> None:
        self._server = _Server((host, port), routes, max_connections=max_connections, timeout_s=timeout_s)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=name, daemon=True)
        self.name = name

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        host = self._server.server_address[0]
        return f"http://{host.decode() if isinstance(host, bytes) else host}:{self.port}"

    def start(self) -> None:
        self._thread.start()
        log.info("http_server_started", server=self.name, url=self.url)

    def stop(self, timeout_s: float = 5.0) -> bool:
        """Stop serving and close the socket; False if the loop did not stop within ``timeout_s``."""
        if self._thread.is_alive():
            stopper = threading.Thread(target=self._server.shutdown, name=f"{self.name}-stop", daemon=True)
            stopper.start()
            stopper.join(timeout_s)
            self._thread.join(max(0.0, timeout_s))
        self._server.server_close()
        stopped = not self._thread.is_alive()
        log.info("http_server_stopped", server=self.name, clean=stopped)
        return stopped

    def __enter__(self) -> BackgroundHTTPServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
