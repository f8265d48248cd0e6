"""The footprint: which workloads each active fault reached, and how many of their pods, before injection."""

from __future__ import annotations

from envs.experiment import Timing, run_experiment, wait_for_steady_state
from envs.faults import Fault, FaultKind
from envs.footprint import footprint
from envs.sim import SimulatedCluster
from envs.spec import Call, ClusterSpec, NodeSpec
from tests.envs.sim.sim_specs import NS, deployment, nodes, service

BACK = f"{NS}/Deployment/back"
FRONT = f"{NS}/Deployment/front"


def _spec() -> ClusterSpec:
    front = deployment("front", 3, calls=(Call(f"{NS}/Service/back"),))
    back = deployment("back", 2)
    gpu = deployment("trainer", 1, gpus=2)
    return ClusterSpec("fp", (*nodes(3), NodeSpec("gpu-0", gpus=4)), (front, back, gpu),
                       (service("front", entry=True, load=20.0), service("back")))


def test_a_node_fault_reaches_the_pods_on_that_node_only() -> None:
    sim = SimulatedCluster(_spec(), seed=1)
    state = sim.snapshot()
    node = dict(state.workloads[FRONT].pods_by_node)
    name = next(iter(node))
    touched = footprint([Fault(FaultKind.NODE_FAILURE, 0, f"Node/{name}")], state)
    expected = {k: dict(s.pods_by_node).get(name, 0) for k, s in state.workloads.items()}
    assert {t.workload: t.pods_hit for t in touched} == {k: v for k, v in expected.items() if v}
    assert all(t.pods == state.workloads[t.workload].desired for t in touched)


def test_pod_faults_take_their_ladder_share_and_degradations_take_no_pod() -> None:
    state = SimulatedCluster(_spec(), seed=1).snapshot()
    kill, = footprint([Fault(FaultKind.POD_KILL, 1, FRONT)], state)
    assert (kill.pods_hit, kill.pods) == (2, 3) and not kill.all_pods
    assert footprint([Fault(FaultKind.POD_KILL, 2, BACK)], state)[0].all_pods
    assert footprint([Fault(FaultKind.NETWORK_LATENCY, 2, BACK)], state)[0].pods_hit == 0
    assert footprint([Fault(FaultKind.CONTAINER_CRASH, 2, FRONT)], state)[0].pods_hit == 1


def test_a_gpu_failure_reaches_only_gpu_pods_one_per_device() -> None:
    state = SimulatedCluster(_spec(), seed=1).snapshot()
    touched = footprint([Fault(FaultKind.GPU_DEVICE_FAILURE, 0, "Node/gpu-0")], state)
    assert [(t.workload, t.pods_hit) for t in touched] == [(f"{NS}/Deployment/trainer", 1)]


def test_an_experiment_records_the_footprint_of_every_active_fault() -> None:
    spec = _spec()
    sim = SimulatedCluster(spec, seed=3)
    timing = Timing(fault_duration_s=30, recovery_s=30)
    before = wait_for_steady_state(spec, sim, sim, timing)
    assert before is not None
    held = run_experiment(spec=spec, backend=sim, steady=sim, fault=Fault(FaultKind.NETWORK_LATENCY, 0, BACK),
                          injection_id="a", timing=timing, hold=True, before=before)
    result = run_experiment(spec=spec, backend=sim, steady=sim, fault=Fault(FaultKind.POD_KILL, 0, FRONT),
                            injection_id="b", timing=timing, held=(held.injection,), before=before)
    assert [(t.fault.kind, t.workload) for t in result.footprint] == [
        (FaultKind.NETWORK_LATENCY, BACK), (FaultKind.POD_KILL, FRONT)]
