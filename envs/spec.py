"""The cluster topology: what the digital twin reads from YAML and the scenario generator plants.

A ``ClusterSpec`` is the desired state of a cluster in Kubernetes terms (nodes, workloads, Services,
PDBs, HPAs) plus what YAML cannot say (calls between services, ML roles), taken from the annotation
contract in docs/twin.md. It is immutable; the simulator builds its runtime state from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

WorkloadKind = Literal["Deployment", "StatefulSet", "Job"]
WorkloadRole = Literal["serving", "training", "pipeline", "cache", "batch"]
TaintEffect = Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]
PipelineStage = Literal["producer", "feature_store", "model"]

GPU_RESOURCE = "nvidia.com/gpu"
ZONE_LABEL = "topology.kubernetes.io/zone"
HOSTNAME_LABEL = "kubernetes.io/hostname"


def workload_key(namespace: str, kind: str, name: str) -> str:
    """The target id of a namespaced object: ``namespace/Kind/name``."""
    return f"{namespace}/{kind}/{name}"


def node_key(name: str) -> str:
    """The target id of a node (cluster scoped): ``Node/name``."""
    return f"Node/{name}"


@dataclass(frozen=True)
class Taint:
    key: str
    effect: TaintEffect
    value: str = ""


@dataclass(frozen=True)
class Toleration:
    """A pod toleration; ``key=None`` with ``operator="Exists"`` tolerates every taint."""

    key: str | None = None
    operator: Literal["Equal", "Exists"] = "Equal"
    value: str = ""
    effect: TaintEffect | None = None
    toleration_seconds: float | None = None

    def tolerates(self, taint: Taint) -> bool:
        if self.effect is not None and self.effect != taint.effect:
            return False
        if self.key is None:
            return self.operator == "Exists"
        if self.key != taint.key:
            return False
        return self.operator == "Exists" or self.value == taint.value


@dataclass(frozen=True)
class NodeSpec:
    name: str
    cpu_millis: int = 8000
    memory_mib: int = 32768
    gpus: int = 0
    labels: tuple[tuple[str, str], ...] = ()
    taints: tuple[Taint, ...] = ()
    unschedulable: bool = False

    @property
    def key(self) -> str:
        return node_key(self.name)

    @property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)

    @property
    def zone(self) -> str:
        return self.label_map.get(ZONE_LABEL, "")


@dataclass(frozen=True)
class LabelRequirement:
    """One ``matchExpressions`` entry (operators In, NotIn, Exists, DoesNotExist)."""

    key: str
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        if self.operator == "Exists":
            return self.key in labels
        if self.operator == "DoesNotExist":
            return self.key not in labels
        if self.operator == "In":
            return labels.get(self.key) in self.values
        return labels.get(self.key) not in self.values


@dataclass(frozen=True)
class LabelSelector:
    match_labels: tuple[tuple[str, str], ...] = ()
    match_expressions: tuple[LabelRequirement, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        if not self.match_labels and not self.match_expressions:
            return False  # an empty selector selects nothing for Services and PDBs here
        return all(labels.get(k) == v for k, v in self.match_labels) and all(
            r.matches(labels) for r in self.match_expressions
        )


@dataclass(frozen=True)
class AntiAffinity:
    """podAntiAffinity: keep pods matching ``selector`` apart over ``topology_key``."""

    selector: LabelSelector
    topology_key: str = HOSTNAME_LABEL
    required: bool = True


@dataclass(frozen=True)
class Probe:
    """Readiness or liveness probe with Kubernetes' defaults."""

    initial_delay_s: float = 0.0
    period_s: float = 10.0
    failure_threshold: int = 3
    success_threshold: int = 1


@dataclass(frozen=True)
class PodTemplate:
    labels: tuple[tuple[str, str], ...] = ()
    cpu_millis: int = 100
    memory_mib: int = 128
    gpus: int = 0
    node_selector: tuple[tuple[str, str], ...] = ()
    node_affinity: tuple[tuple[LabelRequirement, ...], ...] = ()
    """requiredDuringScheduling nodeSelectorTerms: OR of terms, each an AND of requirements."""
    anti_affinity: tuple[AntiAffinity, ...] = ()
    tolerations: tuple[Toleration, ...] = ()
    readiness_probe: Probe | None = None
    liveness_probe: Probe | None = None
    startup_s: float = 5.0
    """Seconds from container start until the process serves (image pulled, app booted)."""
    termination_grace_s: float = 30.0

    @property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)


