"""What the active faults took, workload by workload, read from the cluster just before the injection.

A node fault takes the pods that were on the node; a pod fault takes its share of the workload's pods;
a degradation (latency, loss, CPU, GPU memory, data) takes no pod but touches every pod of its target.
The footprint is evidence: the root-cause analysis (``envs.weaknesses``) reads which workloads a fault
reached and how many of their pods, and the design basis counts pods against the replicas of the moment.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from envs.cluster import ClusterState
from envs.faults import CATALOG, Fault, FaultKind, units_hit

_POD_SHARE = frozenset({FaultKind.POD_KILL, FaultKind.POD_EVICTION, FaultKind.NETWORK_PARTITION})


@dataclass(frozen=True)
class Touch:
    """One workload one fault reached."""

    fault: Fault
    workload: str
    pods_hit: int
    """Pods the fault takes down or cuts off (0 for a degradation, which slows or spoils every pod)."""
    pods: int
    """The workload's desired pods at the time."""

    @property
    def all_pods(self) -> bool:
        return self.pods > 0 and self.pods_hit >= self.pods

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.fault.kind.value, "intensity": self.fault.intensity, "target": self.fault.target,
                "workload": self.workload, "pods_hit": self.pods_hit, "pods": self.pods}

    @classmethod
    def from_dict(cls, d: Mapping[str, object]) -> Touch:
        fault = Fault(FaultKind(str(d["kind"])), int(str(d["intensity"])), str(d["target"]))
        return cls(fault, str(d["workload"]), int(str(d["pods_hit"])), int(str(d["pods"])))


def footprint(faults: Sequence[Fault], state: ClusterState) -> tuple[Touch, ...]:
    """Every workload each of ``faults`` reaches in ``state`` (taken before the injection)."""
    out: list[Touch] = []
    for fault in faults:
        if CATALOG[fault.kind].target == "node":
            out.extend(_node_touches(fault, state))
            continue
        status = state.workloads.get(fault.target)
        desired = status.desired if status is not None else 0
        if fault.kind in _POD_SHARE:
            hit = units_hit(fault.intensity, fault.magnitude, desired)
        elif fault.kind is FaultKind.CONTAINER_CRASH:
            hit = min(1, desired)
        else:
            hit = 0
        out.append(Touch(fault, fault.target, hit, desired))
    return tuple(out)


def _node_touches(fault: Fault, state: ClusterState) -> list[Touch]:
    name = fault.target.removeprefix("Node/")
    gpu_only = fault.kind is FaultKind.GPU_DEVICE_FAILURE
    devices = 0
    if gpu_only:
        node = next((n for n in state.spec.nodes if n.key == fault.target), None)
        devices = units_hit(fault.intensity, fault.magnitude, node.gpus if node is not None else 0)
    out = []
    for key, status in sorted(state.workloads.items()):
        here = dict(status.pods_by_node).get(name, 0)
        if not here:
            continue
        if gpu_only:
            try:
                gpus = state.spec.workload(key).template.gpus
            except KeyError:
                gpus = 0
            if gpus <= 0:
                continue
            here = min(here, devices)  # a failed device belongs to one pod
        out.append(Touch(fault, key, here, status.desired))
    return out
