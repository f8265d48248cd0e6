"""The queue built from [exporters] uses its settings: ``queue_backoff_s`` and ``queue_max_attempts``."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from pytest_httpserver import HTTPServer

from agent.config.exporters import ExportersSettings, WebhookExport
from agent.exporters import ExportQueue
from agent.findings import FindingStore, findings_from_result
from tests.agent.findings.sample_results import result

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_queue_backoff_and_max_attempts_come_from_the_settings(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("busy", status=503)
    settings = ExportersSettings(webhook=WebhookExport(url=httpserver.url_for("/hook")), retries=0,
                                 queue_backoff_s=7.0, queue_max_attempts=3)
    with FindingStore(tmp_path / "f.sqlite") as store:
        queue = ExportQueue.from_settings(store, settings, environ={})
        assert (queue.backoff_s, queue.max_attempts) == (7.0, 3)
        [(finding, _)] = queue.record(findings_from_result(result(), injection_index=0, seen_at=T0), T0)
        now = T0
        for attempt in (1, 2):
            assert queue.drain_queue(now).failed == 1
            [entry] = store.queue(finding.signature)
            assert entry.next_attempt_at is not None
            delay = (entry.next_attempt_at - now).total_seconds()
            assert 3.5 * 2 ** (attempt - 1) <= delay <= 7.0 * 2 ** (attempt - 1), delay  # jittered, doubling
            now = entry.next_attempt_at
        assert queue.drain_queue(now).parked == 1  # the third failure: parked until the finding recurs
        [entry] = store.queue(finding.signature)
        assert entry.status == "failed" and entry.next_attempt_at is None and entry.attempts == 3
