"""The exporter serves whatever text the callable returns, fresh on every scrape."""

from __future__ import annotations

import urllib.request

from agent.service.exporter import MetricsExporter


def test_exporter_serves_the_callable() -> None:
    calls = []

    def text() -> str:
        calls.append(1)
        return f"up_value {len(calls)}\n"

    with MetricsExporter(text) as exporter:
        for expected in (b"up_value 1\n", b"up_value 2\n"):
            with urllib.request.urlopen(exporter.url + "/metrics", timeout=5) as r:
                assert r.read() == expected
                assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
