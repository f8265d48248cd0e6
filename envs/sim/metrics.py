"""Prometheus text exposition of the simulated cluster, with the names real exporters publish.

kube-state-metrics, cAdvisor, the DCGM exporter, an HTTP middleware and the ML jobs' own gauges.
Counters integrate the piecewise-constant rates between state changes (``settle``); request and
latency series carry small noise from a generator of their own, so scraping or not never changes
the simulation's random stream.
"""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING

import numpy as np

from envs.sim import ml
from envs.sim.observe import all_pods
from envs.sim.state import RUNNING, TERMINATING, Pod

if TYPE_CHECKING:
    from envs.sim.cluster import SimulatedCluster

BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""prometheus_client's default histogram buckets."""
LATENCY_LOG_SIGMA = 0.5
"""Request latencies are log-normal with this sigma; the median follows from the model's p99."""
_Z99 = 2.3263478740408408
REQUEST_NOISE = 0.03
LATENCY_NOISE = 0.05
GPU_FRAMEBUFFER_MIB = 40960
"""Framebuffer per device (an A100 40GB)."""
XID_FALLEN_OFF_BUS = 79


class MetricsState:
    """Cumulative counters since the first scrape (started as if running since time 0)."""

    def __init__(self, sim: SimulatedCluster) -> None:
        n_s = len(sim.spec.services)
        self.last = 0.0
        self.ok = [0.0] * n_s
        self.err = [0.0] * n_s
        self.buckets = [[0.0] * len(BUCKETS_S) for _ in range(n_s)]
        self.dur_sum = [0.0] * n_s
        self.cpu = [0.0] * len(sim.wls)
        """Per workload: CPU seconds one pod has used since time 0 (each pod reads a difference)."""
        self.pod_cpu0: dict[Pod, float] = {}
        self.scraped = False
        self.rng = np.random.default_rng([sim.seed, 0x6D657472])


def settle(sim: SimulatedCluster) -> None:
    """Integrate the counters up to now at the rates in force since the last settle."""
    st = sim.metrics_state
    assert st is not None
    dt = sim.t - st.last
    if dt <= 0:
        return
    tr = sim.traffic()
    noise = st.rng.normal(size=2 * len(tr.load))
    for s, offered in enumerate(tr.load):
        n = offered * dt * max(0.0, 1.0 + REQUEST_NOISE * noise[2 * s])
        if n <= 0:
            continue
        ok = n * tr.served_ok[s]
        st.ok[s] += ok
        st.err[s] += n - ok
        p99 = tr.p99_ms[s] * math.exp(LATENCY_NOISE * noise[2 * s + 1]) / 1000.0
        median = p99 / math.exp(_Z99 * LATENCY_LOG_SIGMA)
        row = st.buckets[s]
        for b, le in enumerate(BUCKETS_S):
            z = (math.log(le) - math.log(median)) / LATENCY_LOG_SIGMA
            row[b] += n * 0.5 * math.erfc(-z / math.sqrt(2.0))
        st.dur_sum[s] += n * median * math.exp(LATENCY_LOG_SIGMA**2 / 2.0)
    for i, ws in enumerate(sim.wls):
        st.cpu[i] += tr.cpu_utilisation[i] * ws.spec.template.cpu_millis / 1000.0 * dt
    st.last = sim.t


def metrics_text(sim: SimulatedCluster) -> str:
    if sim.metrics_state is None:
        sim.metrics_state = MetricsState(sim)
    st = sim.metrics_state
    settle(sim)
    out: list[str] = []
    _kube_state(sim, out)
    _cadvisor(sim, st, out)
    _dcgm(sim, out)
    _http(sim, st, out)
    _ml(sim, out)
    return "\n".join(out) + "\n"


def _esc(v: object) -> str:
    return str(v).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


@functools.lru_cache(maxsize=65536)
def _series(name: str, labels: tuple[tuple[str, object], ...]) -> str:
    body = ",".join(f'{k}="{_esc(v)}"' for k, v in labels)
    return f"{name}{{{body}}}"


def _line(out: list[str], name: str, labels: dict[str, object], value: float) -> None:
    out.append(f"{_series(name, tuple(labels.items()))} {value:.12g}")


def _head(out: list[str], name: str, kind: str, doc: str) -> None:
    out.append(f"# HELP {name} {doc}")
    out.append(f"# TYPE {name} {kind}")