@dataclass(frozen=True)
class Call:
    """A dependency of a workload on a Service, with the client's resilience settings."""

    service: str
    """Key of the called Service: ``namespace/Service/name``."""
    timeout_ms: float = 1000.0
    retries: int = 0
    fallback: bool = False
    """The caller degrades gracefully (a cached or default answer) when the call fails."""


@dataclass(frozen=True)
class Training:
    """A training Job's progress model."""

    epochs: int = 10
    epoch_s: float = 600.0
    checkpoint_interval_s: float | None = None
    """None: the job never checkpoints and restarts from zero after a failure."""
    gpu_memory_fraction: float = 0.6
    """Share of each device's framebuffer the job uses; pressure above the rest OOMs it."""


@dataclass(frozen=True)
class Pipeline:
    """A data or ML pipeline stage: producers feed a feature store that feeds a model."""

    stage: PipelineStage
    feeds: tuple[str, ...] = ()
    """Keys of the Services this stage feeds data into."""
    drift_monitor: bool = False
    schema_check: bool = False
    max_staleness_s: float = 1800.0


@dataclass(frozen=True)
class Workload:
    namespace: str
    name: str
    kind: WorkloadKind
    replicas: int
    template: PodTemplate
    role: WorkloadRole = "serving"
    calls: tuple[Call, ...] = ()
    persistent_storage: bool = False
    """StatefulSet with volumeClaimTemplates (or a PVC volume): data survives a pod."""
    training: Training | None = None
    pipeline: Pipeline | None = None
    max_unavailable: int = 1
    """RollingUpdate maxUnavailable, resolved to a count."""
    max_surge: int = 1
    leader_failover_s: float = 0.0
    """Seconds of unavailability when the leader pod dies (0: no leader election)."""
    capacity_rps_per_pod: float = 100.0
    rollout_every_s: float = 0.0
    """Mean seconds between background rollouts (0: never), for state-dependent weaknesses."""
    labels: tuple[tuple[str, str], ...] = ()
    annotations: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> str:
        return workload_key(self.namespace, self.kind, self.name)


@dataclass(frozen=True)
class Slo:
    availability: float = 0.99
    latency_p99_ms: float = 1000.0


@dataclass(frozen=True)
class ServiceSpec:
    namespace: str
    name: str
    selector: LabelSelector
    type: Literal["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"] = "ClusterIP"
    entrypoint: bool = False
    load_rps: float = 0.0
    """Requests per second arriving at an entry point (ignored elsewhere)."""
    slo: Slo = field(default_factory=Slo)
    base_latency_ms: float = 20.0
    edge_retries: int = 0
    """Entry points: how often the edge in front (ingress, load balancer) retries a failed request on another
    endpoint (``chaos-agent.io/edge-retries``); 0: a lost request reaches the user."""

    @property
    def key(self) -> str:
        return workload_key(self.namespace, "Service", self.name)


@dataclass(frozen=True)
class PdbSpec:
    namespace: str
    name: str
    selector: LabelSelector
    min_available: int | str | None = None
    max_unavailable: int | str | None = None
    """Counts or percentages such as ``"50%"``, exactly one of the two set."""


@dataclass(frozen=True)
class HpaSpec:
    namespace: str
    name: str
    target: str
    """Key of the scaled workload."""
    min_replicas: int = 1
    max_replicas: int = 10
    target_cpu_utilization: float = 0.8


@dataclass(frozen=True)
class ModelSlo:
    """Steady-state bounds for the non-request signals."""

    min_accuracy: float = 0.85
    max_training_progress_lost_s: float = 1800.0


@dataclass(frozen=True)
class ClusterSpec:
    name: str
    nodes: tuple[NodeSpec, ...]
    workloads: tuple[Workload, ...]
    services: tuple[ServiceSpec, ...] = ()
    pdbs: tuple[PdbSpec, ...] = ()
    hpas: tuple[HpaSpec, ...] = ()
    model_slo: ModelSlo = field(default_factory=ModelSlo)
    notes: tuple[str, ...] = ()
    """What the builder skipped or assumed, one line each, for the user to read."""

    def workload(self, key: str) -> Workload:
        for w in self.workloads:
            if w.key == key:
                return w
        raise KeyError(key)

    def service(self, key: str) -> ServiceSpec:
        for s in self.services:
            if s.key == key:
                return s
        raise KeyError(key)
