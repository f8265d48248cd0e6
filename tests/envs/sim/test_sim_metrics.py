"""The Prometheus exposition: parseable, real exporters' names and labels, counters that follow faults."""

from __future__ import annotations

import statistics

from prometheus_client.parser import text_string_to_metric_families
from sim_specs import NS, rich_spec

from envs.faults import Fault, FaultKind
from envs.sim import SimulatedCluster

NAMES = {
    "kube_pod_status_ready", "kube_pod_container_status_restarts",
    "kube_deployment_status_replicas_available", "kube_deployment_spec_replicas",
    "kube_statefulset_status_replicas_ready", "kube_node_status_condition", "kube_node_status_allocatable",
    "container_cpu_usage_seconds", "DCGM_FI_DEV_XID_ERRORS", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE",
    "http_requests", "http_request_duration_seconds", "model_accuracy", "feature_drift_score",
    "training_progress_lost_seconds", "training_seconds_since_checkpoint",
}


def scrape(sim: SimulatedCluster) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for fam in text_string_to_metric_families(sim.metrics_text()):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(m: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    want = set(labels.items())
    hits = [v for (n, ls), v in m.items() if n == name and want <= set(ls)]
    assert len(hits) == 1, (name, labels, hits)
    return hits[0]


def test_exposition_parses_and_has_every_contract_name() -> None:
    sim = SimulatedCluster(rich_spec(), seed=0)
    sim.wait(30)
    families = {f.name for f in text_string_to_metric_families(sim.metrics_text())}
    assert families >= NAMES


def test_request_counters_follow_an_outage() -> None:
    sim = SimulatedCluster(rich_spec(), seed=0)
    sim.wait(15)
    m0 = scrape(sim)
    sim.wait(15)
    m1 = scrape(sim)
    ok = value(m1, "http_requests_total", service="web", code="200") - value(
        m0, "http_requests_total", service="web", code="200")
    assert 0.9 * 60 * 15 < ok < 1.1 * 60 * 15  # 60 rps, small noise
    sim.inject(Fault(FaultKind.POD_KILL, 2, f"{NS}/Deployment/api"), injection_id="k")
    sim.wait(5)
    m2 = scrape(sim)
    errors = value(m2, "http_requests_total", service="web", code="503") - value(
        m1, "http_requests_total", service="web", code="503")
    assert errors > 0.9 * 60 * 5
    assert value(m2, "kube_deployment_status_replicas_available", deployment="api") == 0


def test_request_rates_have_a_small_deterministic_spread() -> None:
    def rates(seed: int) -> list[float]:
        sim = SimulatedCluster(rich_spec(), seed=seed)
        out, last = [], 0.0
        for _ in range(12):
            sim.wait(15)
            now = value(scrape(sim), "http_requests_total", service="web", code="200")
            out.append((now - last) / 15)
            last = now
        return out

    r = rates(1)
    assert r == rates(1)
    assert 0 < statistics.stdev(r) < 0.1 * statistics.mean(r)


def test_node_and_gpu_series_follow_faults() -> None:
    sim = SimulatedCluster(rich_spec(), seed=0)
    sim.inject(Fault(FaultKind.GPU_DEVICE_FAILURE, 0, "Node/gpu-0"), injection_id="g")
    sim.inject(Fault(FaultKind.NODE_FAILURE, 2, "Node/node-1"), injection_id="n")
    sim.wait(45)
    m = scrape(sim)
    assert value(m, "kube_node_status_allocatable", node="gpu-0", resource="nvidia_com_gpu") == 3
    xids = [v for (n, ls), v in m.items() if n == "DCGM_FI_DEV_XID_ERRORS"]
    assert sorted(xids) == [0, 0, 0, 79]
    assert value(m, "kube_node_status_condition", node="node-1", status="unknown") == 1
    assert value(m, "kube_node_status_condition", node="node-0", status="true") == 1
    used = [v for (n, ls), v in m.items() if n == "DCGM_FI_DEV_FB_USED"]
    assert len(used) == 3 and max(used) > 0


def test_drift_and_training_gauges() -> None:
    sim = SimulatedCluster(rich_spec(), seed=0)
    sim.inject(Fault(FaultKind.DATA_DRIFT, 2, f"{NS}/Deployment/ingest"), injection_id="d")
    m = scrape(sim)
    assert value(m, "feature_drift_score", pipeline="model") == 3.0
    assert value(m, "model_accuracy", model="model") < 0.6
    assert value(m, "training_progress_lost_seconds_total", job="train") == 0
    assert 0 <= value(m, "training_seconds_since_checkpoint", job="train") < 600


def test_scraping_does_not_change_the_simulation() -> None:
    def run(scrape_it: bool) -> object:
        sim = SimulatedCluster(rich_spec(), seed=9)
        sim.inject(Fault(FaultKind.POD_KILL, 1, f"{NS}/Deployment/api"), injection_id="k")
        for _ in range(10):
            sim.wait(15)
            if scrape_it:
                sim.metrics_text()
        return sim.instant(), [(p.name, p.node) for p in sim.pods()]

    assert run(True) == run(False)


def test_error_counter_integrates_the_outage_exactly() -> None:
    from sim_specs import WEB, web_spec

    sim = SimulatedCluster(web_spec(1, startup_s=5.0), seed=0)  # 50 rps; outage = 1 + 1 + 5 + 3 s
    sim.wait(15)
    m0 = scrape(sim)
    sim.inject(Fault(FaultKind.POD_KILL, 0, WEB), injection_id="k")
    sim.wait(45)
    m1 = scrape(sim)
    errors = value(m1, "http_requests_total", service="web", code="503") - value(
        m0, "http_requests_total", service="web", code="503")
    assert 0.9 * 500 < errors < 1.1 * 500
