"""What the daemon puts between the agent's loop and a cluster: an interruptible backend, a steady state
read from the API when Prometheus is off, and anomaly scores that also land on /metrics.

``InterruptibleBackend`` turns a halt, a lost lease or SIGTERM into ``Interrupted`` at the next wait,
so the experiment's own ``finally`` reverts its fault at once (through the supervised, journalled
hands) instead of sleeping out the experiment window. It also binds the injection id to every log
line while a fault is applied or reverted, and counts the faults it holds for the metrics.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import structlog

from agent.config import Config
from agent.errors import ChaosAgentError
from agent.prometheus.targets import TargetIndex
from agent.service.http import AgentMetrics
from agent.service.logging import injection_context
from envs.anomaly import SnapshotAnomaly
from envs.cluster import (
    AnomalySource,
    ClusterBackend,
    ClusterState,
    Injection,
    SteadyStateSample,
    SteadyStateSource,
)
from envs.faults import Fault
from envs.spec import ClusterSpec, workload_key
from envs.world import World

if TYPE_CHECKING:  # the client module loads prometheus_api_client: only when Prometheus is enabled
    from agent.prometheus.client import PrometheusClient

log = structlog.get_logger(__name__)


class Interrupted(ChaosAgentError):
    """A halt, a lost lease or a stop request cut the game day short; its faults are being reverted."""


class InterruptibleBackend:
    """A ``ClusterBackend`` whose waits end with ``Interrupted`` once ``interrupt`` is set."""

    def __init__(self, inner: ClusterBackend, interrupt: threading.Event, *, metrics: AgentMetrics,
                 on_answer: Callable[[], None] = lambda: None) -> None:
        self.inner = inner
        self.interrupt = interrupt
        self.metrics = metrics
        self._on_answer = on_answer
        self.active: dict[str, Injection] = {}
        self._lock = threading.Lock()

    def snapshot(self) -> ClusterState:
        state = self.inner.snapshot()
        self._on_answer()
        return state

    def now(self) -> float:
        return self.inner.now()

    def wait(self, seconds: float) -> None:
        if self.interrupt.is_set():
            raise Interrupted("stopping: the kill switch, a lost lease or a stop signal")
        self.inner.wait(seconds)  # the Kubernetes backend's wait ends early on the same event
        if self.interrupt.is_set():
            raise Interrupted("stopping: the kill switch, a lost lease or a stop signal")

    def inject(self, fault: Fault, *, injection_id: str) -> Injection:
        with injection_context(injection_id, target=fault.target, family=fault.family):
            if self.interrupt.is_set():
                log.info("injection_refused", reason="the agent is stopping")
                return Injection(injection_id, fault, "refused", "the agent is stopping (halt, lost lease or signal)")
            log.info("injecting", fault=fault.describe())
            injection = self.inner.inject(fault, injection_id=injection_id)
            self._on_answer()
            log.info("injection_outcome", outcome=injection.outcome, detail=injection.detail[:300])
            self.metrics.record_injection(family=fault.family, outcome=injection.outcome)
            if injection.outcome == "applied":
                with self._lock:
                    self.active[injection.id] = injection
                    self.metrics.active_faults.set(len(self.active))
            return injection

    def revert(self, injection: Injection) -> None:
        with injection_context(injection.id, target=injection.fault.target, family=injection.fault.family):
            self.inner.revert(injection)
            self._on_answer()
            log.info("reverted")
            with self._lock:
                self.active.pop(injection.id, None)
                self.metrics.active_faults.set(len(self.active))

    def forget_all(self) -> None:
        """After a recovery from the journal: nothing of ours is active any more."""
        with self._lock:
            self.active.clear()
            self.metrics.active_faults.set(0)


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


class Backoff:
    """Exponential back-off with full jitter: 1 s, 2 s, 4 s ... up to ``max_s``; ``reset`` on success."""

    def __init__(self, max_s: float, *, base_s: float = 1.0) -> None:
        self.max_s, self.base_s = max_s, base_s
        self.failures = 0
        self._rng = random.Random()

    def next_delay(self) -> float:
        ceiling = min(self.max_s, self.base_s * 2 ** self.failures)
        self.failures += 1
        return self._rng.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self.failures = 0


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
