"""The client fails closed: garbage, errors, timeouts, a dead server and a wrong port all raise
PrometheusUnavailable; a valid answer becomes records and marks the client as recently answered."""

from __future__ import annotations

import json
import threading
import time

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from agent.config.prometheus import AnomalySettings, PromQLCheck
from agent.errors import ChaosAgentError
from agent.prometheus.anomaly import PrometheusAnomalySource
from agent.prometheus.checks import SteadyStateChecks
from agent.prometheus.client import PrometheusClient, Sample
from agent.prometheus.errors import PrometheusQueryError, PrometheusUnavailable
from agent.prometheus.retry import RetryPolicy
from agent.prometheus.targets import TargetIndex
from tests.agent.prometheus.topology import small_cluster
from tests.servers.prometheus import PrometheusFactory, free_port
from tests.servers.prometheus import Sample as HistoryPoint

ONE_TRY = RetryPolicy(attempts=1)


def _client(url: str, *, timeout_s: float = 2.0, retry: RetryPolicy = ONE_TRY) -> PrometheusClient:
    return PrometheusClient(url=url, timeout_s=timeout_s, retry=retry, sleep=lambda _s: None)


def _vector(*items: object) -> dict[str, object]:
    return {"status": "success", "data": {"resultType": "vector", "result": list(items)}}


GARBAGE = [
    pytest.param("<html>502 Bad Gateway</html>", "text/html", "not a query result", id="html"),
    pytest.param("[1, 2, 3]", "application/json", "not a query result", id="json-list"),
    pytest.param(json.dumps({"status": "success"}), "application/json", "not a query result", id="no-data"),
    pytest.param(json.dumps({"data": {"result": {"a": 1}}}), "application/json", "not a list", id="dict"),
    pytest.param(json.dumps(_vector({"metric": {}, "value": [1, "NaN"]})), "application/json", "NaN",
                 id="nan"),
    pytest.param(json.dumps(_vector({"metric": {}, "value": [1, "abc"]})), "application/json",
                 "not a number", id="word"),
    pytest.param(json.dumps(_vector({"metric": {"a": 1}, "value": [1, "1"]})), "application/json",
                 "string map", id="int-label"),
    pytest.param(json.dumps(_vector({"metric": {}})), "application/json", "without metric and value",
                 id="no-value"),
    pytest.param(json.dumps(_vector({"metric": {}, "value": [1, 2.0]})), "application/json",
                 r"not \[time", id="unquoted-value"),
]


@pytest.mark.parametrize(("body", "content_type", "message"), GARBAGE)
def test_garbage_answers_are_unavailable(httpserver: HTTPServer, body: str, content_type: str,
                                         message: str) -> None:
    httpserver.expect_request("/api/v1/query").respond_with_data(body, content_type=content_type)
    with pytest.raises(PrometheusUnavailable, match=message) as caught:
        _client(httpserver.url_for("")).instant("up")
    assert isinstance(caught.value, ChaosAgentError)
    assert caught.value.__cause__ is not None or "Prometheus answered" in str(caught.value)


def test_range_garbage_is_unavailable(httpserver: HTTPServer) -> None:
    body = {"status": "success", "data": {"resultType": "matrix", "result": [{"metric": {}, "values": 3}]}}
    httpserver.expect_request("/api/v1/query_range").respond_with_json(body)
    with pytest.raises(PrometheusUnavailable, match="without metric and values"):
        _client(httpserver.url_for("")).range("up", start=0, end=60, step_s=15)


def test_server_error_is_unavailable_and_bad_query_is_a_query_error(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/v1/query", query_string={"query": "up"}).respond_with_data(
        "overloaded", status=503)
    httpserver.expect_request("/api/v1/query", query_string={"query": "sum("}).respond_with_json(
        {"status": "error", "errorType": "bad_data", "error": "parse error"}, status=400)
    client = _client(httpserver.url_for(""))
    with pytest.raises(PrometheusUnavailable, match="503") as unavailable:
        client.instant("up")
    assert not isinstance(unavailable.value, PrometheusQueryError)
    with pytest.raises(PrometheusQueryError, match="rejected query 'sum\\('"):
        client.instant("sum(")
    assert client.last_ok_at() is None


