"""The golden signals behind anomaly scores: one PromQL query per signal, for every target at once.

Metric names are those real exporters publish (kube-state-metrics, cAdvisor, DCGM, the usual HTTP
server instrumentation, and the ML metrics of docs/simulator.md), so the same code reads the simulator
and a cluster. ``$window`` is the rate window; it is filled from settings, never from cluster text.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from agent.prometheus.promql import duration
from agent.prometheus.targets import TargetIndex

Direction = Literal["up", "down", "both"]
"""Which change is anomalous: a rise (errors), a fall (accuracy), or either (CPU)."""
TargetLabels = Literal["pod", "service", "node", "hostname", "deployment", "statefulset", "job", "model",
                       "pipeline"]
"""Which labels of a series name its target(s); see ``resolve``."""
Aggregation = Literal["sum", "max"]


@dataclass(frozen=True)
class Signal:
    name: str
    query: str
    target: TargetLabels
    direction: Direction
    aggregation: Aggregation
    """How the series of one target (the pods of a workload, the Services in front of it) combine."""
    abs_floor: float
    """Smallest robust scale, in the signal's unit: a change this big scores 1 on a flat baseline."""
    rel_floor: float = 0.0
    """Smallest robust scale as a share of the baseline median, for signals with a natural level."""

    def promql(self, rate_window_s: float) -> str:
        return string.Template(self.query).substitute(window=duration(rate_window_s))


_ERRORS = 'sum by (namespace, service) (rate(http_requests_total{code=~"5.."}[$window]))'
_REQUESTS = "sum by (namespace, service) (rate(http_requests_total[$window]))"

SIGNALS: tuple[Signal, ...] = (
    Signal("unready_pods", 'sum by (namespace, pod) (1 - kube_pod_status_ready{condition="true"})',
           "pod", "up", "sum", abs_floor=0.25),
    Signal("restarts",
           "sum by (namespace, pod) (increase(kube_pod_container_status_restarts_total[$window]))",
           "pod", "up", "sum", abs_floor=0.5),
    Signal("unavailable_replicas", "sum by (namespace, deployment) (kube_deployment_spec_replicas) - "
           "sum by (namespace, deployment) (kube_deployment_status_replicas_available)",
           "deployment", "up", "max", abs_floor=0.25),
    Signal("statefulset_ready", "sum by (namespace, statefulset) (kube_statefulset_status_replicas_ready)",
           "statefulset", "down", "max", abs_floor=0.25),
    Signal("cpu", "sum by (namespace, pod) (rate(container_cpu_usage_seconds_total[$window]))",
           "pod", "both", "sum", abs_floor=0.01, rel_floor=0.05),
    Signal("error_ratio", f"({_ERRORS} or 0 * {_REQUESTS}) / ({_REQUESTS} > 0)",
           "service", "up", "max", abs_floor=0.01),
    Signal("latency_p99", "histogram_quantile(0.99, sum by (namespace, service, le) "
           "(rate(http_request_duration_seconds_bucket[$window]))) >= 0",
           "service", "up", "max", abs_floor=0.005, rel_floor=0.05),
    Signal("node_not_ready",
           '1 - max by (node) (kube_node_status_condition{condition="Ready",status="true"})',
           "node", "up", "max", abs_floor=0.25),
    Signal("gpu_allocatable", "sum by (node) "
           '(kube_node_status_allocatable{resource=~"nvidia_com_gpu|nvidia.com/gpu"})',
           "node", "down", "max", abs_floor=0.25),
    Signal("gpu_xid_errors", "max by (Hostname) (DCGM_FI_DEV_XID_ERRORS)",
           "hostname", "up", "max", abs_floor=1.0),
    Signal("gpu_memory_used", "sum by (Hostname) (DCGM_FI_DEV_FB_USED)",
           "hostname", "up", "max", abs_floor=1.0, rel_floor=0.05),
    Signal("model_accuracy", "min by (namespace, model) (model_accuracy)", "model", "down", "max",
           abs_floor=0.005),
    Signal("feature_drift", "max by (namespace, pipeline) (feature_drift_score)", "pipeline", "up", "max",
           abs_floor=0.1),
    Signal("training_progress_lost",
           "sum by (namespace, job, exported_job) "
           "(increase(training_progress_lost_seconds_total[$window]))",
           "job", "up", "max", abs_floor=1.0),
)


def job_label(labels: Mapping[str, str]) -> str:
    """The exporter's ``job`` label: Prometheus renames it ``exported_job`` when its own scrape job
    label takes the name (``honor_labels: false``, the default)."""
    return labels.get("exported_job") or labels.get("job", "")


def resolve(signal: Signal, labels: Mapping[str, str], index: TargetIndex) -> tuple[str, ...]:
    """The target keys a series of ``signal`` with ``labels`` belongs to (empty: not a known target)."""
    ns = labels.get("namespace", "")
    kind = signal.target
    found: str | None
    if kind == "pod":
        found = index.workload_of_pod(ns, labels.get("pod", ""))
    elif kind == "service":
        return index.workloads_of_service(ns, labels.get("service", ""))
    elif kind == "node":
        found = index.node(labels.get("node", ""))
    elif kind == "hostname":
        found = index.node(labels.get("Hostname", ""))
    elif kind == "deployment":
        found = index.workload_named(ns, labels.get("deployment", ""), ("Deployment",))
    elif kind == "statefulset":
        found = index.workload_named(ns, labels.get("statefulset", ""), ("StatefulSet",))
    elif kind == "job":
        found = index.workload_named(ns, job_label(labels), ("Job",))
    else:  # model, pipeline: the label names the workload that serves the model or runs the stage
        found = index.workload_named(ns, labels.get(kind, ""))
    return (found,) if found is not None else ()
