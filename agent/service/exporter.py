"""Serve a cluster's metrics as a Prometheus scrape target: ``/metrics`` returns ``text()``.

The daemon passes the simulator's ``metrics_text`` so a real Prometheus scrapes the simulated
cluster, and the same anomaly code reads a simulation and a real cluster.
"""

from __future__ import annotations

from collections.abc import Callable

from agent.service.server import BackgroundHTTPServer, Reply

EXPOSITION = "text/plain; version=0.0.4; charset=utf-8"


class MetricsExporter(BackgroundHTTPServer):
    def __init__(self, text: Callable[[], str], *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host=host, port=port, name="metrics-exporter",
                         routes={"/metrics": lambda: Reply(200, text().encode("utf-8"), EXPOSITION)})
