"""The design basis: which faults, alone or together, a well-built system is expected to survive.

The single-failure criterion of reliability engineering, stated for a Kubernetes cluster: one pod of
a workload, one node, one zone (where the cluster spans zones), one dependency degraded within stated
bounds (added latency, jitter, packet loss, CPU taken), one GPU, one data stage degraded within stated
bounds. Two concurrent independent failures are beyond it by default.

A steady-state breach under a fault *within* the design basis is a weakness (``envs.weaknesses``); a
breach under a fault *beyond* it is impact: worth knowing (a blast-radius map), never a weakness and
never a ticket. A fault is classified by what it actually takes in the given cluster, not by its
intensity's name: ``pod_kill`` at medium intensity (half the pods, rounded up) on a 2-replica workload
takes one pod, within; on a 3-replica workload it takes two, beyond.

``classify(faults, spec, bounds)`` is a pure function; the bounds come from the ``[design_basis]``
section of the agent's configuration as a frozen ``DesignBasisBounds``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from envs.faults import CATALOG, INTENSITY_NAMES, Fault, FaultKind, units_hit
from envs.spec import ClusterSpec, NodeSpec


class Basis(StrEnum):
    """Where a fault (or a set of concurrent faults) falls against the design basis."""

    WITHIN = "within"
    """The system must survive it: a breach is a weakness."""
    BEYOND = "beyond"
    """Beyond what the system is designed for: a breach is impact, not a weakness."""


@dataclass(frozen=True)
class DesignBasisBounds:
    """The stated bounds of the design basis. Each default is a common reliability target, documented in
    docs/weaknesses.md; none is derived from the fault ladder or from a scenario."""

    pods_per_workload: int = 1
    """Pods of one workload that may fail (or be cut off) at once: the single-failure criterion."""
    gpus_per_node: int = 1
    """GPU devices that may fail at once: one device falling off the bus (XID 79)."""
    max_added_latency_ms: float = 500.0
    """A dependency degraded by up to half a second per request (a slow disk, a GC pause, a busy neighbour)."""
    max_jitter_ms: float = 300.0
    """Standard deviation of the latency a degraded dependency adds: a noisy network, not a broken one."""
    max_packet_loss: float = 0.3
    """Share of packets a degraded dependency drops; beyond a third the link is effectively down."""
    max_cpu_stress: float = 0.5
    """Share of a workload's CPU a noisy neighbour or a runaway thread may take: half its capacity."""
    max_gpu_memory_pressure: float = 0.5
    """Share of a GPU's framebuffer another process may hold (a shared or MIG-less device)."""
    max_drift_sigma: float = 3.0
    """Shift of a feature's distribution, in standard deviations, that a pipeline must detect."""
    max_corrupted_rows: float = 0.3
    """Share of corrupted rows (nulls, wrong types) one data stage may emit."""
    max_ingestion_delay_s: float = 1800.0
    """How late one data stage may deliver: an upstream batch half an hour late."""
    concurrent_failures: int = 1
    """Independent failures at once (a zone's node faults count as one); 1 is the single-failure criterion."""
    zone_is_one_failure: bool = True
    """Node faults all within one zone are one zone failure, when the cluster's nodes span several zones."""

    def __post_init__(self) -> None:
        for name in ("pods_per_workload", "gpus_per_node", "concurrent_failures"):
            if getattr(self, name) < 0:
                raise ValueError(f"DesignBasisBounds.{name} must be >= 0, got {getattr(self, name)}")
        for name in ("max_added_latency_ms", "max_jitter_ms", "max_packet_loss", "max_cpu_stress",
                     "max_gpu_memory_pressure", "max_drift_sigma", "max_corrupted_rows", "max_ingestion_delay_s"):
            value = getattr(self, name)
            if not 0 <= value < float("inf"):
                raise ValueError(f"DesignBasisBounds.{name} must be a finite number >= 0, got {value}")


DEFAULT_BOUNDS = DesignBasisBounds()

_DEGRADATION: Mapping[FaultKind, tuple[str, str]] = {
    FaultKind.NETWORK_LATENCY: ("max_added_latency_ms", "ms of added latency"),
    FaultKind.NETWORK_JITTER: ("max_jitter_ms", "ms of jitter"),
    FaultKind.NETWORK_LOSS: ("max_packet_loss", "of packets lost"),
    FaultKind.CPU_STRESS: ("max_cpu_stress", "of CPU taken"),
    FaultKind.GPU_MEMORY_PRESSURE: ("max_gpu_memory_pressure", "of GPU memory taken"),
    FaultKind.DATA_DRIFT: ("max_drift_sigma", "sigma of drift"),
    FaultKind.CORRUPTED_ROWS: ("max_corrupted_rows", "of rows corrupted"),
    FaultKind.DELAYED_INGESTION: ("max_ingestion_delay_s", "s of ingestion delay"),
}
"""Faults that degrade one dependency or data stage, and the bound each is held to."""

_PODS_TAKEN = frozenset({FaultKind.POD_KILL, FaultKind.POD_EVICTION, FaultKind.NETWORK_PARTITION})
"""Faults whose intensity is a count or share of the workload's pods (``units_hit``)."""


@dataclass(frozen=True)
class FaultScope:
    """What one fault takes in the given cluster, and whether that alone is within the design basis."""

    fault: Fault
    basis: Basis
    domain: str
    """The failure domain it hits: a workload key, ``Node/name``, or a zone (``zone/<name>``) once grouped."""
    reason: str
    """One line a person can check: what the fault takes and the bound it is held to."""


@dataclass(frozen=True)
class Classification:
    """A set of concurrently active faults against the design basis."""

    basis: Basis
    scopes: tuple[FaultScope, ...]
    failures: int
    """Independent failures the set counts as (the node faults of one zone count once)."""
    reason: str
    """Why the set is within or beyond, in one line."""

    @property
    def within(self) -> bool:
        return self.basis is Basis.WITHIN


