"""End to end: a real Prometheus scrapes the simulator through the exporter, and a fault injected into
the simulator becomes the highest anomaly score, for the faulted target, read back from Prometheus."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

import pytest

from agent.config.prometheus import AnomalySettings
from agent.prometheus.anomaly import AnomalyReport, PrometheusAnomalySource
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
T = TypeVar("T")


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


def _poll(check: Callable[[], T | None], timeout_s: float, what: str) -> T:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = check()
        if found is not None:
            return found
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {timeout_s} s")


def _scrapes(client: PrometheusClient) -> float:
    """How many scrapes of the simulator Prometheus holds from the last minute (0 before the first)."""
    samples = client.instant('min(count_over_time(kube_deployment_spec_replicas{namespace="shop"}[1m]))')
    return samples[0].value if samples else 0.0


def test_injected_fault_is_the_top_anomaly_via_real_scraping(prometheus_factory: PrometheusFactory) -> None:
    spec = small_cluster(startup_s=120.0)  # replacements stay down for the whole test
    live = LiveSimulation(SimulatedCluster(spec, seed=0))
    with MetricsExporter(live.metrics_text) as exporter:
        server = prometheus_factory(scrape_targets=[f"127.0.0.1:{exporter.port}"], scrape_interval_s=1.0)
        client = PrometheusClient(url=server.url, timeout_s=5, retry=RetryPolicy(attempts=2, base_s=0.2))
        settings = AnomalySettings(current_window_s=3, baseline_window_s=10, step_s=1, rate_window_s=3)
        full = settings.baseline_window_s + settings.current_window_s
        _poll(lambda: True if _scrapes(client) >= full else None, 40, "scrapes to fill the anomaly windows")
        assert live.inject(Fault(FaultKind.POD_KILL, 2, TARGET, duration_s=600)) == "applied"
        source = PrometheusAnomalySource(client=client, targets=lambda: TargetIndex.from_spec(spec),
                                         clock=time.time, settings=settings)

        def fault_seen() -> AnomalyReport | None:
            report = source.report()  # the fault shows once its scrapes reach the current window
            own = {s.signal: s.score for s in report.by_target[TARGET]}
            return report if max(own.get("unready_pods", 0.0), own.get("unavailable_replicas", 0.0)) >= 3 else None

        report = _poll(fault_seen, 20, "the killed pods to show in the target's own signals")
    scores = report.combined
    assert max(scores, key=scores.__getitem__) == TARGET, scores
    others = {k: v for k, v in scores.items() if k != TARGET}
    assert max(others.values()) < 3.0, others
    # The series really came through the scrape and the mapping: pods, Deployment and Service signals.
    scored = {s.signal for s in report.by_target[TARGET] if s.score >= 3.0}
    assert scored & {"unready_pods", "unavailable_replicas", "error_ratio"}, report.by_target[TARGET]
