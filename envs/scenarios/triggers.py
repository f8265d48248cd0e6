"""Building blocks for triggers: which faults touch a workload, singly or in pairs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import combinations_with_replacement

from envs.faults import CATALOG, FaultKind
from envs.scenarios.records import FaultRequirement, Trigger

WORKLOAD_FAULTS = frozenset(k for k, t in CATALOG.items() if t.target == "workload")
NODE_FAULTS = frozenset(k for k, t in CATALOG.items() if t.target == "node")
REQUEST_FAULTS = frozenset({
    FaultKind.POD_KILL, FaultKind.POD_EVICTION, FaultKind.CONTAINER_CRASH, FaultKind.CPU_STRESS,
    FaultKind.NETWORK_LATENCY, FaultKind.NETWORK_JITTER, FaultKind.NETWORK_LOSS, FaultKind.NETWORK_PARTITION,
})
"""Workload faults that can change how a Service answers requests."""
LATENCY_FAULTS = frozenset({FaultKind.NETWORK_LATENCY, FaultKind.NETWORK_JITTER, FaultKind.CPU_STRESS})


def req(kinds: Iterable[FaultKind], target: str, min_intensity: int = 0) -> FaultRequirement:
    return FaultRequirement(frozenset(kinds), target, min_intensity)


def one(kinds: Iterable[FaultKind], target: str, min_intensity: int = 0) -> Trigger:
    return Trigger((req(kinds, target, min_intensity),))


def touching(workload: str, nodes: Sequence[str], *, workload_kinds: Iterable[FaultKind] = WORKLOAD_FAULTS,
             node_kinds: Iterable[FaultKind] = NODE_FAULTS) -> tuple[FaultRequirement, ...]:
    """Every fault on the workload itself, and every node fault on a node its pods can run on."""
    wk, nk = frozenset(workload_kinds), frozenset(node_kinds)
    return (req(wk, workload), *(req(nk, n) for n in nodes))


def singles(reqs: Iterable[FaultRequirement]) -> tuple[Trigger, ...]:
    return tuple(Trigger((r,)) for r in reqs)


def pairs(reqs: Sequence[FaultRequirement]) -> tuple[Trigger, ...]:
    """Any two active faults, each meeting one of ``reqs`` (the same one twice included)."""
    return tuple(Trigger((a, b)) for a, b in combinations_with_replacement(reqs, 2))
