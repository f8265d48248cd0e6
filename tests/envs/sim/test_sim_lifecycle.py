"""Startup probes, cold starts and who retries an entry point: what traffic sees while pods come up or go."""

from __future__ import annotations

import math

import pytest
from sim_specs import NS, WEB, WEB_SVC, deployment, nodes, selector, service

from envs.faults import Fault, FaultKind
from envs.sim import SimulatedCluster, Timings
from envs.sim.lifecycle import plan
from envs.spec import Call, ClusterSpec, EntryClient, Pipeline, PodTemplate, Probe, ServiceSpec, Workload

TM = Timings()


def web(cold: float, *, replicas: int = 1, **tkw: object) -> ClusterSpec:
    w = deployment("web", replicas, startup_s=5.0, cold_start_s=cold, **tkw)
    return ClusterSpec("t", nodes(3), (w,), (service("web", entry=True, load=10.0),))


def availability_after_kill(spec: ClusterSpec, seconds: int) -> list[tuple[float, float]]:
    sim = SimulatedCluster(spec, seed=0)
    sim.wait(10)
    t0 = sim.now()
    sim.inject(Fault(FaultKind.POD_KILL, 0, WEB), injection_id="k")
    out = []
    for _ in range(seconds):
        sim.wait(1)
        out.append((sim.now() - t0, sim.instant().availability[WEB_SVC]))
    return out


def test_without_a_readiness_probe_a_cold_pod_gets_traffic_it_cannot_serve() -> None:
    trace = availability_after_kill(web(60.0, readiness_probe=None), 90)
    running = TM.controller_s + TM.scheduling_s + 5.0
    sim = SimulatedCluster(web(60.0, readiness_probe=None), seed=0)
    sim.wait(10)
    sim.inject(Fault(FaultKind.POD_KILL, 0, WEB), injection_id="k")
    sim.wait(running + 1)
    (pod,) = sim.pods()
    assert pod.ready and pod.phase == "Running"  # Ready: in the endpoints ...
    assert sim.instant().availability[WEB_SVC] == 0.0  # ... and failing every request
    assert next(t for t, a in trace if a == 1.0) == pytest.approx(running + 60.0, abs=1.0)


def test_a_readiness_probe_keeps_a_cold_pod_out_of_the_endpoints() -> None:
    probe = Probe(initial_delay_s=10.0, period_s=10.0)
    start = plan(PodTemplate(cold_start_s=45.0, readiness_probe=probe))
    assert (start.serving_s, start.ready_s, start.killed_s) == (45.0, 50.0, None)  # the first probe after 45 s
    sim = SimulatedCluster(web(45.0, replicas=2, readiness_probe=probe), seed=0)
    sim.inject(Fault(FaultKind.POD_KILL, 0, WEB), injection_id="k")
    for _ in range(60):
        sim.wait(1)
        assert sim.instant().availability[WEB_SVC] == 1.0  # the cold pod never receives a request


def test_a_startup_probe_shorter_than_the_cold_start_restarts_the_container_forever() -> None:
    short = Probe(initial_delay_s=0.0, period_s=10.0, failure_threshold=3)
    assert plan(PodTemplate(cold_start_s=60.0, startup_probe=short)).killed_s == 20.0
    sim = SimulatedCluster(web(60.0, startup_probe=short, readiness_probe=Probe()), seed=0)
    sim.inject(Fault(FaultKind.POD_KILL, 0, WEB), injection_id="k")
    sim.wait(600)
    (pod,) = sim.pods()
    assert not pod.ready and pod.restarts >= 3
    assert sim.instant().availability[WEB_SVC] == 0.0


def test_a_long_enough_startup_probe_holds_readiness_until_it_succeeds() -> None:
    patient = Probe(initial_delay_s=0.0, period_s=10.0, failure_threshold=30)
    start = plan(PodTemplate(cold_start_s=60.0, startup_probe=patient, readiness_probe=Probe(period_s=5.0)))
    assert start == type(start)(60.0, 60.0, None)
    no_readiness = plan(PodTemplate(cold_start_s=55.0, startup_probe=patient))
    assert no_readiness.ready_s == 60.0  # Ready when the startup probe passes, even without a readiness probe


