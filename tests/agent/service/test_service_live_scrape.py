"""End to end: a real Prometheus scrapes the simulator through the exporter, and a fault injected into
the simulator becomes the highest anomaly score, for the faulted target, read back from Prometheus."""

from __future__ import annotations

import threading
import time

import pytest

from agent.config.prometheus import AnomalySettings
from agent.prometheus.anomaly import PrometheusAnomalySource
from agent.prometheus.client import PrometheusClient
from agent.prometheus.retry import RetryPolicy
from agent.prometheus.targets import TargetIndex
from agent.service.exporter import MetricsExporter
from envs.faults import Fault, FaultKind
from envs.sim import SimulatedCluster
from tests.agent.prometheus.topology import small_cluster
from tests.servers.prometheus import PrometheusFactory

pytestmark = pytest.mark.servers

TARGET = "shop/Deployment/web-api"


class LiveSimulation:
    """The simulator run in step with the wall clock, shared by the exporter thread and the test."""

    def __init__(self, sim: SimulatedCluster) -> None:
        self.sim = sim
        self._lock = threading.Lock()
        self._last = time.monotonic()

    def _catch_up(self) -> None:
        now = time.monotonic()
        self.sim.wait(now - self._last)
        self._last = now

    def metrics_text(self) -> str:
        with self._lock:
            self._catch_up()
            return self.sim.metrics_text()

    def inject(self, fault: Fault) -> str:
        with self._lock:
            self._catch_up()
            return self.sim.inject(fault, injection_id="live-1").outcome


def _wait_for_series(client: PrometheusClient, query: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if client.instant(query):
            return
        time.sleep(0.5)
    raise AssertionError(f"no series for {query} after {timeout_s} s: the scrape did not happen")


def test_injected_fault_is_the_top_anomaly_via_real_scraping(prometheus_factory: PrometheusFactory) -> None:
    spec = small_cluster(startup_s=120.0)  # replacements stay down for the whole test
    live = LiveSimulation(SimulatedCluster(spec, seed=0))
    with MetricsExporter(live.metrics_text) as exporter:
        server = prometheus_factory(scrape_targets=[f"127.0.0.1:{exporter.port}"], scrape_interval_s=1.0)
        client = PrometheusClient(url=server.url, timeout_s=5, retry=RetryPolicy(attempts=2, base_s=0.2))
        _wait_for_series(client, 'kube_pod_status_ready{namespace="shop"}', timeout_s=20)
        time.sleep(6)  # a baseline of six scrapes
        assert live.inject(Fault(FaultKind.POD_KILL, 2, TARGET, duration_s=600)) == "applied"
        time.sleep(3)
        source = PrometheusAnomalySource(
            client=client, targets=lambda: TargetIndex.from_spec(spec), clock=time.time,
            settings=AnomalySettings(current_window_s=3, baseline_window_s=10, step_s=1, rate_window_s=3),
        )
        report = source.report()
    scores = report.combined
    top = max(scores, key=scores.__getitem__)
    assert top == TARGET, scores
    assert scores[TARGET] >= 3.0, report.by_target[TARGET]
    others = {k: v for k, v in scores.items() if k != TARGET}
    assert max(others.values()) < 3.0, others
    # The series really came through the scrape and the mapping: pods, Deployment and Service signals.
    scored = {s.signal for s in report.by_target[TARGET] if s.score >= 3.0}
    assert scored & {"unready_pods", "unavailable_replicas", "error_ratio"}, report.by_target[TARGET]
