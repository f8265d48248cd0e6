"""Anomaly scores, steady-state checks and the steady-state sample against a real, backfilled Prometheus."""

from __future__ import annotations

import time

import pytest

from agent.config.prometheus import AnomalySettings, PromQLCheck
from agent.prometheus.anomaly import PrometheusAnomalySource
from agent.prometheus.checks import SteadyStateChecks
from agent.prometheus.client import PrometheusClient
from agent.prometheus.retry import RetryPolicy
from agent.prometheus.steady_state import PrometheusSteadyState
from agent.prometheus.targets import TargetIndex
from envs.spec import ClusterSpec
from tests.agent.prometheus.history import cluster_history
from tests.servers.prometheus import PrometheusFactory, PrometheusServer

pytestmark = pytest.mark.servers

T_END = float(int(time.time()) // 60 * 60 - 60)
"""End of the history: a minute-aligned time a minute ago, inside the default 15-day retention."""

WEB_API_ERRORS = (
    'sum(rate(http_requests_total{namespace="$namespace",service="$name",code=~"5.."}[1m])) / '
    'sum(rate(http_requests_total{namespace="$namespace",service="$name"}[1m]))'
)


@pytest.fixture
def server(prometheus_factory: PrometheusFactory) -> PrometheusServer:
    return prometheus_factory(history=cluster_history(T_END))


def _client(server: PrometheusServer) -> PrometheusClient:
    return PrometheusClient(url=server.url, timeout_s=5.0, retry=RetryPolicy(attempts=1))


def test_fault_target_has_the_highest_anomaly_score(server: PrometheusServer, cluster: ClusterSpec) -> None:
    index = TargetIndex.from_spec(cluster)
    source = PrometheusAnomalySource(
        client=_client(server), targets=lambda: index, clock=lambda: T_END,
        settings=AnomalySettings(current_window_s=120, baseline_window_s=1800, step_s=15, rate_window_s=60),
    )
    report = source.report()
    scores = report.combined
    assert set(scores) == set(index.target_keys())
    ranked = sorted(scores, key=scores.__getitem__, reverse=True)
    assert ranked[0] == "shop/Deployment/web-api", scores
    assert scores["shop/Deployment/web-api"] >= 3.0
    assert all(score < 3.0 for key, score in scores.items() if key != "shop/Deployment/web-api"), scores
    signals = {s.signal for s in report.by_target["shop/Deployment/web-api"] if s.score >= 3.0}
    assert {"unready_pods", "unavailable_replicas", "error_ratio"} <= signals
    # Every signal with history was scored for the targets it covers: the mapping is exercised.
    assert {s.signal for s in report.by_target["ml/Deployment/ranker"]} >= {"model_accuracy", "cpu"}
    assert {s.signal for s in report.by_target["Node/gpu-1"]} >= {"node_not_ready", "gpu_xid_errors"}
    assert {s.signal for s in report.by_target["ml/Job/train"]} >= {"training_progress_lost"}


def test_before_the_fault_no_target_is_anomalous(server: PrometheusServer, cluster: ClusterSpec) -> None:
    source = PrometheusAnomalySource(
        client=_client(server), targets=lambda: TargetIndex.from_spec(cluster), clock=lambda: T_END - 300,
        settings=AnomalySettings(current_window_s=120, baseline_window_s=1500, step_s=15, rate_window_s=60),
    )
    scores = source.scores()
    assert max(scores.values()) < 3.0, scores


def test_weight_zero_disables_a_signal(server: PrometheusServer, cluster: ClusterSpec) -> None:
    weights = {"unready_pods": 0.0, "unavailable_replicas": 0.0, "error_ratio": 0.0, "restarts": 0.0}
    source = PrometheusAnomalySource(
        client=_client(server), targets=lambda: TargetIndex.from_spec(cluster), clock=lambda: T_END,
        settings=AnomalySettings(current_window_s=120, baseline_window_s=1800, weights=weights),
    )
    assert source.scores()["shop/Deployment/web-api"] < 3.0


def _checks(server: PrometheusServer, at: float) -> SteadyStateChecks:
    hypotheses = [
        PromQLCheck(name="target-errors", query=WEB_API_ERRORS, comparison="<", threshold=0.01),
        PromQLCheck(name="node-ready", comparison=">=", threshold=1, query=(
            'kube_node_status_condition{node="$node",condition="Ready",status="true"}')),
        PromQLCheck(name="absent-metric", query="no_such_metric_anywhere", comparison="<", threshold=1,
                    phases=("before",)),
    ]
    stops = [PromQLCheck(name="drift", query="max(feature_drift_score)", comparison=">", threshold=5)]
    return SteadyStateChecks(client=_client(server), hypotheses=hypotheses, stop_conditions=stops,
                             clock=lambda: at)


def test_hypothesis_for_the_target_fails_during_the_fault(server: PrometheusServer) -> None:
    report = _checks(server, T_END).check("during", target="shop/Deployment/web-api")
    by_name = {r.name: r for r in report.results}
    errors = by_name["target-errors"]
    assert not errors.ok and errors.value is not None and errors.value > 0.1
    assert 'service="web-api"' in errors.query and "$" not in errors.query
    assert by_name["drift"].ok and by_name["drift"].kind == "stop_condition"
    assert report.skipped == ("node-ready",)  # $node does not apply to a workload
    assert "absent-metric" not in by_name  # configured for "before" only
    assert [r.name for r in report.failed_hypotheses] == ["target-errors"]
    assert not report.fired_stop_conditions
    watch = _checks(server, T_END).stop_requested(target="shop/Deployment/web-api")
    assert [(r.name, r.kind, r.phase) for r in watch.results] == [("drift", "stop_condition", "during")]


def test_hypotheses_hold_before_the_fault_and_no_data_fails_closed(server: PrometheusServer) -> None:
    report = _checks(server, T_END - 600).check("before", target="shop/Deployment/web-api")
    by_name = {r.name: r for r in report.results}
    assert by_name["target-errors"].ok
    assert by_name["target-errors"].value is not None and by_name["target-errors"].value < 0.01
    assert not by_name["absent-metric"].ok and by_name["absent-metric"].value is None
    node = _checks(server, T_END).check("during", target="Node/gpu-1")
    assert {r.name: r.ok for r in node.results}["node-ready"] is True
    assert "target-errors" in node.skipped


def test_stop_condition_fires(server: PrometheusServer) -> None:
    stop = PromQLCheck(name="errors", query=WEB_API_ERRORS.replace("$namespace", "shop").replace(
        "$name", "web-api"), comparison=">", threshold=0.05)
    checks = SteadyStateChecks(client=_client(server), hypotheses=[], stop_conditions=[stop],
                               clock=lambda: T_END)
    report = checks.stop_requested()
    assert [r.name for r in report.fired_stop_conditions] == ["errors"]
    assert not report.ok


def test_steady_state_sample(server: PrometheusServer, cluster: ClusterSpec) -> None:
    during = PrometheusSteadyState(client=_client(server), spec=lambda: cluster, rate_window_s=60,
                                   drift_threshold=1.0, clock=lambda: T_END).sample()
    assert during.time_s == T_END
    assert during.availability["shop/Service/web"] > 0.99
    assert 0.6 < during.availability["shop/Service/web-api"] < 0.85
    assert 100 < during.latency_p99_ms["shop/Service/web"] < 500  # p99 inside the 0.1-0.5 s bucket
    assert during.training_progress_lost_s == {"ml/Job/train": 600.0}
    assert during.accuracy["ml/Deployment/ranker"] == pytest.approx(0.92, abs=0.01)
    assert during.drift_detected == {"ml/Deployment/features": False}
    before = PrometheusSteadyState(client=_client(server), spec=lambda: cluster, rate_window_s=60,
                                   drift_threshold=0.1, clock=lambda: T_END - 600).sample()
    assert before.availability["shop/Service/web-api"] > 0.99
    assert before.drift_detected == {"ml/Deployment/features": True}