def test_a_liveness_probe_kills_a_process_still_loading_without_a_startup_probe() -> None:
    liveness = Probe(initial_delay_s=30.0, period_s=10.0, failure_threshold=3)
    assert plan(PodTemplate(cold_start_s=120.0, liveness_probe=liveness)).killed_s == 50.0
    assert plan(PodTemplate(cold_start_s=40.0, liveness_probe=liveness)).killed_s is None
    assert plan(PodTemplate(cold_start_s=0.0, readiness_probe=Probe(initial_delay_s=3.0))).ready_s == 3.0


def gateway(client: EntryClient) -> ClusterSpec:
    w = deployment("web", 3, readiness_probe=Probe(initial_delay_s=1.0))
    entry = ServiceSpec(NS, "web", selector("web"), entrypoint=True, load_rps=30.0, client=client)
    return ClusterSpec("t", nodes(3), (w,), (entry,))


@pytest.mark.parametrize(("client", "availability", "latency_at_least"), [
    (EntryClient(), 2 / 3, 0.0),
    (EntryClient("ingress-nginx", tries=3, connect_timeout_ms=5000.0), 1.0, 5000.0),
])
def test_an_ingress_retrying_connection_failures_turns_a_dead_node_into_latency(
        client: EntryClient, availability: float, latency_at_least: float) -> None:
    spec = gateway(client)
    sim = SimulatedCluster(spec, seed=0)
    node = sim.pods()[0].node
    sim.inject(Fault(FaultKind.NODE_FAILURE, 0, f"Node/{node}", duration_s=120), injection_id="n")
    sim.wait(10)  # the node is down but still Ready: a third of the endpoints hang
    s = sim.instant()
    assert s.availability[WEB_SVC] == pytest.approx(availability, abs=1e-9)
    assert s.latency_p99_ms[WEB_SVC] >= latency_at_least
    sim.wait(60)  # NotReady: the endpoints drop the dead pods, the retry is no longer needed
    assert sim.instant().availability[WEB_SVC] == 1.0
    assert sim.instant().latency_p99_ms[WEB_SVC] < 1000


def test_answered_errors_are_retried_only_when_the_client_says_so() -> None:
    spec = gateway(EntryClient("mesh", tries=3, retry_on_error=True))
    sim = SimulatedCluster(spec, seed=0)
    sim.inject(Fault(FaultKind.NETWORK_LOSS, 2, WEB), injection_id="l")
    lossy = sim.instant().availability[WEB_SVC]
    plain = SimulatedCluster(gateway(EntryClient()), seed=0)
    plain.inject(Fault(FaultKind.NETWORK_LOSS, 2, WEB), injection_id="l")
    assert lossy > plain.instant().availability[WEB_SVC]


def cached_spec(ttl: float) -> ClusterSpec:
    registry = deployment("registry", 1)
    consumer = Workload(NS, "consumer", "Deployment", 2, PodTemplate(labels=(("app", "consumer"),)),
                        calls=(Call(f"{NS}/Service/registry", cache_ttl_s=ttl),))
    return ClusterSpec("t", nodes(3), (registry, consumer),
                       (service("consumer", entry=True, load=50.0), service("registry")))


def test_a_cached_lookup_adds_no_load_and_survives_an_outage_while_caches_are_warm() -> None:
    sim = SimulatedCluster(cached_spec(math.inf), seed=0)
    assert sim.traffic().load[1] == 0.0  # the registry Service: nothing per request
    sim.inject(Fault(FaultKind.POD_KILL, 0, f"{NS}/Deployment/registry"), injection_id="down")
    sim.inject(Fault(FaultKind.NETWORK_PARTITION, 2, f"{NS}/Deployment/registry"), injection_id="cut")
    assert sim.instant().availability[f"{NS}/Service/consumer"] == 1.0


