"""The shape every fault handler shares, and the per-workload effect bookkeeping faults compose by."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from envs.cluster import InjectionOutcome
from envs.faults import Fault
from envs.sim.state import Pod, WorkloadState

if TYPE_CHECKING:
    from envs.sim.cluster import SimulatedCluster


@dataclass(frozen=True)
class Applied:
    outcome: InjectionOutcome
    detail: str = ""
    affected: tuple[str, ...] = ()
    revert: Callable[[], None] | None = None


class Handler(Protocol):
    def __call__(self, sim: SimulatedCluster, fault: Fault, injection_id: str, target: int) -> Applied: ...


def nothing() -> None:
    """The revert of a fault whose effect the cluster repairs itself (a deleted pod)."""


def choose(rng: np.random.Generator, pods: list[Pod], n: int) -> list[Pod]:
    """``n`` pods drawn uniformly without replacement (Chaos Mesh mode one / fixed-percent)."""
    ordered = sorted(pods, key=lambda p: p.name)
    if n >= len(ordered):
        return ordered
    picks = rng.choice(len(ordered), size=n, replace=False)
    return sorted((ordered[int(i)] for i in picks), key=lambda p: p.name)


# How simultaneous effects of one kind on one workload combine.
_COMBINE: dict[str, Callable[[list[float]], float]] = {
    "network_latency": sum,
    "network_jitter": lambda xs: math.sqrt(sum(x * x for x in xs)),
    "network_loss": lambda xs: 1.0 - math.prod(1.0 - x for x in xs),
    "cpu_stress": lambda xs: 1.0 - math.prod(1.0 - x for x in xs),
    "gpu_memory_pressure": lambda xs: min(1.0, sum(xs)),
    "data_drift": lambda xs: math.sqrt(sum(x * x for x in xs)),
    "corrupted_rows": lambda xs: 1.0 - math.prod(1.0 - x for x in xs),
    "delayed_ingestion": lambda xs: max(xs, default=0.0),
}
_FIELD = {
    "network_latency": "latency_ms", "network_jitter": "jitter_ms", "network_loss": "loss",
    "cpu_stress": "stress", "gpu_memory_pressure": "gpu_pressure", "data_drift": "drift",
    "corrupted_rows": "corrupt", "delayed_ingestion": "delay_s",
}


def set_effect(
    sim: SimulatedCluster, ws: WorkloadState, injection_id: str, kind: str, magnitude: float
) -> None:
    sim.touch()
    ws.effects[injection_id] = (kind, magnitude)
    _refresh(ws, kind)


def clear_effect(sim: SimulatedCluster, ws: WorkloadState, injection_id: str) -> None:
    entry = ws.effects.pop(injection_id, None)
    if entry is not None:
        sim.touch()
        _refresh(ws, entry[0])


def _refresh(ws: WorkloadState, kind: str) -> None:
    values = [m for k, m in ws.effects.values() if k == kind]
    setattr(ws, _FIELD[kind], _COMBINE[kind](values) if values else 0.0)
