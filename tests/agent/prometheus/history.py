"""Synthetic metric history of the small cluster (conftest.small_cluster), for backfilling Prometheus.

Forty minutes at a 15 s scrape interval with seeded noise on every signal; during the last
``fault_s`` seconds web-api loses a pod's readiness and answers 30 % of its requests with 503.
"""

from __future__ import annotations

import numpy as np

from tests.servers.prometheus import Sample

STEP_S = 15.0
SPAN_S = 2400.0
PODS = {
    ("shop", "web"): ["web-7d9f8b6c5-x2k4p", "web-7d9f8b6c5-q8r5t", "web-7d9f8b6c5-m3n7v"],
    ("shop", "web-api"): ["web-api-5c6d7f8b9-a1b2c", "web-api-5c6d7f8b9-d3e4f", "web-api-5c6d7f8b9-g5h6j"],
    ("shop", "db"): ["db-0", "db-1"],
    ("ml", "ranker"): ["ranker-6b7c8d9f4-k7l8m", "ranker-6b7c8d9f4-n9p2q"],
    ("ml", "features"): ["features-8d9f6b7c5-r4s5t"],
    ("ml", "train"): ["train-w6x7z"],
}


def cluster_history(t_end: float, *, fault_s: float = 120.0, seed: int = 7) -> list[Sample]:
    rng = np.random.default_rng(seed)
    times = np.arange(t_end - SPAN_S, t_end + 0.001, STEP_S)
    faulty = times > t_end - fault_s
    out: list[Sample] = []

    def add(metric: str, labels: dict[str, str], values: np.ndarray) -> None:
        out.extend(Sample(metric, labels, float(v), float(t)) for t, v in zip(times, values, strict=True))

    for (ns, workload), pods in PODS.items():
        for i, pod in enumerate(pods):
            broken = faulty if (workload == "web-api" and i == 0) else np.zeros_like(faulty)
            add("kube_pod_status_ready", {"namespace": ns, "pod": pod, "condition": "true"},
                np.where(broken, 0.0, 1.0))
            add("kube_pod_container_status_restarts_total", {"namespace": ns, "pod": pod, "container": "app"},
                np.zeros(len(times)))
            cpu_rate = 0.2 + rng.normal(0, 0.01, len(times)).clip(-0.05, 0.05)
            add("container_cpu_usage_seconds_total", {"namespace": ns, "pod": pod, "container": "app"},
                np.cumsum(cpu_rate * STEP_S))
    for name in ("web", "web-api"):
        labels = {"namespace": "shop", "deployment": name}
        add("kube_deployment_spec_replicas", labels, np.full(len(times), 3.0))
        available = np.where(faulty, 2.0, 3.0) if name == "web-api" else np.full(len(times), 3.0)
        add("kube_deployment_status_replicas_available", labels, available)
    for name in ("web", "web-api"):
        ok_rate = 100 + rng.normal(0, 3, len(times))
        err_rate = np.abs(rng.normal(0.1, 0.05, len(times)))
        if name == "web-api":
            err_rate = np.where(faulty, 30.0, err_rate)
        base = {"namespace": "shop", "service": name}
        add("http_requests_total", {**base, "code": "200"}, np.cumsum(ok_rate * STEP_S))
        add("http_requests_total", {**base, "code": "503"}, np.cumsum(err_rate * STEP_S))
        # Latency histogram: 95 % under 0.1 s, the rest under 0.5 s, a trickle above.
        total = np.cumsum((ok_rate + err_rate) * STEP_S)
        for le, share in (("0.1", 0.95), ("0.5", 0.995), ("+Inf", 1.0)):
            add("http_request_duration_seconds_bucket", {**base, "le": le}, total * share)
    add("model_accuracy", {"namespace": "ml", "model": "ranker"}, 0.92 + rng.normal(0, 0.002, len(times)))
    add("feature_drift_score", {"namespace": "ml", "pipeline": "features"},
        np.abs(rng.normal(0.2, 0.05, len(times))))
    add("training_progress_lost_seconds_total", {"namespace": "ml", "job": "train"},
        np.full(len(times), 600.0))
    for node in ("node-a", "node-b", "gpu-1"):
        add("kube_node_status_condition", {"node": node, "condition": "Ready", "status": "true"},
            np.ones(len(times)))
    add("DCGM_FI_DEV_XID_ERRORS", {"gpu": "0", "Hostname": "gpu-1"}, np.zeros(len(times)))
    add("DCGM_FI_DEV_FB_USED", {"gpu": "0", "Hostname": "gpu-1"}, 12000 + rng.normal(0, 50, len(times)))
    return out
