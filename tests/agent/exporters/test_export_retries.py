"""Retries, Retry-After, timeouts and the queue's back-off, through the webhook exporter on a local server."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from agent.config.exporters import ExportersSettings, WebhookExport
from agent.errors import ExportError
from agent.exporters import ExportQueue, JsonHttp, RetryPolicy, TransientExportError, build_exporters
from agent.findings import FindingStore, findings_from_result
from tests.agent.findings.sample_results import result

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class Script:
    """Answers requests with a list of statuses in turn (the last one repeats) and keeps what it got."""

    def __init__(self, *answers: tuple[int, dict[str, str]]) -> None:
        self.answers, self.got = list(answers), []

    def __call__(self, request: Request) -> Response:
        self.got.append(request)
        status, headers = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return Response("{}", status, headers=headers, content_type="application/json")


def _webhook(httpserver: HTTPServer, sleeps: list[float], **kw: object) -> ExportersSettings:
    return ExportersSettings(
        webhook=WebhookExport(url=httpserver.url_for("/hook"), secret_env="HOOK_KEY"), backoff_s=0.5, **kw
    )  # type: ignore[arg-type]


def _queue(store: FindingStore, settings: ExportersSettings, sleeps: list[float]) -> ExportQueue:
    exporters = build_exporters(
        settings, environ={"HOOK_KEY": "k3y-for-hmac"}, sleep=sleeps.append, rng=random.Random(7)
    )
    return ExportQueue(store, exporters, backoff_s=60.0, max_attempts=3, rng=random.Random(7))


def test_5xx_is_retried_with_growing_jittered_waits(httpserver: HTTPServer, tmp_path: Path) -> None:
    script = Script((503, {}), (502, {}), (200, {}))
    httpserver.expect_request("/hook", method="POST").respond_with_handler(script)
    sleeps: list[float] = []
    with FindingStore(tmp_path / "f.sqlite") as store:
        queue = _queue(store, _webhook(httpserver, sleeps), sleeps)
        queue.record(findings_from_result(result(), injection_index=0, seen_at=T0), T0)
        assert queue.drain_queue(T0).sent == 1
    assert len(script.got) == 3 and len(sleeps) == 2
    assert 0 <= sleeps[0] <= 0.5 and 0 <= sleeps[1] <= 1.0  # full jitter under 0.5 * 2**attempt


def test_retry_after_is_honoured(httpserver: HTTPServer, tmp_path: Path) -> None:
    script = Script((429, {"Retry-After": "2"}), (200, {}))
    httpserver.expect_request("/hook", method="POST").respond_with_handler(script)
    sleeps: list[float] = []
    with FindingStore(tmp_path / "f.sqlite") as store:
        queue = _queue(store, _webhook(httpserver, sleeps), sleeps)
        queue.record(findings_from_result(result(), injection_index=0, seen_at=T0), T0)
        assert queue.drain_queue(T0).sent == 1
    assert sleeps == [2.0]


def test_long_retry_after_moves_the_export_to_a_later_drain(httpserver: HTTPServer, tmp_path: Path) -> None:
    script = Script((503, {"Retry-After": "7200"}), (200, {}))
    httpserver.expect_request("/hook", method="POST").respond_with_handler(script)
    sleeps: list[float] = []
    with FindingStore(tmp_path / "f.sqlite") as store:
        queue = _queue(store, _webhook(httpserver, sleeps), sleeps)
        [(f, _)] = queue.record(findings_from_result(result(), injection_index=0, seen_at=T0), T0)
        assert queue.drain_queue(T0).failed == 1
        [entry] = store.queue(f.signature)
        assert sleeps == [] and entry.next_attempt_at is not None
        assert entry.next_attempt_at >= T0 + timedelta(seconds=7200)
        assert queue.drain_queue(T0 + timedelta(seconds=3600)).sent == 0
        assert queue.drain_queue(entry.next_attempt_at).sent == 1
    assert len(script.got) == 2


def test_timeouts_are_transient_and_the_queue_parks_after_max_attempts(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    def slow(request: Request) -> Response:
        time.sleep(0.5)
        return Response("{}", 200)

    httpserver.expect_request("/hook", method="POST").respond_with_handler(slow)
    sleeps: list[float] = []
    settings = _webhook(httpserver, sleeps, timeout_s=0.1, retries=0)
    with FindingStore(tmp_path / "f.sqlite") as store:
        queue = _queue(store, settings, sleeps)
        [(f, _)] = queue.record(findings_from_result(result(), injection_index=0, seen_at=T0), T0)
        now = T0
        for attempt in (1, 2):
            assert queue.drain_queue(now).failed == 1
            [entry] = store.queue(f.signature)
            assert entry.attempts == attempt and "timed out" in entry.last_error
            assert entry.next_attempt_at is not None
            delay = (entry.next_attempt_at - now).total_seconds()
            assert 30 * 2 ** (attempt - 1) <= delay <= 60 * 2 ** (attempt - 1)  # jittered, doubling
            now = entry.next_attempt_at
        assert queue.drain_queue(now).parked == 1
        [entry] = store.queue(f.signature)
        assert entry.status == "failed" and entry.next_attempt_at is None
        assert queue.drain_queue(now + timedelta(days=30)).sent == 0


def test_client_errors_are_not_retried_in_place(httpserver: HTTPServer) -> None:
    script = Script((400, {}))
    httpserver.expect_request("/x", method="POST").respond_with_handler(script)
    http = JsonHttp("svc", httpserver.url_for(""), policy=RetryPolicy(retries=3), sleep=lambda s: None)
    with pytest.raises(ExportError, match="answered 400") as info:
        http.request("POST", "/x", {"a": 1})
    assert not isinstance(info.value, TransientExportError) and len(script.got) == 1


def test_webhook_body_is_signed_with_hmac_sha256(httpserver: HTTPServer, tmp_path: Path) -> None:
    script = Script((204, {}))
    httpserver.expect_request("/hook", method="POST").respond_with_handler(script)
    sleeps: list[float] = []
    with FindingStore(tmp_path / "f.sqlite") as store:
        queue = _queue(store, _webhook(httpserver, sleeps), sleeps)
        queue.record(findings_from_result(result(), injection_index=0, seen_at=T0), T0)
        queue.drain_queue(T0)
        queue.record(findings_from_result(result(), injection_index=1, seen_at=T0), T0)
        queue.drain_queue(T0)
    first, second = script.got
    for req in (first, second):
        expected = "sha256=" + hmac.new(b"k3y-for-hmac", req.get_data(), hashlib.sha256).hexdigest()
        assert hmac.compare_digest(req.headers["X-Chaos-Agent-Signature"], expected)
    assert json.loads(first.get_data())["event"] == "finding.created"
    assert json.loads(second.get_data())["event"] == "finding.recurred"
    assert json.loads(second.get_data())["finding"]["reproductions"] == 2
    assert first.headers["Idempotency-Key"] != second.headers["Idempotency-Key"]
