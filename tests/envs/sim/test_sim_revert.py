"""Every fault kind injects and reverts cleanly; faults expire after their duration and compose."""

from __future__ import annotations

import pytest
from sim_specs import NS, rich_spec

from envs.faults import CATALOG, Fault, FaultKind
from envs.sim import SimulatedCluster, SimulationError

TARGETS = {
    "pod": f"{NS}/Deployment/api", "network": f"{NS}/Deployment/api", "gpu": f"{NS}/Job/train",
    "data": f"{NS}/Deployment/ingest",
}
NODE_TARGETS = {FaultKind.GPU_DEVICE_FAILURE: "Node/gpu-0"}


def target_of(kind: FaultKind, sim: SimulatedCluster) -> str:
    if CATALOG[kind].target == "node":
        if kind in NODE_TARGETS:
            return NODE_TARGETS[kind]
        api = sim.snapshot().workloads[f"{NS}/Deployment/api"].pods_by_node
        return f"Node/{api[0][0]}"
    return TARGETS[CATALOG[kind].family]


def _quiet_state(sim: SimulatedCluster) -> tuple[object, ...]:
    s = sim.instant()
    snap = sim.snapshot()
    return (
        dict(s.availability), {k: round(v, 6) for k, v in s.latency_p99_ms.items()}, dict(s.accuracy),
        dict(s.bad_rows), dict(s.drift_detected),
        {k: (w.desired, w.ready, w.pending) for k, w in snap.workloads.items()},
        {k: (n.ready, n.schedulable, n.gpus_allocatable) for k, n in snap.nodes.items()},
    )


def _no_leftovers(sim: SimulatedCluster) -> None:
    assert sim.active == {}
    for ws in sim.wls:
        assert ws.effects == {}
        assert (ws.latency_ms, ws.jitter_ms, ws.loss, ws.stress, ws.gpu_pressure, ws.drift, ws.corrupt,
                ws.delay_s) == (0.0,) * 8
        assert all(p.partitions == 0 and p.crashes_left == 0 for p in ws.pods)
    for n in sim.nodes:
        assert not n.cordons and not n.down and not any(n.gpu_failed)


@pytest.mark.parametrize("kind", list(CATALOG))
@pytest.mark.parametrize("intensity", [0, 2])
def test_revert_restores_everything(kind: FaultKind, intensity: int) -> None:
    sim = SimulatedCluster(rich_spec(), seed=7)
    sim.wait(30)
    baseline = _quiet_state(sim)
    inj = sim.inject(Fault(kind, intensity, target_of(kind, sim), duration_s=600), injection_id="x")
    assert inj.outcome in ("applied", "refused"), inj
    sim.wait(60)
    sim.revert(inj)
    _no_leftovers(sim)
    sim.revert(inj)  # idempotent
    sim.wait(900)  # long enough for every replacement, back-off and rescheduling
    _no_leftovers(sim)
    assert _quiet_state(sim) == baseline


@pytest.mark.parametrize("kind", list(CATALOG))
def test_fault_expires_after_its_duration(kind: FaultKind) -> None:
    sim = SimulatedCluster(rich_spec(), seed=3)
    inj = sim.inject(Fault(kind, 1, target_of(kind, sim), duration_s=120), injection_id="x")
    if inj.outcome != "applied":
        return
    assert "x" in sim.active
    sim.wait(119.9)
    assert "x" in sim.active
    sim.wait(0.2)
    _no_leftovers(sim)
    sim.revert(inj)  # after expiry: a no-op


def test_effects_compose_and_revert_separately() -> None:
    sim = SimulatedCluster(rich_spec(), seed=0)
    api = f"{NS}/Deployment/api"
    a = sim.inject(Fault(FaultKind.NETWORK_LATENCY, 0, api), injection_id="a")
    b = sim.inject(Fault(FaultKind.NETWORK_LATENCY, 1, api), injection_id="b")
    assert sim.wls[1].latency_ms == 600.0
    sim.revert(a)
    assert sim.wls[1].latency_ms == 500.0
    sim.revert(b)
    assert sim.wls[1].latency_ms == 0.0


def test_held_partition_and_pod_kill_compose() -> None:
    sim = SimulatedCluster(rich_spec(), seed=0)
    api = f"{NS}/Deployment/api"
    web = f"{NS}/Service/web"
    part = sim.inject(Fault(FaultKind.NETWORK_PARTITION, 0, api, duration_s=600), injection_id="p")
    partitioned = part.affected_pods[0]
    kill = sim.inject(Fault(FaultKind.POD_KILL, 0, api), injection_id="k")
    survivors = {p.name for p in sim.pods() if p.workload == api}
    assert len(survivors) == 2
    avail = sim.instant().availability[web]
    expected_dead = 1 if partitioned in survivors else 0
    assert avail < 1.0 if expected_dead else avail == 1.0
    sim.wait(30)
    sim.revert(kill)
    if partitioned in survivors:
        assert sim.instant().availability[web] < 1.0  # the partition is still held
    sim.revert(part)
    assert sim.instant().availability[web] == 1.0


def test_drain_revert_leaves_a_failed_node_down() -> None:
    sim = SimulatedCluster(rich_spec(), seed=0)
    fail = sim.inject(Fault(FaultKind.NODE_FAILURE, 2, "Node/node-0", duration_s=900), injection_id="f")
    drain = sim.inject(Fault(FaultKind.NODE_DRAIN, 2, "Node/node-0"), injection_id="d")
    sim.wait(50)
    sim.revert(drain)
    snap = sim.snapshot().nodes["Node/node-0"]
    assert snap.schedulable and not snap.ready
    sim.revert(fail)
    sim.wait(1)
    assert sim.snapshot().nodes["Node/node-0"].ready


def test_bad_targets_are_rejected_with_a_clear_error() -> None:
    sim = SimulatedCluster(rich_spec(), seed=0)
    with pytest.raises(SimulationError, match="not a workload"):
        sim.inject(Fault(FaultKind.POD_KILL, 0, "shop/Deployment/nope"), injection_id="a")
    with pytest.raises(SimulationError, match="targets a node"):
        sim.inject(Fault(FaultKind.NODE_FAILURE, 0, f"{NS}/Deployment/api"), injection_id="a")
    sim.inject(Fault(FaultKind.CPU_STRESS, 0, f"{NS}/Deployment/api"), injection_id="a")
    with pytest.raises(SimulationError, match="still active"):
        sim.inject(Fault(FaultKind.CPU_STRESS, 0, f"{NS}/Deployment/api"), injection_id="a")
    with pytest.raises(SimulationError, match="seconds >= 0"):
        sim.wait(-1)


def test_an_old_handle_or_timer_never_reverts_a_later_injection_with_the_same_id() -> None:
    sim = SimulatedCluster(rich_spec(), seed=0)
    api = f"{NS}/Deployment/api"
    old = sim.inject(Fault(FaultKind.CPU_STRESS, 0, api, duration_s=100), injection_id="x")
    sim.revert(old)
    sim.inject(Fault(FaultKind.NETWORK_LATENCY, 1, api, duration_s=500), injection_id="x")
    sim.revert(old)  # the handle of the reverted injection
    sim.wait(150)  # the old expiry timer fires at 100
    assert sim.wls[1].latency_ms == 500.0
    sim.wait(400)
    assert sim.wls[1].latency_ms == 0.0
