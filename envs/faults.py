"""The fault catalog: every fault kind, its family, what it can target, and its intensity ladder.

The catalog is data shared by the simulator, the Kubernetes backend, the safety layer and the
policies, so a fault means the same thing everywhere. Intensity is an index 0..2 (low, medium,
high) into a kind-specific ladder of magnitudes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

Family = Literal["pod", "node", "network", "gpu", "data"]
FAMILIES: tuple[Family, ...] = ("pod", "node", "network", "gpu", "data")
TargetType = Literal["workload", "node"]
INTENSITY_NAMES = ("low", "medium", "high")


class FaultKind(StrEnum):
    POD_KILL = "pod_kill"
    POD_EVICTION = "pod_eviction"
    CONTAINER_CRASH = "container_crash"
    NODE_FAILURE = "node_failure"
    NODE_DRAIN = "node_drain"
    NETWORK_LATENCY = "network_latency"
    NETWORK_JITTER = "network_jitter"
    NETWORK_LOSS = "network_loss"
    NETWORK_PARTITION = "network_partition"
    CPU_STRESS = "cpu_stress"
    GPU_DEVICE_FAILURE = "gpu_device_failure"
    GPU_MEMORY_PRESSURE = "gpu_memory_pressure"
    DATA_DRIFT = "data_drift"
    CORRUPTED_ROWS = "corrupted_rows"
    DELAYED_INGESTION = "delayed_ingestion"


@dataclass(frozen=True)
class FaultType:
    kind: FaultKind
    family: Family
    target: TargetType
    ladder: tuple[float, float, float]
    unit: str
    doc: str

    def magnitude(self, intensity: int) -> float:
        return self.ladder[intensity]


def _t(kind: FaultKind, family: Family, target: TargetType, ladder: tuple[float, float, float],
       unit: str, doc: str) -> FaultType:
    return FaultType(kind, family, target, ladder, unit, doc)


CATALOG: dict[FaultKind, FaultType] = {
    t.kind: t
    for t in (
        _t(FaultKind.POD_KILL, "pod", "workload", (1, 0.5, 1.0), "pods: 1, share, share",
           "delete pods (low: one pod; medium: half; high: all)"),
        _t(FaultKind.POD_EVICTION, "pod", "workload", (1, 0.5, 1.0), "pods: 1, share, share",
           "evict pods through the Eviction API; refused where a PDB forbids it"),
        _t(FaultKind.CONTAINER_CRASH, "pod", "workload", (1, 3, 6), "crashes in a row",
           "crash the main container of one pod that many times (restart back-off applies)"),
        _t(FaultKind.NODE_FAILURE, "node", "node", (60, 180, 600), "seconds down",
           "the node stops (kubelet and pods); NotReady after the grace period"),
        _t(FaultKind.NODE_DRAIN, "node", "node", (0, 0, 1), "1: delete bypassing PDBs",
           "cordon and evict every pod (high: delete without the Eviction API)"),
        _t(FaultKind.NETWORK_LATENCY, "network", "workload", (100, 500, 2000), "ms added",
           "add latency to traffic into the workload's pods"),
        _t(FaultKind.NETWORK_JITTER, "network", "workload", (50, 300, 1500), "ms jitter",
           "add latency jitter (normal, sigma) to traffic into the workload's pods"),
        _t(FaultKind.NETWORK_LOSS, "network", "workload", (0.1, 0.3, 0.7), "share lost",
           "drop packets into the workload's pods"),
        _t(FaultKind.NETWORK_PARTITION, "network", "workload", (1, 0.5, 1.0), "pods: 1, share, share",
           "partition pods of the workload from their callers"),
        _t(FaultKind.CPU_STRESS, "pod", "workload", (0.5, 0.8, 0.95), "share of CPU taken",
           "burn CPU in the workload's pods"),
        _t(FaultKind.GPU_DEVICE_FAILURE, "gpu", "node", (1, 0.5, 1.0), "devices: 1, share, share",
           "GPU devices of the node disappear (XID 79): capacity drops, pods on them fail"),
        _t(FaultKind.GPU_MEMORY_PRESSURE, "gpu", "workload", (0.3, 0.5, 0.9), "framebuffer share",
           "another process takes GPU memory on the workload's devices"),
        _t(FaultKind.DATA_DRIFT, "data", "workload", (0.5, 1.5, 3.0), "sigma shift",
           "shift a feature's distribution in the pipeline's output"),
        _t(FaultKind.CORRUPTED_ROWS, "data", "workload", (0.01, 0.1, 0.3), "share of rows",
           "corrupt rows of the pipeline's output (nulls, wrong types)"),
        _t(FaultKind.DELAYED_INGESTION, "data", "workload", (300, 1200, 3600), "seconds late",
           "hold the pipeline's output back"),
    )
}

FAULT_KINDS: tuple[FaultKind, ...] = tuple(CATALOG)


def family_of(kind: FaultKind) -> Family:
    return CATALOG[kind].family


def units_hit(fault_intensity: int, magnitude: float, total: int) -> int:
    """Pods or devices a count-or-share ladder hits: low is one; medium and high are a share, rounded up."""
    if total <= 0:
        return 0
    if fault_intensity == 0:
        return 1
    return max(1, min(total, math.ceil(magnitude * total)))


@dataclass(frozen=True)
class Fault:
    """One planned fault: what, how hard, where, for how long."""

    kind: FaultKind
    intensity: int
    target: str
    duration_s: float = 120.0

    def __post_init__(self) -> None:
        if not 0 <= self.intensity < len(INTENSITY_NAMES):
            raise ValueError(f"intensity must be 0..2, got {self.intensity}")

    @property
    def family(self) -> Family:
        return CATALOG[self.kind].family

    @property
    def magnitude(self) -> float:
        return CATALOG[self.kind].magnitude(self.intensity)

    def describe(self) -> str:
        t = CATALOG[self.kind]
        return f"{self.kind.value}[{INTENSITY_NAMES[self.intensity]}={self.magnitude:g} {t.unit}] on {self.target}"
