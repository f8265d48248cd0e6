"""The request model: timeouts, retries, fallbacks, loss, partitions, CPU stress and the HPA."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sim_specs import NS, WEB, WEB_SVC, deployment, nodes, service, web_spec

from envs.faults import Fault, FaultKind
from envs.sim import SimulatedCluster
from envs.spec import Call, ClusterSpec, EntryClient, HpaSpec, Slo

API = f"{NS}/Deployment/api"


def _chain(timeout_ms: float = 1000.0, retries: int = 0, fallback: bool = False) -> ClusterSpec:
    """web (entry) -> api, with the call's resilience settings under test."""
    call = Call(f"{NS}/Service/api", timeout_ms=timeout_ms, retries=retries, fallback=fallback)
    wl = (deployment("web", 2, calls=(call,)), deployment("api", 2))
    svcs = (service("web", entry=True, load=40.0, slo=Slo(0.99, 1000.0)), service("api"))
    return ClusterSpec("chain", nodes(3), wl, svcs)


def _violated(sim: SimulatedCluster) -> bool:
    s = sim.instant()
    slo = sim.spec.service(WEB_SVC).slo
    return s.availability[WEB_SVC] < slo.availability or s.latency_p99_ms[WEB_SVC] > slo.latency_p99_ms


def test_steady_state_meets_the_slo() -> None:
    sim = SimulatedCluster(_chain(), seed=0)
    s = sim.instant()
    assert s.availability[WEB_SVC] == 1.0
    assert 40.0 < s.latency_p99_ms[WEB_SVC] < 100.0


@pytest.mark.parametrize(("intensity", "broken"), [(0, False), (1, False), (2, True)])
def test_latency_above_the_callers_timeout_breaks_the_slo(intensity: int, broken: bool) -> None:
    sim = SimulatedCluster(_chain(timeout_ms=1000.0), seed=0)
    inj = sim.inject(Fault(FaultKind.NETWORK_LATENCY, intensity, API), injection_id="l")  # 100/500/2000 ms
    assert _violated(sim) is broken
    if broken:
        assert sim.instant().availability[WEB_SVC] == 0.0
    sim.revert(inj)
    assert not _violated(sim)


def test_latency_above_the_timeout_with_fallback_keeps_the_slo() -> None:
    sim = SimulatedCluster(_chain(timeout_ms=1000.0, fallback=True), seed=0)
    sim.inject(Fault(FaultKind.NETWORK_LATENCY, 2, API), injection_id="l")
    assert not _violated(sim)


def test_latency_below_the_timeout_can_still_break_the_latency_slo() -> None:
    sim = SimulatedCluster(_chain(timeout_ms=3000.0), seed=0)
    sim.inject(Fault(FaultKind.NETWORK_LATENCY, 2, API), injection_id="l")
    s = sim.instant()
    assert s.availability[WEB_SVC] == 1.0 and s.latency_p99_ms[WEB_SVC] > 2000.0


def test_retries_turn_packet_loss_into_latency_instead_of_errors() -> None:
    plain = SimulatedCluster(_chain(timeout_ms=200.0), seed=0)
    plain.inject(Fault(FaultKind.NETWORK_LOSS, 1, API), injection_id="x")  # 30 % lost
    assert plain.instant().availability[WEB_SVC] == pytest.approx(0.7)
    retried = SimulatedCluster(_chain(timeout_ms=200.0, retries=3), seed=0)
    retried.inject(Fault(FaultKind.NETWORK_LOSS, 1, API), injection_id="x")
    s = retried.instant()
    assert s.availability[WEB_SVC] == pytest.approx(1 - 0.3**4)
    assert s.latency_p99_ms[WEB_SVC] > 2 * 200.0  # two lost attempts are likelier than 1 %


def test_jitter_adds_two_sigma_to_p99() -> None:
    sim = SimulatedCluster(_chain(timeout_ms=5000.0), seed=0)
    base = sim.instant().latency_p99_ms[WEB_SVC]
    sim.inject(Fault(FaultKind.NETWORK_JITTER, 1, API), injection_id="j")  # sigma 300 ms
    assert sim.instant().latency_p99_ms[WEB_SVC] == pytest.approx(base + 600.0)


