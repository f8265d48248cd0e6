"""``envs.cluster.SteadyStateSource`` from Prometheus: the simulator's steady-state signals, measured.

availability = 1 - share of 5xx answers per entry-point Service; latency p99 from the request-duration
histogram; training progress lost (cumulative seconds) per Job; accuracy per model; drift detected per
pipeline (``feature_drift_score`` above a threshold). Data loss and bad-row shares have no standard
exporter metric and stay empty. Instant queries at the clock's time; a silent Service (no requests in
the rate window) is left out, not reported as healthy.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from agent.prometheus.client import PrometheusClient
from agent.prometheus.promql import duration
from agent.prometheus.signals import job_label
from agent.prometheus.targets import TargetIndex
from envs.cluster import SteadyStateSample
from envs.spec import ClusterSpec, WorkloadKind, workload_key

_REQUESTS = "sum by (namespace, service) (rate(http_requests_total[{w}]))"
_ERRORS = 'sum by (namespace, service) (rate(http_requests_total{{code=~"5.."}}[{w}]))'
AVAILABILITY = f"1 - ({_ERRORS} or 0 * {_REQUESTS}) / ({_REQUESTS} > 0)"
LATENCY_P99_MS = ("1000 * histogram_quantile(0.99, sum by (namespace, service, le) "
                  "(rate(http_request_duration_seconds_bucket[{w}]))) >= 0")
PROGRESS_LOST = "sum by (namespace, job, exported_job) (training_progress_lost_seconds_total)"
ACCURACY = "min by (namespace, model) (model_accuracy)"
DRIFT = "max by (namespace, pipeline) (feature_drift_score)"


class PrometheusSteadyState:
    """Samples the steady state of the cluster described by ``spec`` from Prometheus."""

    def __init__(self, *, client: PrometheusClient, spec: Callable[[], ClusterSpec], rate_window_s: float,
                 drift_threshold: float, clock: Callable[[], float] = time.time) -> None:
        self._client = client
        self._spec = spec
        self._window = duration(rate_window_s)
        self._drift_threshold = drift_threshold
        self._clock = clock

    def sample(self) -> SteadyStateSample:
        spec = self._spec()
        index = TargetIndex.from_spec(spec)
        now = self._clock()
        entry = {(s.namespace, s.name) for s in spec.services if s.entrypoint}

        def per_service(query: str) -> dict[str, float]:
            out: dict[str, float] = {}
            for s in self._client.instant(query, at=now):
                service = (s.labels.get("namespace", ""), s.labels.get("service", ""))
                if service in entry:
                    out[workload_key(service[0], "Service", service[1])] = s.value
            return out

        def per_workload(query: str, label: Callable[[Mapping[str, str]], str],
                         kinds: tuple[WorkloadKind, ...] = ()) -> dict[str, float]:
            out: dict[str, float] = {}
            for s in self._client.instant(query, at=now):
                key = index.workload_named(s.labels.get("namespace", ""), label(s.labels), kinds)
                if key is not None:
                    out[key] = s.value
            return out

        drift = per_workload(DRIFT, lambda labels: labels.get("pipeline", ""))
        return SteadyStateSample(
            time_s=now,
            availability=per_service(AVAILABILITY.format(w=self._window)),
            latency_p99_ms=per_service(LATENCY_P99_MS.format(w=self._window)),
            training_progress_lost_s=per_workload(PROGRESS_LOST, job_label, ("Job",)),
            accuracy=per_workload(ACCURACY, lambda labels: labels.get("model", "")),
            drift_detected={k: v > self._drift_threshold for k, v in drift.items()},
        )
