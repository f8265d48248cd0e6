"""GPU faults: devices of a node fall off the bus (XID 79); another process takes framebuffer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from envs.faults import Fault, units_hit
from envs.sim import ml
from envs.sim.faults.base import Applied, clear_effect, set_effect

if TYPE_CHECKING:
    from envs.sim.cluster import SimulatedCluster


def gpu_device_failure(sim: SimulatedCluster, fault: Fault, injection_id: str, target: int) -> Applied:
    node = sim.nodes[target]
    healthy = [d for d, f in enumerate(node.gpu_failed) if not f]
    if not healthy:
        return Applied("failed", f"{node.name} has no healthy GPU devices")
    n = units_hit(fault.intensity, fault.magnitude, len(healthy))
    picks = sorted(int(i) for i in sim.rng.choice(len(healthy), size=n, replace=False))
    devices = [healthy[i] for i in picks]
    sim.touch()
    victims = []
    for d in devices:
        node.gpu_failed[d] += 1
        owner = node.gpu_owner[d]
        if owner is not None and owner not in victims:
            victims.append(owner)
    for pod in victims:
        sim.delete_pod(pod, grace_s=0.0)  # the pod fails; its controller replaces it where GPUs are free

    def revert() -> None:
        sim.touch()
        for d in devices:
            node.gpu_failed[d] -= 1
        sim.request_schedule()

    return Applied("applied", f"GPU device(s) {devices} of {node.name} failed",
                   tuple(p.name for p in victims), revert)


def gpu_memory_pressure(sim: SimulatedCluster, fault: Fault, injection_id: str, target: int) -> Applied:
    ws = sim.wls[target]
    if ws.spec.template.gpus <= 0:
        return Applied("failed", f"{ws.spec.key} uses no GPUs")
    set_effect(sim, ws, injection_id, fault.kind.value, fault.magnitude)
    oom = [p for p in ws.pods if p.alive and ml.gpu_oom(ws, p)]
    for pod in oom:
        sim.crash(pod)
    detail = f"{fault.magnitude:.0%} of framebuffer taken" + (f"; {len(oom)} pod(s) OOM" if oom else "")
    return Applied("applied", detail, tuple(p.name for p in oom), lambda: clear_effect(sim, ws, injection_id))