def _pods_of(spec: ClusterSpec, key: str, replicas: Mapping[str, int] | None) -> int:
    if replicas is not None and key in replicas:
        return replicas[key]
    try:
        return spec.workload(key).replicas
    except KeyError:
        return 0


def _node(spec: ClusterSpec, key: str) -> NodeSpec | None:
    return next((n for n in spec.nodes if n.key == key), None)


def scope_of(fault: Fault, spec: ClusterSpec, bounds: DesignBasisBounds = DEFAULT_BOUNDS, *,
             replicas: Mapping[str, int] | None = None) -> FaultScope:
    """What ``fault`` takes in ``spec`` and whether that alone is within ``bounds``.

    ``replicas`` (workload key -> desired pods now, e.g. after an HPA scaled it) overrides the spec's counts.
    """
    kind, level = fault.kind, INTENSITY_NAMES[fault.intensity]
    name = f"{kind.value}[{level}]"
    if kind in _PODS_TAKEN:
        total = _pods_of(spec, fault.target, replicas)
        taken = units_hit(fault.intensity, fault.magnitude, total)
        ok = taken <= bounds.pods_per_workload
        return FaultScope(fault, Basis.WITHIN if ok else Basis.BEYOND, fault.target,
                          f"{name} takes {taken} of {total} pod(s) of {fault.target} "
                          f"({'within' if ok else 'beyond'} {bounds.pods_per_workload} pod(s) of a workload)")
    if kind is FaultKind.CONTAINER_CRASH:
        return FaultScope(fault, Basis.WITHIN if bounds.pods_per_workload >= 1 else Basis.BEYOND, fault.target,
                          f"{name} crashes one pod of {fault.target}")
    if kind in (FaultKind.NODE_FAILURE, FaultKind.NODE_DRAIN):
        return FaultScope(fault, Basis.WITHIN, fault.target, f"{name} takes one node, {fault.target}")
    if kind is FaultKind.GPU_DEVICE_FAILURE:
        node = _node(spec, fault.target)
        devices = node.gpus if node is not None else 0
        taken = units_hit(fault.intensity, fault.magnitude, devices)
        ok = taken <= bounds.gpus_per_node
        return FaultScope(fault, Basis.WITHIN if ok else Basis.BEYOND, fault.target,
                          f"{name} takes {taken} of {devices} GPU(s) of {fault.target} "
                          f"({'within' if ok else 'beyond'} {bounds.gpus_per_node} GPU(s))")
    field, unit = _DEGRADATION[kind]
    bound = float(getattr(bounds, field))
    ok = fault.magnitude <= bound
    shown = (f"{fault.magnitude:.0%} {unit}" if unit.startswith("of ") else f"{fault.magnitude:g} {unit}")
    limit = f"{bound:.0%}" if unit.startswith("of ") else f"{bound:g}"
    return FaultScope(fault, Basis.WITHIN if ok else Basis.BEYOND, fault.target,
                      f"{name}: {shown} on {fault.target} ({'within' if ok else 'beyond'} the bound {limit})")


def _zones(spec: ClusterSpec) -> set[str]:
    return {n.zone for n in spec.nodes if n.zone}


def classify(faults: Sequence[Fault], spec: ClusterSpec, bounds: DesignBasisBounds = DEFAULT_BOUNDS, *,
             replicas: Mapping[str, int] | None = None) -> Classification:
    """Classify the faults active together (a held fault plus the new one, or one fault).

    Within only when every fault alone is within and the set counts as at most
    ``bounds.concurrent_failures`` independent failures. Faults on one node are one failure of that
    node; node faults all in one zone are one zone failure when the cluster spans several zones.
    """
    if not faults:
        raise ValueError("classify needs at least one fault")
    scopes = tuple(scope_of(f, spec, bounds, replicas=replicas) for f in faults)
    beyond = [s for s in scopes if s.basis is Basis.BEYOND]
    domains = failure_domains(scopes, spec, bounds)
    failures = len(domains)
    shown = ", ".join(domains)
    if beyond:
        return Classification(Basis.BEYOND, scopes, failures, beyond[0].reason)
    if failures > bounds.concurrent_failures:
        return Classification(Basis.BEYOND, scopes, failures,
                              f"{failures} independent failures at once ({shown}); the design basis covers "
                              f"{bounds.concurrent_failures}")
    if len(scopes) == 1:
        return Classification(Basis.WITHIN, scopes, failures, scopes[0].reason)
    return Classification(Basis.WITHIN, scopes, failures, f"{len(scopes)} faults in one failure domain ({shown})")


def failure_domains(scopes: Sequence[FaultScope], spec: ClusterSpec,
                    bounds: DesignBasisBounds = DEFAULT_BOUNDS) -> list[str]:
    """The independent failures a set of faults counts as, one entry each.

    Every workload fault is a failure of its own (two faults on one workload are two failure modes);
    faults on one node are that node's failure; the nodes of one zone are one zone failure when the
    cluster's nodes span several zones and ``bounds.zone_is_one_failure``.
    """
    workload_faults = [s.domain for s in scopes if CATALOG[s.fault.kind].target != "node"]
    nodes = sorted({s.domain for s in scopes if CATALOG[s.fault.kind].target == "node"})
    if len(nodes) > 1 and bounds.zone_is_one_failure and len(_zones(spec)) > 1:
        zones = set()
        for key in nodes:
            node = _node(spec, key)
            zones.add(node.zone if node is not None else "")
        if len(zones) == 1 and "" not in zones:
            nodes = [f"zone/{zones.pop()}"]
    return sorted(workload_faults) + nodes
