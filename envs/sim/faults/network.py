"""Network faults on traffic into a workload's pods: latency, jitter, loss, and partitions of pods."""

from __future__ import annotations

from typing import TYPE_CHECKING

from envs.faults import Fault, units_hit
from envs.sim.faults.base import Applied, choose, clear_effect, set_effect

if TYPE_CHECKING:
    from envs.sim.cluster import SimulatedCluster


def network_effect(sim: SimulatedCluster, fault: Fault, injection_id: str, target: int) -> Applied:
    ws = sim.wls[target]
    set_effect(sim, ws, injection_id, fault.kind.value, fault.magnitude)
    return Applied("applied", fault.describe(), tuple(p.name for p in ws.pods),
                   lambda: clear_effect(sim, ws, injection_id))


def network_partition(sim: SimulatedCluster, fault: Fault, injection_id: str, target: int) -> Applied:
    """Cut chosen pods off from their callers; they stay Ready (the kubelet still reaches them)."""
    ws = sim.wls[target]
    bound = [p for p in ws.pods if p.node is not None]
    if not bound:
        return Applied("failed", f"{ws.spec.key} has no running pods to partition")
    chosen = choose(sim.rng, bound, units_hit(fault.intensity, fault.magnitude, len(bound)))
    sim.touch()
    for p in chosen:
        p.partitions += 1

    def revert() -> None:
        sim.touch()
        for p in chosen:
            p.partitions -= 1

    return Applied("applied", f"partitioned {len(chosen)} pod(s)", tuple(p.name for p in chosen), revert)
