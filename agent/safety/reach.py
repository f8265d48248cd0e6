"""What each fault kind can apply to and how many pods it can take down, as data the mask broadcasts.

Every kind in ``envs.faults.CATALOG`` has exactly one entry here (a test enforces it), so a new fault
is not injectable until someone has said what it needs and what it can break. Pod counts are upper
bounds: the guard is conservative where the effect depends on things it cannot see.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from envs.faults import CATALOG, FAULT_KINDS, FaultKind, units_hit

Need = Literal["pods", "gpu", "pipeline"]
PodsDown = Literal["ladder", "one", "all", "none", "node_all", "node_gpu"]
"""ladder: ``units_hit`` of the workload's pods; one: a single pod; all: every pod of the workload;
none: degrades pods without taking any down; node_all: every pod on the node; node_gpu: at most one
GPU pod per failed device (a device belongs to one pod), never more than the GPU pods on the node, and
never a pod without GPUs: what the simulator's and the Kubernetes backend's GPU failure take (the pods on
the failed devices; the backend taints nothing, so no CPU-only pod is evicted)."""

NEVER = (False, False, False)
ALWAYS = (True, True, True)


@dataclass(frozen=True)
class Reach:
    needs: frozenset[Need]
    pods_down: PodsDown
    bypasses_pdb: tuple[bool, bool, bool]
    """Per intensity: the fault takes pods down without the Eviction API, so no PDB stops it."""


def _r(needs: tuple[Need, ...], down: PodsDown, bypass: tuple[bool, bool, bool]) -> Reach:
    return Reach(frozenset(needs), down, bypass)


REACH: dict[FaultKind, Reach] = {
    FaultKind.POD_KILL: _r(("pods",), "ladder", ALWAYS),
    FaultKind.POD_EVICTION: _r(("pods",), "ladder", NEVER),
    FaultKind.CONTAINER_CRASH: _r(("pods",), "one", ALWAYS),
    FaultKind.NODE_FAILURE: _r((), "node_all", ALWAYS),
    FaultKind.NODE_DRAIN: _r((), "node_all", (False, False, True)),  # high deletes without evicting
    FaultKind.NETWORK_LATENCY: _r(("pods",), "none", NEVER),
    FaultKind.NETWORK_JITTER: _r(("pods",), "none", NEVER),
    FaultKind.NETWORK_LOSS: _r(("pods",), "none", NEVER),
    # Partitioned pods stay Ready but serve nobody: they count against the blast radius, yet the
    # kubelet does not restart them, so they are not a PDB disruption.
    FaultKind.NETWORK_PARTITION: _r(("pods",), "ladder", NEVER),
    FaultKind.CPU_STRESS: _r(("pods",), "none", NEVER),
    FaultKind.GPU_DEVICE_FAILURE: _r(("gpu",), "node_gpu", ALWAYS),
    # Pressure OOMs the pods whose framebuffer share no longer fits; the guard cannot see real usage,
    # so it assumes every pod of the workload.
    FaultKind.GPU_MEMORY_PRESSURE: _r(("pods", "gpu"), "all", ALWAYS),
    FaultKind.DATA_DRIFT: _r(("pipeline",), "none", NEVER),
    FaultKind.CORRUPTED_ROWS: _r(("pipeline",), "none", NEVER),
    FaultKind.DELAYED_INGESTION: _r(("pipeline",), "none", NEVER),
}

K = len(FAULT_KINDS)
KIND_INDEX: dict[FaultKind, int] = {k: i for i, k in enumerate(FAULT_KINDS)}


def _column(pred: Callable[[FaultKind], bool]) -> NDArray[np.bool_]:
    return np.array([pred(k) for k in FAULT_KINDS], dtype=bool)


NODE_KIND = _column(lambda k: CATALOG[k].target == "node")
NEEDS_PODS = _column(lambda k: "pods" in REACH[k].needs)
NEEDS_GPU = _column(lambda k: "gpu" in REACH[k].needs)
NEEDS_PIPELINE = _column(lambda k: "pipeline" in REACH[k].needs)
DOWN_LADDER = _column(lambda k: REACH[k].pods_down == "ladder")
DOWN_ONE = _column(lambda k: REACH[k].pods_down == "one")
DOWN_ALL = _column(lambda k: REACH[k].pods_down == "all")
NODE_VARIANT = np.array([1 if REACH[k].pods_down == "node_gpu" else 0 for k in FAULT_KINDS], dtype=np.intp)
"""Which per-node table a node kind reads: 0 every pod on the node, 1 the GPU pods."""
BYPASSES_PDB = np.array([REACH[k].bypasses_pdb for k in FAULT_KINDS], dtype=bool)
MAGNITUDES = np.array([CATALOG[k].ladder for k in FAULT_KINDS], dtype=np.float64)
INTENSITY = np.arange(3)


def workload_hits(pods: NDArray[np.int64]) -> NDArray[np.int64]:
    """Pods each (kind, intensity) takes down on workload targets with ``pods`` pods: shape (T, K, 3).

    The ladder branch is ``envs.faults.units_hit`` broadcast (same float arithmetic, same rounding).
    """
    n = pods[:, None, None]
    shared = np.clip(np.ceil(MAGNITUDES[None] * n), 1, np.maximum(n, 1)).astype(np.int64)
    ladder = np.where(INTENSITY[None, None] == 0, 1, shared)
    hits = np.where(DOWN_LADDER[None, :, None], ladder, 0)
    hits = np.where(DOWN_ONE[None, :, None], 1, hits)
    hits = np.where(DOWN_ALL[None, :, None], n, hits)
    return np.where(n > 0, hits, 0).astype(np.int64)


def gpu_devices_hit(devices: int) -> tuple[int, int, int]:
    """Devices a GPU device failure takes per intensity on a node with ``devices`` GPUs."""
    ladder = CATALOG[FaultKind.GPU_DEVICE_FAILURE].ladder
    a, b, c = (units_hit(i, ladder[i], devices) for i in range(3))
    return a, b, c
