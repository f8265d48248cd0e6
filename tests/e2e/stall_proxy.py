"""An HTTPS reverse proxy in front of the API server that can stall one replica's Lease requests.

A renewal that hangs while the rest of the process runs is what lets two leaders inject at once
(issue 8): the request is neither answered nor refused until the client gives up. The proxy forwards
every request (bodies and watch streams included) with the client's own token, so the API server and
its audit log see the agent's identity; while ``stall()`` is on, requests on ``leases`` are held
until ``release()`` or until the client hangs up. Every Lease write that the API server accepted is
recorded (when it was sent, and the holder it wrote): the wire-level truth of who held the lease when.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import threading
import time
from pathlib import Path

from aiohttp import ClientError, ClientSession, ClientTimeout, TCPConnector, web

from tests.servers.kubernetes_pki import KeyPair
from tests.servers.kubernetes_processes import free_port

_REQUEST_HEADERS = ("Authorization", "Content-Type", "Accept", "User-Agent")
_RESPONSE_HEADERS = ("Content-Type", "Audit-Id", "Retry-After", "Warning")


class LeaseStallProxy:
    def __init__(self, upstream: str, *, ca: Path, serving: KeyPair) -> None:
        self.upstream = upstream.rstrip("/")
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self._client_tls = ssl.create_default_context(cafile=str(ca))
        self._server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._server_tls.load_cert_chain(str(serving.cert), str(serving.key))
        self._stalled = threading.Event()
        self.held = 0
        """Lease requests held so far."""
        self.lease_writes: list[tuple[float, str]] = []
        """(Unix time the request was sent, holderIdentity written) of each Lease create or update that
        the API server accepted."""
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, name=f"stall-proxy-{self.port}", daemon=True)
        self._runner: web.AppRunner | None = None

    def start(self) -> LeaseStallProxy:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the stall proxy did not start")
        return self

    def stall(self) -> None:
        self._stalled.set()

    def release(self) -> None:
        self._stalled.clear()

    def close(self) -> None:
        self.release()
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _shutdown(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()  # open watches are cut after shutdown_timeout
        await self._session.close()

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._start())
        self._ready.set()
        self._loop.run_forever()

    async def _start(self) -> None:
        self._session = ClientSession(connector=TCPConnector(ssl=self._client_tls, limit=0),
                                      timeout=ClientTimeout(total=None, sock_connect=10))
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port, ssl_context=self._server_tls).start()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        lease = "/leases" in request.path
        if self._stalled.is_set() and lease:
            self.held += 1
            while self._stalled.is_set():  # the client's timeout cancels this handler
                await asyncio.sleep(0.05)
        body = await request.read()
        sent = time.time()
        headers = {k: request.headers[k] for k in _REQUEST_HEADERS if k in request.headers}
        response = web.StreamResponse()
        try:
            async with self._session.request(request.method, self.upstream + request.path_qs, headers=headers,
                                             data=body or None) as upstream:
                response.set_status(upstream.status)
                if lease and request.method in ("PUT", "POST") and 200 <= upstream.status < 300:
                    holder = ((json.loads(body) if body else {}).get("spec") or {}).get("holderIdentity") or ""
                    self.lease_writes.append((sent, holder))
                response.headers.update({k: upstream.headers[k] for k in _RESPONSE_HEADERS if k in upstream.headers})
                await response.prepare(request)
                async for chunk in upstream.content.iter_any():
                    await response.write(chunk)
                await response.write_eof()
        except (ClientError, ConnectionError):
            pass  # either side hung up mid-stream (a watch the client closed, a shutdown): nothing to relay
        return response
