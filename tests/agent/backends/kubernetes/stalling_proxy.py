"""A TCP proxy on 127.0.0.1 in front of the emulator that can stall one client's traffic at will.

While ``stalled`` is set it forwards nothing in either direction: requests hang, as they do behind a
network partition or an overloaded API server, until the client's own timeout gives up. One proxy
per client, so a test can stall exactly one replica of the agent.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from urllib.parse import urlsplit


class StallingProxy:
    def __init__(self, upstream_url: str) -> None:
        parts = urlsplit(upstream_url)
        self._upstream = (parts.hostname or "127.0.0.1", int(parts.port or 80))
        self.stalled = threading.Event()
        self._closed = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = int(self._listener.getsockname()[1])
        self._sockets: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, name="stalling-proxy", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._closed.set()
        self._thread.join(2)
        self._listener.close()
        for s in list(self._sockets):
            with contextlib.suppress(OSError):
                s.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                server = socket.create_connection(self._upstream, timeout=5)
            except OSError:
                client.close()
                continue
            self._sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        source.settimeout(0.1)
        try:
            while not self._closed.is_set():
                if self.stalled.is_set():
                    self._closed.wait(0.05)
                    continue
                try:
                    data = source.recv(65536)
                except TimeoutError:
                    continue
                if not data:
                    break
                while self.stalled.is_set() and not self._closed.is_set():
                    self._closed.wait(0.05)  # a chunk read just before the stall waits with the rest
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