def test_partition_of_every_pod_fails_the_calls_though_the_pods_stay_ready() -> None:
    sim = SimulatedCluster(_chain(), seed=0)
    inj = sim.inject(Fault(FaultKind.NETWORK_PARTITION, 2, API), injection_id="p")
    assert len(inj.affected_pods) == 2
    assert sim.snapshot().workloads[API].ready == 2
    assert sim.instant().availability[WEB_SVC] == 0.0
    sim.revert(inj)
    assert sim.instant().availability[WEB_SVC] == 1.0


def test_partition_of_one_pod_fails_its_share() -> None:
    sim = SimulatedCluster(_chain(), seed=0)
    sim.inject(Fault(FaultKind.NETWORK_PARTITION, 0, API), injection_id="p")
    assert sim.instant().availability[WEB_SVC] == pytest.approx(0.5)


def test_no_endpoints_downstream_fails_the_entry_point() -> None:
    sim = SimulatedCluster(_chain(), seed=0)
    sim.inject(Fault(FaultKind.POD_KILL, 2, API), injection_id="k")
    assert sim.instant().availability[WEB_SVC] == 0.0
    fb = SimulatedCluster(_chain(fallback=True), seed=0)
    fb.inject(Fault(FaultKind.POD_KILL, 2, API), injection_id="k")
    assert fb.instant().availability[WEB_SVC] == 1.0


def test_cpu_stress_overloads_and_slows_the_service() -> None:
    spec = web_spec(1)  # 50 rps into one pod of capacity 100
    sim = SimulatedCluster(spec, seed=0)
    base = sim.instant().latency_p99_ms[WEB_SVC]
    inj = sim.inject(Fault(FaultKind.CPU_STRESS, 2, WEB), injection_id="s")  # 95 %: capacity 5 rps
    s = sim.instant()
    assert s.availability[WEB_SVC] == pytest.approx(0.1)
    assert s.latency_p99_ms[WEB_SVC] == pytest.approx(20.0 / (1 - 0.95))  # utilisation capped at 0.95
    sim.revert(inj)
    assert sim.instant().latency_p99_ms[WEB_SVC] == pytest.approx(base)


def test_hpa_scales_up_under_cpu_stress_and_back_down_after() -> None:
    w = deployment("web", 2, startup_s=5.0)
    hpa = HpaSpec(NS, "web", WEB, min_replicas=2, max_replicas=6, target_cpu_utilization=0.6)
    spec = ClusterSpec("h", nodes(3), (w,), (service("web", entry=True, load=40.0),), hpas=(hpa,))
    sim = SimulatedCluster(spec, seed=0)
    sim.wait(60)
    assert sim.snapshot().workloads[WEB].desired == 2
    inj = sim.inject(Fault(FaultKind.CPU_STRESS, 0, WEB, duration_s=600), injection_id="s")  # +50 % CPU
    sim.wait(16)
    assert sim.snapshot().workloads[WEB].desired > 2
    sim.wait(60)
    assert sim.snapshot().workloads[WEB].ready == sim.snapshot().workloads[WEB].desired > 2
    sim.revert(inj)
    sim.wait(200)
    assert sim.snapshot().workloads[WEB].desired > 2  # scale-down is stabilised for 300 s
    sim.wait(200)
    assert sim.snapshot().workloads[WEB].desired == 2


