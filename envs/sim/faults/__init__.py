"""Fault injection into the simulator: one module per family behind one signature, and the registry.

A handler applies a fault to a resolved target and returns an ``Applied``: the outcome and, when
applied, the revert. ``apply_fault`` records the revert under the injection id and schedules the
automatic expiry at inject time + ``duration_s`` (as Chaos Mesh's ``duration``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from envs.cluster import Injection
from envs.faults import CATALOG, Fault, FaultKind
from envs.sim.errors import SimulationError
from envs.sim.faults import data, gpu, network, nodes, pods
from envs.sim.faults.base import Applied, Handler

if TYPE_CHECKING:
    from envs.sim.cluster import SimulatedCluster

HANDLERS: dict[FaultKind, Handler] = {
    FaultKind.POD_KILL: pods.pod_kill,
    FaultKind.POD_EVICTION: pods.pod_eviction,
    FaultKind.CONTAINER_CRASH: pods.container_crash,
    FaultKind.CPU_STRESS: pods.cpu_stress,
    FaultKind.NODE_FAILURE: nodes.node_failure,
    FaultKind.NODE_DRAIN: nodes.node_drain,
    FaultKind.NETWORK_LATENCY: network.network_effect,
    FaultKind.NETWORK_JITTER: network.network_effect,
    FaultKind.NETWORK_LOSS: network.network_effect,
    FaultKind.NETWORK_PARTITION: network.network_partition,
    FaultKind.GPU_DEVICE_FAILURE: gpu.gpu_device_failure,
    FaultKind.GPU_MEMORY_PRESSURE: gpu.gpu_memory_pressure,
    FaultKind.DATA_DRIFT: data.data_fault,
    FaultKind.CORRUPTED_ROWS: data.data_fault,
    FaultKind.DELAYED_INGESTION: data.data_fault,
}

__all__ = ["HANDLERS", "Applied", "apply_fault"]


def apply_fault(sim: SimulatedCluster, fault: Fault, injection_id: str) -> Injection:
    if injection_id in sim.active:
        raise SimulationError(f"injection id {injection_id!r} is still active; revert it or use a new id")
    if CATALOG[fault.kind].target == "node":
        index = sim.c.node_index.get(fault.target)
        if index is None:
            raise SimulationError(
                f"{fault.kind.value} targets a node ('Node/<name>'); {fault.target!r} is not a node of "
                f"cluster {sim.spec.name!r}"
            )
    else:
        index = sim.c.wl_index.get(fault.target)
        if index is None:
            raise SimulationError(
                f"{fault.kind.value} targets a workload ('namespace/Kind/name'); {fault.target!r} is not a "
                f"workload of cluster {sim.spec.name!r}"
            )
    result = HANDLERS[fault.kind](sim, fault, injection_id, index)
    if result.outcome == "applied" and result.revert is not None:
        entry = (fault, result.revert)
        sim.active[injection_id] = entry
        if fault.duration_s > 0:
            sim.call_later(fault.duration_s, lambda: _expire(sim, injection_id, entry))
    return Injection(injection_id, fault, result.outcome, result.detail, result.affected)


def _expire(sim: SimulatedCluster, injection_id: str, entry: tuple[Fault, Callable[[], None]]) -> None:
    if sim.active.get(injection_id) is entry:  # still this injection, not reverted (or the id reused)
        del sim.active[injection_id]
        entry[1]()