def _kube_state(sim: SimulatedCluster, out: list[str]) -> None:
    pods = all_pods(sim)
    ns = [ws.spec.namespace for ws in sim.wls]
    _head(out, "kube_pod_status_ready", "gauge", "Describes whether the pod is ready to serve requests.")
    for p in pods:
        for cond in ("true", "false", "unknown"):
            value = (p.ready and cond == "true") or (not p.ready and cond == "false")
            _line(out, "kube_pod_status_ready", {"namespace": ns[p.w], "pod": p.name, "condition": cond},
                  float(value))
    _head(out, "kube_pod_container_status_restarts_total", "counter",
          "The number of container restarts per container.")
    for p in pods:
        _line(out, "kube_pod_container_status_restarts_total",
              {"namespace": ns[p.w], "pod": p.name, "container": sim.wls[p.w].spec.name}, p.restarts)
    _head(out, "kube_deployment_status_replicas_available", "gauge",
          "The number of available replicas per deployment.")
    for ws in sim.wls:
        if ws.spec.kind == "Deployment":
            _line(out, "kube_deployment_status_replicas_available",
                  {"namespace": ws.spec.namespace, "deployment": ws.spec.name}, sum(p.ready for p in ws.pods))
    _head(out, "kube_deployment_spec_replicas", "gauge", "Number of desired pods for a deployment.")
    for ws in sim.wls:
        if ws.spec.kind == "Deployment":
            _line(out, "kube_deployment_spec_replicas",
                  {"namespace": ws.spec.namespace, "deployment": ws.spec.name}, ws.desired)
    _head(out, "kube_statefulset_status_replicas_ready", "gauge",
          "The number of ready replicas per StatefulSet.")
    for ws in sim.wls:
        if ws.spec.kind == "StatefulSet":
            ready = sum(p.ready for p in ws.pods)
            _line(out, "kube_statefulset_status_replicas_ready",
                  {"namespace": ws.spec.namespace, "statefulset": ws.spec.name}, ready)
    _head(out, "kube_node_status_condition", "gauge", "The condition of a cluster node.")
    for n in sim.nodes:
        status = "true" if n.ready else "unknown"  # a silent kubelet leaves Ready Unknown
        for s in ("true", "false", "unknown"):
            _line(out, "kube_node_status_condition", {"node": n.name, "condition": "Ready", "status": s},
                  float(s == status))
    _head(out, "kube_node_status_allocatable", "gauge", "The allocatable for different resources of a node.")
    for n in sim.nodes:
        _line(out, "kube_node_status_allocatable", {"node": n.name, "resource": "cpu", "unit": "core"},
              n.cpu / 1000.0)
        _line(out, "kube_node_status_allocatable", {"node": n.name, "resource": "memory", "unit": "byte"},
              n.mem * 1048576.0)
        if n.spec.gpus:
            _line(out, "kube_node_status_allocatable",
                  {"node": n.name, "resource": "nvidia_com_gpu", "unit": "integer"}, n.gpus_allocatable)


def _cadvisor(sim: SimulatedCluster, st: MetricsState, out: list[str]) -> None:
    _head(out, "container_cpu_usage_seconds_total", "counter", "Cumulative cpu time consumed in seconds.")
    live: dict[Pod, float] = {}
    for ws in sim.wls:
        for p in ws.pods:
            if p.phase != RUNNING:
                continue
            start = st.pod_cpu0.get(p)
            if start is None:  # pods running since the start count from 0 at the first scrape
                start = 0.0 if p.created_s == 0.0 and not st.scraped else st.cpu[ws.i]
            live[p] = start
            _line(out, "container_cpu_usage_seconds_total",
                  {"namespace": ws.spec.namespace, "pod": p.name, "container": ws.spec.name},
                  st.cpu[ws.i] - start)
    st.pod_cpu0 = live
    st.scraped = True


