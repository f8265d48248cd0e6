"""/healthz, /readyz and /metrics over real HTTP on 127.0.0.1, and a bounded shutdown."""

from __future__ import annotations

import contextlib
import json
import threading
import urllib.error
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from agent.daemon.readiness import Readiness
from agent.service.http import AgentMetrics, ServiceEndpoints
from agent.service.server import BackgroundHTTPServer, Reply


def _get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.headers["Content-Type"], r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers["Content-Type"], e.read().decode()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def state() -> dict[str, object]:
    return {"backend": None, "prometheus": None, "halted": False}


@pytest.fixture
def endpoints(state: dict[str, object]) -> tuple[ServiceEndpoints, Clock]:
    clock = Clock()
    readiness = Readiness(backend_ok_at=lambda: state["backend"],  # type: ignore[arg-type,return-value]
                          prometheus_ok_at=lambda: state["prometheus"],  # type: ignore[arg-type,return-value]
                          halt_reason=lambda: "test" if state["halted"] else None, max_age_s=30, clock=clock)
    server = ServiceEndpoints(metrics=AgentMetrics(), readiness=readiness, host="127.0.0.1", port=0)
    server.start()
    yield server, clock  # type: ignore[misc]
    assert server.stop(timeout_s=2)


def test_healthz(endpoints: tuple[ServiceEndpoints, Clock]) -> None:
    server, _ = endpoints
    assert _get(server.url + "/healthz")[0] == 200
    assert _get(server.url + "/nope")[0] == 404


def test_readyz_follows_dependencies_and_halt(endpoints: tuple[ServiceEndpoints, Clock],
                                              state: dict[str, object]) -> None:
    server, clock = endpoints
    status, content_type, body = _get(server.url + "/readyz")
    assert status == 503 and content_type == "application/json"
    assert json.loads(body)["problems"] == ["cluster backend has not answered yet",
                                            "prometheus has not answered yet"]
    state["backend"] = state["prometheus"] = 995.0
    assert _get(server.url + "/readyz")[0] == 200
    clock.now = 1040.0
    status, _, body = _get(server.url + "/readyz")
    assert status == 503 and "prometheus last answered 45 s ago (limit 30 s)" in json.loads(body)["problems"]
    state["backend"] = state["prometheus"] = 1039.0
    state["halted"] = True
    status, _, body = _get(server.url + "/readyz")
    assert status == 503 and json.loads(body)["problems"][0].startswith("agent is halted")


def test_readiness_without_prometheus() -> None:
    readiness = Readiness(backend_ok_at=lambda: 10.0, prometheus_ok_at=None, halt_reason=lambda: None,
                          clock=lambda: 20.0)
    assert readiness.problems() == ()


def test_metrics_exposition(endpoints: tuple[ServiceEndpoints, Clock]) -> None:
    server, _ = endpoints
    m = server.metrics
    m.record_injection(family="pods", outcome="applied")
    m.record_injection(family="pods", outcome="applied")
    m.record_injection(family="network", outcome="refused")
    m.record_finding(violation="availability")
    m.active_faults.set(2)
    m.decision_seconds.observe(0.02)
    m.set_anomaly_scores({"shop/Deployment/web": 4.5, "Node/a": 0.1})
    m.set_anomaly_scores({"shop/Deployment/web": 1.5})
    status, content_type, body = _get(server.url + "/metrics")
    assert status == 200 and content_type.startswith("text/plain")
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(body) for s in family.samples}
    assert samples[("chaos_agent_injections_total", (("family", "pods"), ("outcome", "applied")))] == 2
    assert samples[("chaos_agent_injections_total", (("family", "network"), ("outcome", "refused")))] == 1
    assert samples[("chaos_agent_findings_total", (("violation", "availability"),))] == 1
    assert samples[("chaos_agent_active_faults", ())] == 2
    assert samples[("chaos_agent_decision_seconds_count", ())] == 1
    assert samples[("chaos_agent_anomaly_score", (("target", "shop/Deployment/web"),))] == 1.5
    assert ("chaos_agent_anomaly_score", (("target", "Node/a"),)) not in samples  # vanished, not stale


def test_a_failing_route_answers_500_and_the_server_keeps_serving() -> None:
    def broken() -> Reply:
        raise RuntimeError("boom")

    with BackgroundHTTPServer(host="127.0.0.1", port=0, name="t",
                              routes={"/broken": broken, "/ok": lambda: Reply(200, b"ok")}) as server:
        assert _get(server.url + "/broken")[0] == 500
        assert _get(server.url + "/ok")[0] == 200


def test_stop_returns_even_with_a_hung_handler() -> None:
    entered, release = threading.Event(), threading.Event()

    def hang() -> Reply:
        entered.set()
        release.wait(60)
        return Reply(200, b"late")

    server = BackgroundHTTPServer(host="127.0.0.1", port=0, name="t", routes={"/hang": hang})
    server.start()
    client = threading.Thread(target=lambda: _get_quietly(server.url + "/hang"), daemon=True)
    client.start()
    assert entered.wait(10), "the request never reached its handler"
    stopped: list[bool] = []
    stopper = threading.Thread(target=lambda: stopped.append(server.stop(timeout_s=1.0)), daemon=True)
    stopper.start()
    stopper.join(30)  # a stop that waited for the handler would still be waiting (it is held for 60 s)
    assert stopped == [True] and not release.is_set()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(server.url + "/hang", timeout=1)
    release.set()


def _get_quietly(url: str) -> None:
    # The server goes away under the request: what the test provokes.
    with contextlib.suppress(urllib.error.URLError, ConnectionError, TimeoutError):
        urllib.request.urlopen(url, timeout=5).read()
