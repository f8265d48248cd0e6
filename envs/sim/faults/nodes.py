"""Node faults: failure (the node stops for the ladder's seconds) and drain (cordon + evictions)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from envs.faults import Fault
from envs.sim.faults.base import Applied
from envs.sim.pdb import eviction_blocker
from envs.sim.state import TERMINATING, Node

if TYPE_CHECKING:
    from envs.sim.cluster import SimulatedCluster


def node_failure(sim: SimulatedCluster, fault: Fault, injection_id: str, target: int) -> Applied:
    node = sim.nodes[target]
    affected = tuple(sorted(p.name for p in node.pods if p.phase != TERMINATING))
    sim.node_down(node, injection_id)
    sim.call_later(fault.magnitude, lambda: sim.node_up(node, injection_id))
    return Applied("applied", f"{node.name} down for {fault.magnitude:g} s", affected,
                   lambda: sim.node_up(node, injection_id))


def node_drain(sim: SimulatedCluster, fault: Fault, injection_id: str, target: int) -> Applied:
    node = sim.nodes[target]
    bypass = fault.magnitude >= 1
    node.cordons.add(injection_id)
    evicted, blocked = _evict_all(sim, node, bypass)
    if blocked:
        def retry() -> None:
            if injection_id not in sim.active:
                return
            _, still = _evict_all(sim, node, False)
            if still:
                sim.call_later(sim.timings.drain_retry_s, retry)

        sim.call_later(sim.timings.drain_retry_s, retry)

    def revert() -> None:
        node.cordons.discard(injection_id)
        sim.request_schedule()

    detail = f"cordoned {node.name}, {'deleted' if bypass else 'evicted'} {len(evicted)} pod(s)"
    if blocked:
        detail += "; waiting on " + "; ".join(blocked)
    return Applied("applied", detail, tuple(evicted), revert)


def _evict_all(sim: SimulatedCluster, node: Node, bypass: bool) -> tuple[list[str], list[str]]:
    evicted: list[str] = []
    blocked: list[str] = []
    for pod in sorted(node.pods, key=lambda p: p.name):
        if pod.phase == TERMINATING or pod not in sim.wls[pod.w].pods:
            continue
        if not bypass:
            pdb = eviction_blocker(sim, pod)
            if pdb is not None:
                blocked.append(f"{pod.name} (PDB {pdb.namespace}/{pdb.name})")
                continue
        sim.delete_pod(pod, grace_s=sim.wls[pod.w].spec.template.termination_grace_s)
        evicted.append(pod.name)
    return evicted, blocked
