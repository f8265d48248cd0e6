"""A mutable draft of a cluster that the generator and the built-ins fill, then freeze into a spec.

The draft knows the robust defaults (three replicas, PDB, anti-affinity over hosts, preferred
spread over zones, generous capacity) so weak variants are plain deviations from them. ``freeze``
sizes what depends on the whole topology: the load each Service carries, per-pod capacity, and
each entry point's latency SLO, which must absorb the worst single fault (see docs/scenarios.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from envs.spec import (
    GPU_RESOURCE,
    HOSTNAME_LABEL,
    ZONE_LABEL,
    AntiAffinity,
    Call,
    ClusterSpec,
    EntryClient,
    HpaSpec,
    LabelRequirement,
    LabelSelector,
    NodeSpec,
    PdbSpec,
    Pipeline,
    PodTemplate,
    Probe,
    ServiceSpec,
    Slo,
    Taint,
    Toleration,
    Training,
    Workload,
    WorkloadKind,
    WorkloadRole,
    node_key,
    workload_key,
)

GPU_TAINT = Taint(GPU_RESOURCE, "NoSchedule", "present")
JITTER_HIGH_ADD_MS = 3000.0
"""Latency a high network jitter adds to an attempt (2 sigma of 1500 ms), the worst single add."""
SLO_MARGIN_MS = 600.0
CAPACITY_HEADROOM = 10.0
"""Per-pod capacity over the load a Service carries: three pods survive 95 % CPU stress."""


@dataclass
class NodeDraft:
    name: str
    zone: str
    pool: str
    cpu_millis: int = 16000
    memory_mib: int = 65536
    gpus: int = 0

    @property
    def key(self) -> str:
        return node_key(self.name)


@dataclass
class WorkloadDraft:
    namespace: str
    name: str
    kind: WorkloadKind = "Deployment"
    replicas: int = 3
    role: WorkloadRole = "serving"
    cpu_millis: int = 250
    memory_mib: int = 512
    gpus: int = 0
    startup_s: float = 10.0
    probe: Probe | None = field(default_factory=lambda: Probe(initial_delay_s=5.0, period_s=5.0))
    spread: bool = True
    """Required anti-affinity over hostnames, preferred over zones."""
    hosts: tuple[str, ...] = ()
    """Required node affinity to these hostnames (empty: any node that fits)."""
    gpu_pool: bool = False
    calls: list[Call] = field(default_factory=list)
    persistent: bool = False
    training: Training | None = None
    pipeline: Pipeline | None = None
    leader_failover_s: float = 0.0
    pdb_min_available: int | None = 2
    hpa: bool = False
    service: bool = True
    entry: bool = False
    load_rps: float = 0.0
    base_latency_ms: float = 20.0
    capacity_rps: float | None = None
    """Per-pod capacity; None: sized from the load at ``freeze``."""
    headroom: float | None = None
    """With it, the workload's capacity (all pods together) is ``headroom`` times its load, instead of
    ``CAPACITY_HEADROOM`` times its load per pod."""
    edge_retries: int = 0
    """An entry point: how often the edge in front (ingress, load balancer) retries on another endpoint."""
    slo_margin_ms: float | None = None
    """An entry point's latency SLO over its steady p99; None: the worst single fault's add plus a margin."""
    rollout_every_s: float = 0.0

    @property
    def key(self) -> str:
        return workload_key(self.namespace, self.kind, self.name)

    @property
    def service_key(self) -> str:
        return workload_key(self.namespace, "Service", self.name)


class Draft:
    """Nodes and workloads under construction; names are unique across the draft."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.nodes: list[NodeDraft] = []
        self.workloads: list[WorkloadDraft] = []

    # -- building -----------------------------------------------------------------------------------

    def add_node(self, node: NodeDraft) -> NodeDraft:
        self.nodes.append(node)
        return node

    def add(self, w: WorkloadDraft) -> WorkloadDraft:
        if any(x.name == w.name for x in self.workloads):
            raise ValueError(f"workload name {w.name!r} used twice in draft {self.name!r}")
        self.workloads.append(w)
        return w

    def get(self, name: str) -> WorkloadDraft:
        for w in self.workloads:
            if w.name == name:
                return w
        raise KeyError(name)

    def node(self, name: str) -> NodeDraft:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    def call(self, caller: WorkloadDraft, callee: WorkloadDraft, *, timeout_ms: float = 500.0,
             retries: int = 2, fallback: bool = True) -> None:
        caller.calls.append(Call(callee.service_key, timeout_ms=timeout_ms, retries=retries, fallback=fallback))

    def general_nodes(self) -> list[NodeDraft]:
        return [n for n in self.nodes if n.gpus == 0]

    def nodes_for(self, w: WorkloadDraft) -> tuple[str, ...]:
        """Node keys the workload's pods can land on."""
        if w.hosts:
            return tuple(node_key(h) for h in w.hosts)
        pool = [n for n in self.nodes if (n.gpus > 0) == w.gpu_pool]
        return tuple(n.key for n in pool)

    # -- sizing -------------------------------------------------------------------------------------

    def by_service(self) -> dict[str, WorkloadDraft]:
        return {w.service_key: w for w in self.workloads if w.service}

    def loads(self) -> dict[str, float]:
        """Requests per second reaching each workload: every call passes its caller's whole load."""
        svc = self.by_service()
        load = {w.name: (w.load_rps if w.entry else 0.0) for w in self.workloads}
        for w in self.topological():
            for c in w.calls:
                callee = svc.get(c.service)
                if callee is not None:
                    load[callee.name] += load[w.name]
        return load

    def topological(self) -> list[WorkloadDraft]:
        svc = self.by_service()
        seen: set[str] = set()
        post: list[WorkloadDraft] = []

        def visit(w: WorkloadDraft, stack: frozenset[str]) -> None:
            if w.name in seen:
                return
            if w.name in stack:
                raise ValueError(f"call cycle through {w.name!r} in draft {self.name!r}")
            for c in w.calls:
                callee = svc.get(c.service)
                if callee is not None:
                    visit(callee, stack | {w.name})
            seen.add(w.name)
            post.append(w)

        for w in self.workloads:
            visit(w, frozenset())
        return list(reversed(post))

    def p99_ms(self) -> dict[str, float]:
        """Steady p99 per serving workload: own latency plus every call's answer (capped at its timeout)."""
        svc = self.by_service()
        p99: dict[str, float] = {}
        for w in reversed(self.topological()):
            utilisation = 1.0 / w.headroom if w.headroom else 1.0 / (CAPACITY_HEADROOM * max(w.replicas, 1))
            own = w.base_latency_ms / (1.0 - min(utilisation, 0.95))
            total = own
            for c in w.calls:
                callee = svc.get(c.service)
                if callee is not None:
                    total += min(p99.get(callee.name, callee.base_latency_ms), c.timeout_ms)
            p99[w.name] = total
        return p99

    def latency_slo_ms(self, entry: WorkloadDraft, p99: dict[str, float]) -> float:
        """Steady p99 plus the worst single fault's add plus a margin, rounded up to 100 ms.

        The worst single add is the largest of: high jitter on the entry or passed through a
        fallback call with a long timeout (3000 ms), a fallback call's timeout, and every critical
        (no-fallback) call failing all its attempts at once (a node failure can hit several).
        """
        if entry.slo_margin_ms is not None:
            return math.ceil((p99[entry.name] + entry.slo_margin_ms) / 100.0) * 100.0
        critical = sum((c.retries + 1) * c.timeout_ms for c in entry.calls if not c.fallback)
        fallback_t = max((c.timeout_ms for c in entry.calls if c.fallback), default=0.0)
        worst = max(JITTER_HIGH_ADD_MS, critical, fallback_t)
        return math.ceil((p99[entry.name] + worst + SLO_MARGIN_MS) / 100.0) * 100.0

    # -- freezing -----------------------------------------------------------------------------------

    def freeze(self, *, notes: tuple[str, ...] = ()) -> ClusterSpec:
        load = self.loads()
        p99 = self.p99_ms()
        nodes = tuple(self._node_spec(n) for n in self.nodes)
        workloads: list[Workload] = []
        services: list[ServiceSpec] = []
        pdbs: list[PdbSpec] = []
        hpas: list[HpaSpec] = []
        for w in self.workloads:
            sel = LabelSelector(match_labels=(("app", w.name),))
            cap = w.capacity_rps or (
                max(5.0, math.ceil(w.headroom * load[w.name] / max(w.replicas, 1))) if w.headroom
                else max(50.0, math.ceil(CAPACITY_HEADROOM * load[w.name])))
            workloads.append(Workload(
                namespace=w.namespace, name=w.name, kind=w.kind, replicas=w.replicas,
                template=self._template(w, sel), role=w.role, calls=tuple(w.calls),
                persistent_storage=w.persistent, training=w.training, pipeline=w.pipeline,
                leader_failover_s=w.leader_failover_s, capacity_rps_per_pod=float(cap),
                rollout_every_s=w.rollout_every_s, labels=(("app", w.name),),
            ))
            if w.service:
                slo = Slo(availability=0.99, latency_p99_ms=self.latency_slo_ms(w, p99)) if w.entry else Slo()
                services.append(ServiceSpec(
                    namespace=w.namespace, name=w.name, selector=sel,
                    type="LoadBalancer" if w.entry else "ClusterIP", entrypoint=w.entry,
                    load_rps=w.load_rps if w.entry else 0.0, slo=slo, base_latency_ms=w.base_latency_ms,
                    client=EntryClient("edge", tries=w.edge_retries + 1) if w.entry else EntryClient(),
                ))
            if w.pdb_min_available is not None and w.kind != "Job":
                pdbs.append(PdbSpec(namespace=w.namespace, name=w.name, selector=sel,
                                    min_available=w.pdb_min_available))
            if w.hpa:
                hpas.append(HpaSpec(namespace=w.namespace, name=w.name, target=w.key,
                                    min_replicas=w.replicas, max_replicas=3 * w.replicas))
        return ClusterSpec(name=self.name, nodes=nodes, workloads=tuple(workloads), services=tuple(services),
                           pdbs=tuple(pdbs), hpas=tuple(hpas), notes=notes)

    @staticmethod
    def _node_spec(n: NodeDraft) -> NodeSpec:
        labels = [(HOSTNAME_LABEL, n.name), (ZONE_LABEL, n.zone), ("node-pool", n.pool)]
        if n.gpus:
            labels.append(("nvidia.com/gpu.present", "true"))
        return NodeSpec(name=n.name, cpu_millis=n.cpu_millis, memory_mib=n.memory_mib, gpus=n.gpus,
                        labels=tuple(labels), taints=(GPU_TAINT,) if n.gpus else ())

    @staticmethod
    def _template(w: WorkloadDraft, sel: LabelSelector) -> PodTemplate:
        anti: tuple[AntiAffinity, ...] = ()
        if w.spread:
            anti = (AntiAffinity(sel, HOSTNAME_LABEL, required=True), AntiAffinity(sel, ZONE_LABEL, required=False))
        affinity: tuple[tuple[LabelRequirement, ...], ...] = ()
        if w.hosts:
            affinity = ((LabelRequirement(HOSTNAME_LABEL, "In", tuple(w.hosts)),),)
        selector: tuple[tuple[str, str], ...] = ()
        tolerations: tuple[Toleration, ...] = ()
        if w.gpu_pool:
            selector = (("nvidia.com/gpu.present", "true"),)
            tolerations = (Toleration(key=GPU_RESOURCE, operator="Exists", effect="NoSchedule"),)
        return PodTemplate(
            labels=(("app", w.name),), cpu_millis=w.cpu_millis, memory_mib=w.memory_mib, gpus=w.gpus,
            node_selector=selector, node_affinity=affinity, anti_affinity=anti, tolerations=tolerations,
            readiness_probe=w.probe, startup_s=w.startup_s,
        )
