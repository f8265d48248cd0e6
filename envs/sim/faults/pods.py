"""Pod faults: kill (ignores PDBs), eviction (through the PDB check), container crash, CPU stress."""

from __future__ import annotations

from typing import TYPE_CHECKING

from envs.faults import Fault, units_hit
from envs.sim.faults.base import Applied, choose, clear_effect, nothing, set_effect
from envs.sim.pdb import eviction_blocker

if TYPE_CHECKING:
    from envs.sim.cluster import SimulatedCluster


def pod_kill(sim: SimulatedCluster, fault: Fault, injection_id: str, target: int) -> Applied:
    ws = sim.wls[target]
    if not ws.pods:
        return Applied("failed", f"{ws.spec.key} has no pods to kill")
    victims = choose(sim.rng, ws.pods, units_hit(fault.intensity, fault.magnitude, len(ws.pods)))
    for pod in victims:
        sim.delete_pod(pod, grace_s=0.0)  # Chaos Mesh pod-kill: gracePeriod 0
    return Applied("applied", f"deleted {len(victims)} pod(s)", tuple(p.name for p in victims), nothing)


def pod_eviction(sim: SimulatedCluster, fault: Fault, injection_id: str, target: int) -> Applied:
    ws = sim.wls[target]
    if not ws.pods:
        return Applied("failed", f"{ws.spec.key} has no pods to evict")
    chosen = choose(sim.rng, ws.pods, units_hit(fault.intensity, fault.magnitude, len(ws.pods)))
    evicted: list[str] = []
    refused: list[str] = []
    for pod in chosen:
        pdb = eviction_blocker(sim, pod)
        if pdb is not None:
            refused.append(f"{pod.name}: Cannot evict pod as it would violate the pod's disruption budget "
                           f"{pdb.namespace}/{pdb.name}")
            continue
        sim.delete_pod(pod, grace_s=ws.spec.template.termination_grace_s)
        evicted.append(pod.name)
    if not evicted:
        return Applied("refused", "; ".join(refused))
    detail = f"evicted {len(evicted)} pod(s)" + (("; refused " + "; ".join(refused)) if refused else "")
    return Applied("applied", detail, tuple(evicted), nothing)


def container_crash(sim: SimulatedCluster, fault: Fault, injection_id: str, target: int) -> Applied:
    ws = sim.wls[target]
    running = [p for p in ws.pods if p.alive] or [p for p in ws.pods if p.node is not None]
    if not running:
        return Applied("failed", f"{ws.spec.key} has no started pod whose container could crash")
    pod = choose(sim.rng, running, 1)[0]
    crashes = int(fault.magnitude)
    pod.crashes_left = crashes - 1
    sim.crash(pod)

    def revert() -> None:
        pod.crashes_left = 0  # the back-off already running still has to elapse

    return Applied("applied", f"crashing {pod.name} {crashes} time(s)", (pod.name,), revert)


def cpu_stress(sim: SimulatedCluster, fault: Fault, injection_id: str, target: int) -> Applied:
    ws = sim.wls[target]
    set_effect(sim, ws, injection_id, fault.kind.value, fault.magnitude)
    return Applied("applied", f"{fault.magnitude:.0%} of CPU burnt in {ws.spec.key}",
                   tuple(p.name for p in ws.pods), lambda: clear_effect(sim, ws, injection_id))