def test_a_cache_goes_cold_when_its_pod_restarts_or_its_lifetime_ends_during_the_outage() -> None:
    registry = f"{NS}/Deployment/registry"
    consumer_svc = f"{NS}/Service/consumer"
    spec = cached_spec(math.inf)
    slow = PodTemplate(labels=(("app", "registry"),), startup_s=600.0)
    spec = ClusterSpec("t", spec.nodes, (Workload(NS, "registry", "Deployment", 1, slow), spec.workloads[1]),
                       spec.services)
    sim = SimulatedCluster(spec, seed=0)
    sim.inject(Fault(FaultKind.POD_KILL, 0, registry), injection_id="down")  # comes back after ten minutes
    sim.wait(5)
    assert sim.instant().availability[consumer_svc] == 1.0
    sim.inject(Fault(FaultKind.POD_KILL, 0, f"{NS}/Deployment/consumer"), injection_id="restart")
    sim.wait(30)  # the replacement starts with an empty cache while the registry is still down
    assert sim.instant().availability[consumer_svc] == pytest.approx(0.5)
    finite = cached_spec(60.0)
    finite = ClusterSpec("t", finite.nodes, (Workload(NS, "registry", "Deployment", 1, slow), finite.workloads[1]),
                         finite.services)
    sim = SimulatedCluster(finite, seed=0)
    sim.inject(Fault(FaultKind.POD_KILL, 0, registry), injection_id="down")
    sim.wait(30)
    assert sim.instant().availability[consumer_svc] == 1.0
    sim.wait(40)  # past the cache's lifetime
    assert sim.instant().availability[consumer_svc] == 0.0


def pipeline_spec(producer_startup_s: float) -> ClusterSpec:
    def stage(name: str, stage: str, feeds: tuple[str, ...], **tkw: object) -> Workload:
        return Workload(NS, name, "Deployment", 1, PodTemplate(labels=(("app", name),), **tkw),  # type: ignore[arg-type]
                        role="pipeline", pipeline=Pipeline(stage, feeds=feeds, max_staleness_s=300.0))  # type: ignore[arg-type]

    wl = (stage("ingest", "producer", (f"{NS}/Service/kafka",), startup_s=producer_startup_s),
          stage("kafka", "feature_store", (f"{NS}/Service/model",), startup_s=producer_startup_s),
          stage("model", "model", ()))
    return ClusterSpec("t", nodes(3), wl, (service("kafka"), service("model")))


@pytest.mark.parametrize("down", ["ingest", "kafka"])
def test_an_outage_upstream_makes_the_models_data_stale_after_its_bound(down: str) -> None:
    sim = SimulatedCluster(pipeline_spec(900.0), seed=0)
    model = f"{NS}/Deployment/model"
    sim.inject(Fault(FaultKind.POD_KILL, 0, f"{NS}/Deployment/{down}"), injection_id="k")
    sim.wait(290)
    assert sim.instant().bad_rows[model] == 0.0
    sim.wait(20)  # the outage outlasted max_staleness_s (300 s)
    assert sim.instant().bad_rows[model] == 1.0
    sim.wait(700)  # the stage is back and fresh data flows again
    assert sim.instant().bad_rows[model] == 0.0


def test_a_short_outage_stays_within_the_bound() -> None:
    sim = SimulatedCluster(pipeline_spec(30.0), seed=0)
    sim.inject(Fault(FaultKind.POD_KILL, 0, f"{NS}/Deployment/ingest"), injection_id="k")
    for _ in range(40):
        sim.wait(10)
        assert sim.instant().bad_rows[f"{NS}/Deployment/model"] == 0.0


@pytest.mark.parametrize(("per_request", "availability", "load"), [(0.1, 0.9, 5.0), (1.0, 0.0, 50.0),
                                                                    (2.0, 0.0, 100.0)])
def test_calls_per_request_scale_the_callees_load_and_the_requests_a_failure_hurts(
        per_request: float, availability: float, load: float) -> None:
    backend = deployment("orders", 1)
    front = Workload(NS, "front", "Deployment", 2, PodTemplate(labels=(("app", "front"),)),
                     calls=(Call(f"{NS}/Service/orders", per_request=per_request),))
    spec = ClusterSpec("t", nodes(3), (backend, front), (service("front", entry=True, load=50.0), service("orders")))
    sim = SimulatedCluster(spec, seed=0)
    assert sim.traffic().load[1] == pytest.approx(load)
    sim.inject(Fault(FaultKind.POD_KILL, 0, f"{NS}/Deployment/orders"), injection_id="k")
    assert sim.instant().availability[f"{NS}/Service/front"] == pytest.approx(availability)
