"""Cluster states for the safety tests: a hand-built helper and hypothesis strategies for arbitrary ones."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hypothesis import strategies as st

from agent.config.safety import OPT_IN_LABEL, PROTECTED_NAMESPACES, SafetySettings
from envs.cluster import ClusterState, Injection, InjectionOutcome, NodeStatus, WorkloadStatus
from envs.faults import FAULT_KINDS, Fault
from envs.spec import (
    ClusterSpec,
    LabelSelector,
    NodeSpec,
    PdbSpec,
    Pipeline,
    PodTemplate,
    Workload,
    node_key,
    workload_key,
)

AGENT_NS = "chaos-agent"
NAMESPACES = (*PROTECTED_NAMESPACES, AGENT_NS, "shop", "ml", "data")


@dataclass(frozen=True)
class W:
    """A workload for ``cluster``: where its pods run and how many are ready."""

    namespace: str
    name: str
    replicas: int
    on: tuple[tuple[str, int], ...] = ()
    ready: int | None = None
    kind: str = "Deployment"
    gpus: int = 0
    pipeline: bool = False
    opted_in: bool = False
    min_available: int | str | None = None
    max_unavailable: int | str | None = None

    @property
    def key(self) -> str:
        return workload_key(self.namespace, self.kind, self.name)


TWO_NODES = (("n1", 0), ("n2", 0))


def cluster(workloads: Sequence[W], nodes: Sequence[tuple[str, int]] = TWO_NODES) -> ClusterState:
    """A ClusterState; ``kind="DaemonSet"`` workloads appear in the status only, as no spec holds them."""
    specs, pdbs, statuses = [], [], {}
    for w in workloads:
        labels = (("app", w.name),)
        if w.kind != "DaemonSet":
            specs.append(Workload(
                namespace=w.namespace, name=w.name, kind=w.kind,  # type: ignore[arg-type]
                replicas=w.replicas, template=PodTemplate(labels=labels, gpus=w.gpus),
                pipeline=Pipeline("producer") if w.pipeline else None,
                labels=((OPT_IN_LABEL, "true"),) if w.opted_in else (),
            ))
        if w.min_available is not None or w.max_unavailable is not None:
            pdbs.append(PdbSpec(w.namespace, f"{w.name}-pdb", LabelSelector(labels), w.min_available,
                                w.max_unavailable))
        ready = w.ready if w.ready is not None else min(w.replicas, sum(c for _, c in w.on))
        statuses[w.key] = WorkloadStatus(w.key, w.replicas, ready, w.on)
    spec = ClusterSpec("test", tuple(NodeSpec(n, gpus=g) for n, g in nodes), tuple(specs), pdbs=tuple(pdbs))
    node_status = {node_key(n): NodeStatus(node_key(n), True, True, g) for n, g in nodes}
    return ClusterState(spec, statuses, node_status, 0.0)


def targets_of(state: ClusterState) -> list[str]:
    return [*state.workloads, *state.nodes]


# -- hypothesis strategies ----------------------------------------------------------------------

pdb_value = st.one_of(st.integers(0, 4), st.sampled_from(["0%", "25%", "50%", "100%"]))


@st.composite
def workloads(draw: st.DrawFn, nodes: Sequence[str], index: int) -> W:
    replicas = draw(st.integers(0, 5))
    counts = draw(st.lists(st.integers(0, 3), min_size=len(nodes), max_size=len(nodes)))
    on = tuple((n, c) for n, c in zip(nodes, counts, strict=True) if c > 0)
    pdb = draw(st.sampled_from(["none", "min", "max"]))
    return W(
        namespace=draw(st.sampled_from(NAMESPACES)), name=f"w{index}", replicas=replicas, on=on,
        ready=draw(st.integers(0, replicas)), kind=draw(st.sampled_from(["Deployment", "StatefulSet", "Job",
                                                                         "DaemonSet"])),
        gpus=draw(st.sampled_from([0, 0, 1])), pipeline=draw(st.booleans()), opted_in=draw(st.booleans()),
        min_available=draw(pdb_value) if pdb == "min" else None,
        max_unavailable=draw(pdb_value) if pdb == "max" else None,
    )


@st.composite
def clusters(draw: st.DrawFn) -> ClusterState:
    n_nodes = draw(st.integers(1, 4))
    nodes = [(f"n{i}", draw(st.sampled_from([0, 0, 2, 4]))) for i in range(n_nodes)]
    n_workloads = draw(st.integers(0, 7))
    ws = [draw(workloads([n for n, _ in nodes], i)) for i in range(n_workloads)]
    return cluster(ws, nodes)


@st.composite
def safety_settings(draw: st.DrawFn) -> SafetySettings:
    some_ns = st.lists(st.sampled_from([ns for ns in NAMESPACES if ns != AGENT_NS]), max_size=3, unique=True)
    return SafetySettings(
        dry_run=draw(st.sampled_from(["off", "plan"])),
        allow_namespaces=tuple(draw(some_ns)),
        include_namespaces=tuple(draw(st.one_of(st.just([]), some_ns))),
        exclude_namespaces=tuple(draw(st.one_of(st.just([]), some_ns))),
        exclude_targets=tuple(draw(st.lists(st.sampled_from(["shop/Deployment/w0", "Node/n0", "ml/Job/w1"]),
                                            max_size=2))),
        opt_in=draw(st.booleans()),
        max_concurrent_faults=draw(st.integers(1, 4)),
        max_unavailable_share=draw(st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0])),
        protect_last_replica=draw(st.booleans()),
        respect_pdb_for_kills=draw(st.booleans()),
    )


OUTCOMES: tuple[InjectionOutcome, ...] = ("applied", "refused", "failed", "dry_run")


@st.composite
def active_faults(draw: st.DrawFn, state: ClusterState) -> list[Injection]:
    targets = targets_of(state)
    if not targets:
        return []
    n = draw(st.integers(0, 4))
    return [Injection(f"a{i}", Fault(draw(st.sampled_from(FAULT_KINDS)), draw(st.integers(0, 2)),
                                     draw(st.sampled_from(targets))), draw(st.sampled_from(OUTCOMES)))
            for i in range(n)]
