"""Where the simulator and the API realisation of a fault disagreed or still disagree: each open gap
written down as a strict xfail naming its cause, so the day it is fixed the test passes and must be
un-marked; a closed gap stays here as a plain test, so it does not open again.

Same set-up as ``test_parity_sim_vs_emulator``: path A on ``SimulatedCluster`` directly, path B the
agent's ``KubernetesBackend`` over HTTP on the emulator with the same spec's simulator behind it.
"""

from __future__ import annotations

from agent.config.cluster import KubernetesCluster
from envs.cluster import ClusterBackend, SteadyStateSample
from envs.faults import Fault, FaultKind
from envs.simulated_clusters import simulated_world
from tests.parity.bridged import MakeBridge, emulator_leftovers
from tests.parity.compare import run_faults
from tests.parity.scenario import CATALOG, FRONTEND, shop_spec

SEED = 7
KUBERNETES_DEFAULT_GRACE_S = 30.0


class PodsOnNode:
    """Counts, at every sample of a fault window, the workload's pods on a node as the backend sees them."""

    def __init__(self, backend: ClusterBackend, workload: str, node: str) -> None:
        self.backend, self.workload, self.node = backend, workload, node
        self.seen: list[int] = []

    def now(self) -> int:
        return dict(self.backend.snapshot().workloads[self.workload].pods_by_node).get(self.node, 0)

    def __call__(self, _sample: SteadyStateSample) -> None:
        self.seen.append(self.now())


def test_pod_kill_with_the_daemons_default_grace_finds_what_the_simulator_finds(bridge: MakeBridge) -> None:
    spec = shop_spec(grace_s=KUBERNETES_DEFAULT_GRACE_S)
    # catalog (one replica) starts on node-1; node-0 then holds two frontend pods and db-0.
    faults = (Fault(FaultKind.POD_KILL, 0, CATALOG), Fault(FaultKind.NODE_DRAIN, 0, "Node/node-0"))
    world = simulated_world(spec, seed=SEED)
    bridged = bridge(spec, SEED, KubernetesCluster())  # the daemon's defaults: a hard kill (grace 0)
    on_simulator = run_faults(spec, world.backend, world.steady, world.converged, faults)
    through_api = run_faults(spec, bridged, bridged.plane.sim, bridged.converged, faults)
    assert [o.findings for o in on_simulator] == [{("availability", CATALOG, (FRONTEND,))}, set()]
    assert through_api == on_simulator


def test_eviction_with_a_hard_kill_setting_finds_what_the_simulator_finds(bridge: MakeBridge) -> None:
    spec = shop_spec(grace_s=KUBERNETES_DEFAULT_GRACE_S)
    faults = (Fault(FaultKind.POD_EVICTION, 0, CATALOG), Fault(FaultKind.NODE_DRAIN, 0, "Node/node-0"))
    world = simulated_world(spec, seed=SEED)
    bridged = bridge(spec, SEED, KubernetesCluster(pod_grace_period_s=0))
    on_simulator = run_faults(spec, world.backend, world.steady, world.converged, faults)
    through_api = run_faults(spec, bridged, bridged.plane.sim, bridged.converged, faults)
    drained = ("availability", "Node/node-0", (FRONTEND,))
    assert [o.findings for o in on_simulator] == [{("availability", CATALOG, (FRONTEND,))}, {drained}]
    assert through_api == on_simulator


def test_a_drain_empties_the_node_of_pods_its_pdb_lets_go_in_time(bridge: MakeBridge) -> None:
    spec = shop_spec()
    node = "node-0"  # the deterministic scheduler puts two frontend pods (PDB maxUnavailable 1) and db-0 there
    faults = (Fault(FaultKind.NODE_DRAIN, 0, f"Node/{node}"),)

    world = simulated_world(spec, seed=SEED)
    bridged = bridge(spec, SEED, KubernetesCluster(pod_grace_period_s=0))
    sim_left, api_left = PodsOnNode(world.backend, FRONTEND, node), PodsOnNode(bridged, FRONTEND, node)
    assert sim_left.now() == 2
    on_simulator = run_faults(spec, world.backend, world.steady, world.converged, faults, during=sim_left)
    through_api = run_faults(spec, bridged, bridged.plane.sim, bridged.converged, faults, during=api_left)
    assert on_simulator == through_api  # the findings agree (none)
    # The PDB lets the second frontend pod go once the first one's replacement is ready (between 10 and
    # 15 s): the retry at 15 s evicts it, just before the first sample, on both paths.
    assert sim_left.seen[0] == 0 and sim_left.seen[-1] == 0
    assert api_left.seen == sim_left.seen
    assert bridged.backend.next_retry_s() is None  # the revert ended the retries (db-0's PDB never let go)
    assert emulator_leftovers(bridged.plane.em) == []