def _dcgm(sim: SimulatedCluster, out: list[str]) -> None:
    gpu_nodes = [n for n in sim.nodes if n.spec.gpus]
    if not gpu_nodes:
        return
    rows: list[tuple[dict[str, object], int, float | None]] = []
    for n in gpu_nodes:
        for d in range(n.spec.gpus):
            labels: dict[str, object] = {"gpu": d, "UUID": f"GPU-{n.name}-{d}", "device": f"nvidia{d}",
                                         "modelName": "NVIDIA A100-SXM4-40GB", "Hostname": n.name}
            owner = n.gpu_owner[d]
            used: float | None = 0.0
            if owner is not None and owner.phase != TERMINATING:
                ws = sim.wls[owner.w]
                labels.update(namespace=ws.spec.namespace, pod=owner.name, container=ws.spec.name)
                if owner.alive:
                    tr = ws.spec.training
                    used = tr.gpu_memory_fraction if tr else ml.DEFAULT_GPU_MEMORY_FRACTION
                used = min(1.0, (used or 0.0) + ws.gpu_pressure)
            if n.gpu_failed[d]:
                used = None  # a device off the bus reports no framebuffer
            rows.append((labels, XID_FALLEN_OFF_BUS if n.gpu_failed[d] else 0, used))
    _head(out, "DCGM_FI_DEV_XID_ERRORS", "gauge", "Value of the last XID error encountered.")
    for labels, xid, _ in rows:
        _line(out, "DCGM_FI_DEV_XID_ERRORS", labels, xid)
    _head(out, "DCGM_FI_DEV_FB_USED", "gauge", "Framebuffer memory used (in MiB).")
    for labels, _, used in rows:
        if used is not None:
            _line(out, "DCGM_FI_DEV_FB_USED", labels, round(used * GPU_FRAMEBUFFER_MIB))
    _head(out, "DCGM_FI_DEV_FB_FREE", "gauge", "Framebuffer memory free (in MiB).")
    for labels, _, used in rows:
        if used is not None:
            _line(out, "DCGM_FI_DEV_FB_FREE", labels, GPU_FRAMEBUFFER_MIB - round(used * GPU_FRAMEBUFFER_MIB))


def _http(sim: SimulatedCluster, st: MetricsState, out: list[str]) -> None:
    services = sim.spec.services
    _head(out, "http_requests_total", "counter", "Total HTTP requests by status code.")
    for s, spec in enumerate(services):
        base = {"namespace": spec.namespace, "service": spec.name}
        _line(out, "http_requests_total", {**base, "code": "200"}, st.ok[s])
        _line(out, "http_requests_total", {**base, "code": "503"}, st.err[s])
    _head(out, "http_request_duration_seconds", "histogram", "HTTP request latency in seconds.")
    for s, spec in enumerate(services):
        total = st.ok[s] + st.err[s]
        for b, le in enumerate(BUCKETS_S):
            _line(out, "http_request_duration_seconds_bucket",
                  {"namespace": spec.namespace, "service": spec.name, "le": f"{le:g}"}, st.buckets[s][b])
        _line(out, "http_request_duration_seconds_bucket",
              {"namespace": spec.namespace, "service": spec.name, "le": "+Inf"}, total)
        _line(out, "http_request_duration_seconds_sum", {"namespace": spec.namespace, "service": spec.name},
              st.dur_sum[s])
        _line(out, "http_request_duration_seconds_count",
              {"namespace": spec.namespace, "service": spec.name}, total)


def _ml(sim: SimulatedCluster, out: list[str]) -> None:
    accuracy, _, _ = ml.pipeline_signals(sim)
    c = sim.c
    if c.models:
        _head(out, "model_accuracy", "gauge", "Accuracy of the model's predictions on labelled traffic.")
        for m in c.models:
            w = sim.wls[m].spec
            _line(out, "model_accuracy", {"namespace": w.namespace, "model": w.name}, accuracy[w.key])
    if c.pipelines:
        _head(out, "feature_drift_score", "gauge", "Distribution shift of the stage's features, in sigma.")
        for i, score in ml.drift_score(sim).items():
            w = sim.wls[i].spec
            _line(out, "feature_drift_score", {"namespace": w.namespace, "pipeline": w.name}, score)
    jobs = [(ws, ws.train) for ws in sim.wls if ws.train is not None]
    if jobs:
        _head(out, "training_progress_lost_seconds_total", "counter", "Training progress lost to failures.")
        for ws, tr in jobs:
            _line(out, "training_progress_lost_seconds_total",
                  {"namespace": ws.spec.namespace, "job": ws.spec.name}, tr.lost_s)
        _head(out, "training_seconds_since_checkpoint", "gauge",
              "Training progress since the newest checkpoint: what a failure now would lose.")
        for ws, tr in jobs:
            age = ml.seconds_since_checkpoint(sim, ws)
            if age is None:
                age = ml.progress(sim, tr)
            _line(out, "training_seconds_since_checkpoint",
                  {"namespace": ws.spec.namespace, "job": ws.spec.name}, age)
