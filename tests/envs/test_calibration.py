"""Calibration: timings read from a real experiment's snapshots, averaged, and applied to the twin."""

from __future__ import annotations

import pytest

from envs.calibration import Calibration, Estimate, Observation, apply, observations, ready_delay_s
from envs.cluster import ClusterState, NodeStatus, SteadyStateSample, WorkloadStatus
from envs.faults import Fault, FaultKind
from envs.sim import SimulatedCluster, Timings
from envs.spec import ClusterSpec, LabelSelector, NodeSpec, PodTemplate, Probe, ServiceSpec, Workload

WEB = "shop/Deployment/web"
SPEC = ClusterSpec("c", (NodeSpec("a"), NodeSpec("b")), (
    Workload("shop", "web", "Deployment", 2, PodTemplate(labels=(("app", "web"),), readiness_probe=Probe(5.0))),
    Workload("shop", "lead", "Deployment", 2, PodTemplate(labels=(("app", "lead"),)), leader_failover_s=10.0),
), (ServiceSpec("shop", "lead", LabelSelector((("app", "lead"),)), entrypoint=True, load_rps=5.0),))


def state(t: float, *, ready: int = 2, node_a_ready: bool = True, on_a: int = 1) -> ClusterState:
    pods = (("a", on_a), ("b", 2 - on_a)) if on_a else (("b", 2),)
    nodes = {"Node/a": NodeStatus("Node/a", node_a_ready, True), "Node/b": NodeStatus("Node/b", True, True)}
    return ClusterState(SPEC, {WEB: WorkloadStatus(WEB, 2, ready, pods)}, nodes, t)


def test_a_pod_kill_shows_the_workloads_recovery() -> None:
    timeline = [state(115, ready=1), state(130, ready=1), state(145, ready=2)]
    seen = observations(Fault(FaultKind.POD_KILL, 0, WEB), 100.0, timeline)
    assert seen == [Observation("recovery", WEB, 45.0)]
    assert observations(Fault(FaultKind.POD_KILL, 0, WEB), 100.0, [state(115), state(130)]) == []  # too fast


def test_a_node_failure_shows_detection_and_rescheduling() -> None:
    timeline = [state(115), state(130, node_a_ready=False), state(430, node_a_ready=False),
                state(445, node_a_ready=False, on_a=0)]
    seen = observations(Fault(FaultKind.NODE_FAILURE, 2, "Node/a", duration_s=600), 100.0, timeline)
    assert seen == [Observation("detection", "Node/a", 30.0), Observation("rescheduling", "Node/a", 315.0)]


def test_a_leader_pod_kill_shows_the_failover_in_the_entry_points_samples() -> None:
    key = "shop/Service/lead"
    samples = [SteadyStateSample(t, {key: a}) for t, a in ((115, 0.0), (130, 0.0), (145, 1.0))]
    seen = observations(Fault(FaultKind.POD_KILL, 0, "shop/Deployment/lead"), 100.0, [], samples, SPEC)
    assert seen == [Observation("failover", "shop/Deployment/lead", 45.0)]


def test_estimates_are_running_means_and_apply_to_the_spec() -> None:
    cal = Calibration().observe([Observation("recovery", WEB, 40.0), Observation("recovery", WEB, 50.0),
                                 Observation("detection", "Node/a", 30.0), Observation("detection", "Node/b", 50.0),
                                 Observation("failover", "shop/Deployment/lead", 25.0)])
    assert cal.estimates[("recovery", WEB)] == Estimate(45.0, 2)
    assert cal.estimates[("detection", "")] == Estimate(40.0, 2)  # cluster-wide
    spec = apply(cal, SPEC)
    web = spec.workload(WEB)
    assert web.template.startup_s == pytest.approx(45.0 - ready_delay_s(web.template))
    assert spec.workload("shop/Deployment/lead").leader_failover_s == 25.0
    assert spec.calibrated == (("node_monitor_grace_s", 40.0),)


def test_the_simulator_runs_on_the_calibrated_timings() -> None:
    spec = apply(Calibration().observe([Observation("detection", "Node/a", 20.0),
                                        Observation("recovery", WEB, 40.0)]), SPEC)
    sim = SimulatedCluster(spec, seed=0)
    assert sim.timings.node_monitor_grace_s == 20.0 and Timings().node_monitor_grace_s == 40.0
    sim.inject(Fault(FaultKind.NODE_FAILURE, 2, "Node/a", duration_s=600), injection_id="n")
    sim.wait(19)
    assert sim.snapshot().nodes["Node/a"].ready
    sim.wait(2)
    assert not sim.snapshot().nodes["Node/a"].ready
    # The replacement of a killed pod is Ready when the cluster's was (40 s), not after the default 5 s start.
    fresh = SimulatedCluster(spec, seed=0)
    fresh.inject(Fault(FaultKind.POD_KILL, 0, WEB), injection_id="k")
    fresh.wait(39)
    assert fresh.snapshot().workloads[WEB].ready == 1
    fresh.wait(2)
    assert fresh.snapshot().workloads[WEB].ready == 2


def test_unobserved_workloads_take_the_median_start_and_fast_recoveries_set_the_reactions() -> None:
    slow = apply(Calibration().observe([Observation("recovery", WEB, 25.0)]), SPEC)
    lead = slow.workload("shop/Deployment/lead")
    assert lead.template.startup_s == pytest.approx(slow.workload(WEB).template.startup_s)  # the cluster's start
    assert dict(slow.calibrated).get("controller_s") is None  # slower than the default reactions: kept
    fast = apply(Calibration().observe([Observation("recovery", "shop/Deployment/lead", 1.2)]), SPEC)
    assert dict(fast.calibrated) == {"controller_s": 0.6, "scheduling_s": 0.6}
    sim = SimulatedCluster(fast, seed=0)
    sim.inject(Fault(FaultKind.POD_KILL, 0, "shop/Deployment/lead"), injection_id="k")
    sim.wait(1.3)
    assert sim.snapshot().workloads["shop/Deployment/lead"].ready == 2
