"""Data faults on a pipeline stage's output: drift, corrupted rows, delayed ingestion."""

from __future__ import annotations

from typing import TYPE_CHECKING

from envs.faults import Fault
from envs.sim.faults.base import Applied, clear_effect, set_effect

if TYPE_CHECKING:
    from envs.sim.cluster import SimulatedCluster


def data_fault(sim: SimulatedCluster, fault: Fault, injection_id: str, target: int) -> Applied:
    ws = sim.wls[target]
    if ws.spec.pipeline is None:
        return Applied("failed", f"{ws.spec.key} is not a pipeline stage")
    set_effect(sim, ws, injection_id, fault.kind.value, fault.magnitude)
    return Applied("applied", fault.describe(), (), lambda: clear_effect(sim, ws, injection_id))