def test_timeout_is_unavailable(httpserver: HTTPServer) -> None:
    release = threading.Event()

    def held(_request: Request) -> Response:
        release.wait(30)  # a client that ignored its timeout would get this answer, and not raise
        return Response(json.dumps(_vector()), content_type="application/json")

    httpserver.expect_request("/api/v1/query").respond_with_handler(held)
    try:
        with pytest.raises(PrometheusUnavailable, match=r"did not answer within 0\.2 s"):
            _client(httpserver.url_for(""), timeout_s=0.2).instant("up")
    finally:
        release.set()


def test_wrong_port_is_unavailable() -> None:
    with pytest.raises(PrometheusUnavailable, match="cannot be reached"):
        _client(f"http://127.0.0.1:{free_port()}").instant("up")


def test_retries_with_backoff_then_succeeds(httpserver: HTTPServer) -> None:
    httpserver.expect_ordered_request("/api/v1/query").respond_with_data("garbage")
    httpserver.expect_ordered_request("/api/v1/query").respond_with_data("down", status=502)
    httpserver.expect_ordered_request("/api/v1/query").respond_with_json(
        _vector({"metric": {"job": "x"}, "value": [1, "+Inf"]}))
    waits: list[float] = []
    client = PrometheusClient(url=httpserver.url_for(""), timeout_s=2, sleep=waits.append,
                              retry=RetryPolicy(attempts=3, base_s=0.5, max_s=5))
    assert client.instant("up") == (Sample({"job": "x"}, float("inf")),)
    assert len(waits) == 2 and 0 <= waits[0] <= 0.5 and 0 <= waits[1] <= 1.0
    assert client.last_ok_at() is not None


def test_query_error_is_not_retried(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/v1/query").respond_with_json({"status": "error"}, status=422)
    waits: list[float] = []
    client = PrometheusClient(url=httpserver.url_for(""), timeout_s=2, sleep=waits.append,
                              retry=RetryPolicy(attempts=3))
    with pytest.raises(PrometheusQueryError):
        client.instant("up")
    assert waits == [] and len(httpserver.log) == 1


def test_scalar_answer(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/v1/query").respond_with_json(
        {"status": "success", "data": {"resultType": "scalar", "result": [1, "0.5"]}})
    assert _client(httpserver.url_for("")).instant("scalar(up)") == (Sample({}, 0.5),)


@pytest.mark.servers
@pytest.mark.parametrize("how", ["stop", "kill"])
def test_real_prometheus_going_away_is_unavailable(prometheus_factory: PrometheusFactory, how: str) -> None:
    now = time.time()
    server = prometheus_factory(history=[HistoryPoint("up_value", {"job": "a"}, 1.0, now - 30)])
    client = _client(server.url)
    assert client.instant("up_value", at=now - 30) == (Sample({"__name__": "up_value", "job": "a"}, 1.0),)
    assert client.last_ok_at() is not None
    with pytest.raises(PrometheusQueryError, match="parse error"):
        client.instant("sum(")  # the real server's 400 for bad PromQL
    if how == "stop":
        server.stop()
    else:
        server.kill()
    with pytest.raises(PrometheusUnavailable, match="cannot be reached"):
        client.instant("up_value")


def test_anomaly_source_and_checks_fail_closed_without_prometheus() -> None:
    client = _client(f"http://127.0.0.1:{free_port()}")
    source = PrometheusAnomalySource(client=client, targets=lambda: TargetIndex.from_spec(small_cluster()),
                                     settings=AnomalySettings())
    with pytest.raises(PrometheusUnavailable):
        source.scores()
    checks = SteadyStateChecks(client=client, hypotheses=[], stop_conditions=[
        PromQLCheck(name="x", query="up", comparison="<", threshold=1)])
    with pytest.raises(PrometheusUnavailable):
        checks.stop_requested()
