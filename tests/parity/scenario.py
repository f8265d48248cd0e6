"""The parity scenario: a small shop whose weaknesses the pod and node faults can each reach.

An entry-point ``frontend`` (3 replicas behind a PDB of maxUnavailable 1) calls a single-replica
``catalog`` and a ``cache`` whose two replicas are pinned to the dedicated node ``node-2``; ``db`` is
a StatefulSet without storage whose PDB forbids any voluntary disruption.
"""

from __future__ import annotations

from envs.faults import Fault, FaultKind
from envs.spec import (
    Call,
    ClusterSpec,
    LabelSelector,
    NodeSpec,
    PdbSpec,
    PodTemplate,
    ServiceSpec,
    Taint,
    Toleration,
    Workload,
)

NS = "shop"
FRONTEND, CATALOG, CACHE, DB = (f"{NS}/Deployment/frontend", f"{NS}/Deployment/catalog",
                                f"{NS}/Deployment/cache", f"{NS}/StatefulSet/db")
CACHE_NODE = "node-2"


GRACE_S = 0.0
"""Every pod's terminationGracePeriodSeconds, and the agent's ``pod_grace_period_s``: see ``shop_spec``."""


def _app(name: str) -> tuple[tuple[str, str], ...]:
    return (("app", name),)


def _service(name: str, **kw: object) -> ServiceSpec:
    return ServiceSpec(NS, name, LabelSelector(_app(name)), **kw)  # type: ignore[arg-type]


def shop_spec(grace_s: float = GRACE_S) -> ClusterSpec:
    """The shop; ``grace_s`` is every pod's termination grace period.

    The simulator's pod kill is a hard kill (grace 0, Chaos Mesh's default) and its evictions use the
    pod's own grace period, where the agent deletes and evicts with its one ``pod_grace_period_s``.
    Only with both at 0 do the two realisations free a node's resources (and a StatefulSet ordinal)
    at the same moment, so that replacements land on the same nodes.
    """
    dedicated = Taint("dedicated", "NoSchedule", "cache")

    def pods(name: str, startup_s: float, **kw: object) -> PodTemplate:
        return PodTemplate(labels=_app(name), startup_s=startup_s, termination_grace_s=grace_s, **kw)  # type: ignore[arg-type]

    return ClusterSpec(
        name="parity-shop",
        nodes=(
            NodeSpec("node-0"),
            NodeSpec("node-1"),
            NodeSpec(CACHE_NODE, labels=(("pool", "cache"),), taints=(dedicated,)),
        ),
        workloads=(
            Workload(NS, "frontend", "Deployment", 3, pods("frontend", 10.0),
                     calls=(Call(f"{NS}/Service/catalog"), Call(f"{NS}/Service/cache"))),
            Workload(NS, "catalog", "Deployment", 1, pods("catalog", 30.0)),
            Workload(NS, "cache", "Deployment", 2, pods(
                "cache", 10.0, node_selector=(("pool", "cache"),),
                tolerations=(Toleration("dedicated", "Equal", "cache", "NoSchedule"),))),
            Workload(NS, "db", "StatefulSet", 2, pods("db", 10.0)),
        ),
        services=(
            _service("frontend", entrypoint=True, load_rps=60.0),
            _service("catalog"),
            _service("cache"),
            _service("db"),
        ),
        pdbs=(
            PdbSpec(NS, "frontend", LabelSelector(_app("frontend")), max_unavailable=1),
            PdbSpec(NS, "db", LabelSelector(_app("db")), min_available=2),
        ),
    )


def fault_plan() -> tuple[Fault, ...]:
    """The faults both paths run, in order; node targets are fixed by the deterministic scheduler."""
    return (
        Fault(FaultKind.POD_KILL, 0, CATALOG),
        Fault(FaultKind.POD_EVICTION, 2, FRONTEND),
        Fault(FaultKind.POD_EVICTION, 0, DB),
        Fault(FaultKind.POD_KILL, 0, DB),
        Fault(FaultKind.POD_KILL, 2, FRONTEND),
        Fault(FaultKind.NODE_DRAIN, 0, f"Node/{CACHE_NODE}"),
        Fault(FaultKind.NODE_DRAIN, 2, "Node/node-1"),
        # Last: its PDB-refused evictions are retried by the simulator only (see the test's docstring),
        # after which pods stand on other nodes on the two paths.
        Fault(FaultKind.NODE_DRAIN, 0, "Node/node-0"),
    )
