"""What the daemon observes of the cluster it experiments on: a fresh snapshot's topology, the steady
state (from Prometheus, the simulator's own signals, or the API's readiness when neither is there) and
anomaly scores, which also land on /metrics.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from agent.config import Config
from agent.daemon.hands import InterruptibleBackend
from agent.prometheus.targets import TargetIndex
from agent.service.http import AgentMetrics
from envs.anomaly import SnapshotAnomaly
from envs.cluster import AnomalySource, ClusterBackend, SteadyStateSample, SteadyStateSource
from envs.cluster_under_test import World
from envs.spec import ClusterSpec, workload_key

if TYPE_CHECKING:  # the client module loads prometheus_api_client: only when Prometheus is enabled
    from agent.prometheus.client import PrometheusClient


class ReadinessSteadyState:
    """The steady state as the API server shows it, for a cluster without Prometheus.

    An entry-point Service is available (1.0) while some workload behind it has a ready pod, else 0.0:
    what a client sees when every endpoint is gone. Latency, training, data and drift are not observed
    without metrics, so findings are limited to outages; docs/operator-guide.md says so.
    """

    def __init__(self, backend: ClusterBackend, spec: ClusterSpec) -> None:
        self.backend = backend
        self.spec = spec
        self._index = TargetIndex.from_spec(spec)

    def sample(self) -> SteadyStateSample:
        state = self.backend.snapshot()
        availability: dict[str, float] = {}
        for service in self.spec.services:
            if not service.entrypoint:
                continue
            behind = self._index.workloads_of_service(service.namespace, service.name)
            if not behind:
                continue
            ready = sum(state.workloads[k].ready for k in behind if k in state.workloads)
            availability[workload_key(service.namespace, "Service", service.name)] = 1.0 if ready > 0 else 0.0
        return SteadyStateSample(time_s=state.time_s, availability=availability)


class MeteredAnomaly:
    """An ``AnomalySource`` whose latest scores are also exported as ``chaos_agent_anomaly_score``."""

    def __init__(self, inner: AnomalySource, metrics: AgentMetrics) -> None:
        self.inner = inner
        self.metrics = metrics

    def scores(self) -> Mapping[str, float]:
        scores = self.inner.scores()
        self.metrics.set_anomaly_scores(scores)
        return scores


def build_world(hands: InterruptibleBackend, *, config: Config, prometheus: PrometheusClient | None,
                metrics: AgentMetrics, simulated_steady: SteadyStateSource | None = None) -> World:
    """A fresh snapshot's topology with the steady state and anomaly sources the configuration asks for:
    Prometheus when enabled, else the simulator's own signals, else the API's readiness."""
    spec = hands.snapshot().spec
    steady: SteadyStateSource
    anomaly: AnomalySource
    if prometheus is not None:
        from agent.prometheus.anomaly import PrometheusAnomalySource
        from agent.prometheus.steady_state import PrometheusSteadyState

        steady = PrometheusSteadyState(client=prometheus, spec=lambda: spec,
                                       rate_window_s=config.prometheus.anomaly.rate_window_s,
                                       drift_threshold=config.prometheus.drift_threshold)
        index = TargetIndex.from_spec(spec)
        anomaly = PrometheusAnomalySource(client=prometheus, targets=lambda: index,
                                          settings=config.prometheus.anomaly)
    else:
        steady = simulated_steady if simulated_steady is not None else ReadinessSteadyState(hands, spec)
        anomaly = SnapshotAnomaly(hands)
    return World(spec=spec, backend=hands, steady=steady, anomaly=MeteredAnomaly(anomaly, metrics))
