"""The same scenario on the simulator backend and through the Kubernetes API gives the same findings.

Path A runs the experiments on ``SimulatedCluster`` directly (``envs.worlds.simulated_world``).
Path B runs them with the agent's ``KubernetesBackend`` talking HTTP, through the official client,
to the Kubernetes emulator, where a simulator of the same spec and seed plays controller manager,
scheduler and kubelets (``tests.emulator.controllers``): faults are API calls (pod deletes,
Evictions a PDB may refuse, cordons), the bridge feeds what they did into its simulator, and the
steady-state signals come from that simulator, as Prometheus would read a real cluster's exporters.
Time is the bridged simulator's: ``BridgedCluster.wait`` advances it in step with the loop.

Both paths run the same faults through ``envs.experiment.run_experiment`` and must agree on every
outcome (applied or refused, and how many pods were hit) and on every finding (violation, target,
affected workloads), and leave no fault behind.

Faults covered: ``pod_kill`` (one pod, all pods), ``pod_eviction`` (partly and wholly refused by a
PDB), ``node_drain`` (evicting, with PDB refusals, and deleting past PDBs). Excluded, because their
API realisation deliberately differs from the simulator's model (docs/operator-kubernetes.md) or
the bridge does not model their effect:

- ``node_failure``: through the API a NoExecute taint evicts at once and the pods are replaced
  elsewhere within seconds; the simulator models a stopped node (pods stop serving at once, the node
  goes NotReady after 40 s, pods are evicted 300 s later), so the outage and findings differ.
- ``container_crash``: realised as a delete with grace 0, so restart back-off and crash streaks
  (the magnitude) are not reproduced.
- ``network_*``, ``cpu_stress``: Chaos Mesh objects; the bridge does not feed them into its
  simulator (no Chaos Mesh daemon acts on them), so no effect would show.
- ``gpu_*``, data faults: no GPUs or pipelines in this scenario (and data faults act through a
  ConfigMap hook the bridge does not read).

Which pod a fault hits is drawn from the seed on the simulator and from the injection id through
the API; in this scenario the replicas of a workload are interchangeable, so the findings do not
depend on it. A drain's PDB-refused evictions are retried every 5 s by the simulator (as
``kubectl drain`` does) but tried once by the agent; the drain below hits only pods whose refusal
lasts (``db``) or whose later eviction breaks nothing (``frontend``), so the findings agree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from agent.backends.kubernetes.backend import KubernetesBackend
from agent.config.cluster import KubernetesCluster
from envs.chaos_env import findings_of
from envs.cluster import ClusterBackend, SteadyStateSource
from envs.experiment import Timing, run_experiment, wait_for_steady_state
from envs.spec import ClusterSpec
from envs.worlds import simulated_world
from tests.agent.backends.kubernetes.conftest import fast_api
from tests.emulator.controllers import SimulatedControlPlane
from tests.emulator.server import KubernetesEmulator
from tests.parity.bridged import BridgedCluster, emulator_leftovers, simulator_leftovers
from tests.parity.scenario import CACHE_NODE, CATALOG, DB, FRONTEND, GRACE_S, fault_plan, shop_spec

SEED = 7
TIMING = Timing(fault_duration_s=60.0, sample_every_s=15.0, recovery_s=180.0)


@dataclass(frozen=True)
class Observed:
    """What an experiment showed, in the terms both paths share (pod names are path-specific)."""

    fault: str
    outcome: str
    pods_hit: int
    findings: frozenset[tuple[str, str, tuple[str, ...]]]


def _run_plan(spec: ClusterSpec, backend: ClusterBackend, steady: SteadyStateSource,
              converged: Callable[[], bool]) -> list[Observed]:
    observed = []
    for i, fault in enumerate(fault_plan()):
        before = wait_for_steady_state(spec, backend, steady, TIMING)
        assert before is not None, f"the steady state did not heal before {fault.describe()}"
        result = run_experiment(spec=spec, backend=backend, steady=steady, fault=fault, injection_id=f"parity-{i}",
                                timing=TIMING, before=before, converged=converged)
        observed.append(Observed(
            fault=fault.describe(), outcome=result.injection.outcome, pods_hit=len(result.injection.affected_pods),
            findings=frozenset((f.violation, f.target, f.affected) for f in findings_of(result)),
        ))
    return observed


@pytest.fixture
def bridged(k8s_emulator: KubernetesEmulator) -> Iterator[BridgedCluster]:
    plane = SimulatedControlPlane(k8s_emulator, shop_spec(), seed=SEED)
    settings = KubernetesCluster(pod_grace_period_s=int(GRACE_S))
    backend = KubernetesBackend(fast_api(k8s_emulator), name="parity", settings=settings, clock=plane.sim.now)
    backend.cache._reconnect_delay_s = 0.05
    backend.start(timeout_s=10)
    try:
        yield BridgedCluster(plane, backend)
    finally:
        backend.close()
        plane.close()


def test_simulator_and_emulator_paths_find_the_same_weaknesses(bridged: BridgedCluster) -> None:
    spec = shop_spec()
    world = simulated_world(spec, seed=SEED)
    on_simulator = _run_plan(spec, world.backend, world.steady, world.converged)
    through_api = _run_plan(spec, bridged, bridged.plane.sim, bridged.converged)

    assert through_api == on_simulator
    # Both paths agreeing on nothing would prove nothing: the plan must reach each kind of weakness.
    findings = {f for o in on_simulator for f in o.findings}
    assert ("availability", CATALOG, (FRONTEND,)) in findings  # the single-replica dependency
    assert ("availability", f"Node/{CACHE_NODE}", (FRONTEND,)) in findings  # all of cache on one node
    assert ("data_loss", DB, (DB,)) in findings  # a StatefulSet without storage
    assert {o.outcome for o in on_simulator} == {"applied", "refused"}  # the PDBs refuse evictions
    assert simulator_leftovers(world.backend) == []  # type: ignore[arg-type]
    assert emulator_leftovers(bridged.plane.em) == [] and simulator_leftovers(bridged.plane.sim) == []

