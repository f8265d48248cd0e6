"""Serve a cluster's metrics as a Prometheus scrape target: ``/metrics`` returns ``text()``.

The daemon passes the simulator's ``metrics_text`` so a real Prometheus scrapes the simulated
cluster, and the same anomaly code reads a simulation and a real cluster. ``text`` runs on the
server's thread: pass the ``lock`` the agent loop holds while it drives the simulator, so a scrape
never reads a half-applied event.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from agent.service.server import BackgroundHTTPServer, Reply

EXPOSITION = "text/plain; version=0.0.4; charset=utf-8"


class MetricsExporter(BackgroundHTTPServer):
    def __init__(self, text: Callable[[], str], *, host: str = "127.0.0.1", port: int = 0,
                 lock: threading.Lock | threading.RLock | None = None) -> None:
        guard = lock if lock is not None else threading.Lock()

        def scrape() -> Reply:
            with guard:
                body = text()
            return Reply(200, body.encode("utf-8"), EXPOSITION)

        super().__init__(host=host, port=port, name="metrics-exporter", routes={"/metrics": scrape})
