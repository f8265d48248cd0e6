"""The fault registry of the Kubernetes backend: every catalog kind to the family module that realises it.

An explicit dict, not package walking; tests are parametrised over it, so a new kind is tested the
day it is added.
"""

from __future__ import annotations

from agent.backends.kubernetes.faults.base import ActionContext, FaultAction, FaultPlan
from agent.backends.kubernetes.faults.data import DataFault
from agent.backends.kubernetes.faults.gpu import GpuDeviceFailure, GpuPodKill
from agent.backends.kubernetes.faults.network import ChaosMeshFault
from agent.backends.kubernetes.faults.nodes import NodeDrain, NodeFailure
from agent.backends.kubernetes.faults.pods import PodEviction, PodKill
from envs.faults import FaultKind

_pod_kill, _chaos_mesh, _data = PodKill(), ChaosMeshFault(), DataFault()

FAULT_ACTIONS: dict[FaultKind, FaultAction] = {
    FaultKind.POD_KILL: _pod_kill,
    FaultKind.CONTAINER_CRASH: _pod_kill,
    FaultKind.POD_EVICTION: PodEviction(),
    FaultKind.NODE_FAILURE: NodeFailure(),
    FaultKind.NODE_DRAIN: NodeDrain(),
    FaultKind.NETWORK_LATENCY: _chaos_mesh,
    FaultKind.NETWORK_JITTER: _chaos_mesh,
    FaultKind.NETWORK_LOSS: _chaos_mesh,
    FaultKind.NETWORK_PARTITION: _chaos_mesh,
    FaultKind.CPU_STRESS: _chaos_mesh,
    FaultKind.GPU_DEVICE_FAILURE: GpuDeviceFailure(),
    FaultKind.GPU_MEMORY_PRESSURE: GpuPodKill(),
    FaultKind.DATA_DRIFT: _data,
    FaultKind.CORRUPTED_ROWS: _data,
    FaultKind.DELAYED_INGESTION: _data,
}


def distinct_actions() -> list[FaultAction]:
    """Each action once (several kinds share one), in registry order."""
    seen: list[FaultAction] = []
    for action in FAULT_ACTIONS.values():
        if all(action is not s for s in seen):
            seen.append(action)
    return seen


__all__ = ["FAULT_ACTIONS", "ActionContext", "FaultAction", "FaultPlan", "distinct_actions"]