def test_rollout_in_progress_is_visible_and_respects_surge_and_unavailability() -> None:
    w = deployment("web", 3, startup_s=10.0)
    w = type(w)(**{**w.__dict__, "rollout_every_s": 600.0})
    spec = ClusterSpec("r", nodes(3), (w,), (service("web", entry=True, load=30.0),))
    sim = SimulatedCluster(spec, seed=2)
    old = {p.name for p in sim.pods()}
    while not sim.snapshot().workloads[WEB].rollout_in_progress:
        sim.wait(1)
        assert sim.now() < 20000, "no rollout started"
    started = sim.now()
    while sim.snapshot().workloads[WEB].rollout_in_progress:
        status = sim.snapshot().workloads[WEB]
        live = [p for p in sim.pods() if p.phase != "Terminating"]
        assert status.ready >= 3 - 1 and len(live) <= 3 + 1  # maxUnavailable 1, maxSurge 1
        assert sim.instant().availability[WEB_SVC] == 1.0
        sim.wait(1)
    # one surge pod plus one in place of a deleted old pod per wave: two waves for three replicas,
    # each taking controller + scheduling + startup
    assert 2 * 10.0 <= sim.now() - started <= 2 * (10.0 + 1 + 1) + 4
    assert sim.snapshot().workloads[WEB].ready == 3
    assert not old & {p.name for p in sim.pods() if p.phase != "Terminating"}
    sim.wait(30)  # the old pods' termination grace period
    assert not old & {p.name for p in sim.pods()}


def test_call_cycles_are_broken_deterministically_and_still_propagate_failures() -> None:
    a_calls = (Call(f"{NS}/Service/b"),)
    b_calls = (Call(f"{NS}/Service/a"),)
    wl = (deployment("a", 1, calls=a_calls), deployment("b", 1, calls=b_calls), deployment("web", 1,
          calls=(Call(f"{NS}/Service/a"),)))
    spec = ClusterSpec("cyc", nodes(2), wl, (service("a"), service("b"), service("web", entry=True, load=5)))
    sim = SimulatedCluster(spec, seed=0)
    assert len(sim.c.back_edges) == 1 and any("cycle" in n for n in sim.c.notes)
    assert sim.instant().availability[WEB_SVC] == 1.0
    sim.inject(Fault(FaultKind.POD_KILL, 0, f"{NS}/Deployment/b"), injection_id="k")
    first = sim.instant()
    assert first.availability[WEB_SVC] == 0.0
    sim.metrics_text()  # extra evaluations must not change the answer
    sim.dirty = True
    assert sim.instant() == first


@pytest.mark.parametrize(("retries", "expected"), [(0, 0.9), (1, 0.99), (2, 0.999)])
def test_edge_retries_in_front_of_an_entry_point_absorb_lost_requests(retries: int, expected: float) -> None:
    """web has two pods: a third try goes to one already tried (ingress-nginx's balancer picks among all
    endpoints again once each was tried), another draw of the loss. Each lost try first costs the client's
    connect timeout."""
    chain = _chain()
    client = EntryClient("edge", tries=retries + 1, connect_timeout_ms=300.0)
    web = replace(chain.service(WEB_SVC), client=client)
    spec = replace(chain, services=(web, service("api")))
    sim = SimulatedCluster(spec, seed=0)
    before = sim.instant().latency_p99_ms[WEB_SVC]
    sim.inject(Fault(FaultKind.NETWORK_LOSS, 0, WEB), injection_id="loss")  # 10 % of requests lost
    s = sim.instant()
    assert s.availability[WEB_SVC] == pytest.approx(expected)
    # 10 % of requests lose their first try (a wait is in p99); 1 % lose two (not likelier than 1 %: no second)
    waits = 1 if retries else 0
    assert s.latency_p99_ms[WEB_SVC] == pytest.approx(before + waits * 300.0)


def test_an_edge_retry_goes_to_an_endpoint_not_tried_yet() -> None:
    """One of two pods partitioned: the retry goes to the other pod, never back to the hung one while an
    untried one remains (independent draws would fail a quarter of the requests)."""
    chain = _chain()
    web = replace(chain.service(WEB_SVC), client=EntryClient("edge", tries=2, connect_timeout_ms=300.0))
    sim = SimulatedCluster(replace(chain, services=(web, service("api"))), seed=0)
    sim.inject(Fault(FaultKind.NETWORK_PARTITION, 0, WEB), injection_id="p")  # one pod of two
    s = sim.instant()
    assert s.availability[WEB_SVC] == pytest.approx(1.0)
    assert s.latency_p99_ms[WEB_SVC] >= 300.0  # half the requests waited on the hung pod first
