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
DataUsage = Literal["store", "cache"]
DataStorage = Literal["container", "memory", "node", "persistent"]
"""Where a datastore keeps its data: the container's writable layer (lost with the container), a
memory-backed emptyDir (lost with the pod or a node reboot), a disk-backed emptyDir (lost with the pod),
or a volume that outlives the pod."""

CALLS_ANNOTATION = "chaos-agent.io/calls"
"""The annotation a workload's calls are written in (docs/twin.md); an ``Inference`` of it lists their sources."""
GPU_RESOURCE = "nvidia.com/gpu"
ZONE_LABEL = "topology.kubernetes.io/zone"
HOSTNAME_LABEL = "kubernetes.io/hostname"


def workload_key(namespace: str, kind: str, name: str) -> str:
    """The target id of a namespaced object: ``namespace/Kind/name``."""
    return f"{namespace}/{kind}/{name}"


def data_loss_signal(w: Workload) -> str:
    """The name of what a user loses when ``w`` loses data: ``cart_keys_lost`` when the store's size is known,
    ``share_of_cart_keys_lost`` when not, ``pods_with_data_lost`` for the legacy StatefulSet rule."""
    ds = w.datastore
    if ds is None:
        return "pods_with_data_lost"
    unit = "_".join(ds.unit.split())
    return f"{unit}_lost" if ds.items is not None else f"share_of_{unit}_lost"


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

    every_pod: bool = False
    """An empty selector (``{}``) in an affinity or spread term: every pod of the namespaces in scope."""

    def matches(self, labels: dict[str, str]) -> bool:
        if self.every_pod:
            return True
        if not self.match_labels and not self.match_expressions:
            return False  # an empty selector selects nothing for Services and PDBs here
        return all(labels.get(k) == v for k, v in self.match_labels) and all(
            r.matches(labels) for r in self.match_expressions
        )


@dataclass(frozen=True)
class AntiAffinity:
    """podAntiAffinity: keep pods matching ``selector`` apart over ``topology_key``.

    ``namespaces`` are the namespaces whose pods the term selects (resolved from ``namespaces`` and
    ``namespaceSelector``); empty means the pod's own namespace, ``all_namespaces`` every namespace.
    ``weight`` (1-100) is a preferred term's score weight; required terms ignore it.
    """

    selector: LabelSelector
    topology_key: str = HOSTNAME_LABEL
    required: bool = True
    weight: int = 100
    namespaces: tuple[str, ...] = ()
    all_namespaces: bool = False


@dataclass(frozen=True)
class PodAffinity:
    """podAffinity: put the pod in a ``topology_key`` domain that runs pods matching ``selector``.

    Same fields as ``AntiAffinity``; a required term with no matching pod anywhere is satisfied only by
    a pod that matches its own term (the first pod of a group), as kube-scheduler's InterPodAffinity.
    """

    selector: LabelSelector
    topology_key: str = HOSTNAME_LABEL
    required: bool = True
    weight: int = 100
    namespaces: tuple[str, ...] = ()
    all_namespaces: bool = False


@dataclass(frozen=True)
class TopologySpread:
    """One ``topologySpreadConstraints`` entry, its selector already merged with ``matchLabelKeys``.

    ``same_revision``: ``matchLabelKeys`` named the revision hash label (``pod-template-hash``), so only
    pods of the same workload revision count. ``honor_node_affinity`` / ``honor_taints``: the
    nodeAffinityPolicy (default Honor) and nodeTaintsPolicy (default Ignore) of the eligible domains.
    """

    max_skew: int
    topology_key: str
    selector: LabelSelector
    schedule_anyway: bool = False
    min_domains: int | None = None
    same_revision: bool = False
    honor_node_affinity: bool = True
    honor_taints: bool = False


@dataclass(frozen=True)
class PreferredNodeTerm:
    """``preferredDuringSchedulingIgnoredDuringExecution`` of node affinity: weight 1-100 and an AND term."""

    weight: int
    requirements: tuple[LabelRequirement, ...]


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
    """Seconds from the pod's binding until its container runs (image pulled, process started)."""
    termination_grace_s: float = 30.0
    pod_affinity: tuple[PodAffinity, ...] = ()
    spread: tuple[TopologySpread, ...] = ()
    preferred_nodes: tuple[PreferredNodeTerm, ...] = ()
    startup_probe: Probe | None = None
    cold_start_s: float = 0.0
    """Seconds from the container running until the process serves requests (loading a model, warming
    a JVM). Without a readiness probe the pod is Ready, and receives traffic, before it can serve."""

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
    per_request: float = 1.0
    """Calls made per request the caller serves (1: every request; from telemetry, the observed ratio)."""
    cache_ttl_s: float = 0.0
    """0: the call is made per request. > 0: the caller caches the answer this long (``inf``: until the
    pod restarts), so the callee sees little load and an outage hurts only once a cache goes cold."""


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
class Datastore:
    """A workload that keeps data users care about (or a cache of it), and where it keeps it."""

    engine: str
    """The datastore's software (``redis``, ``postgres``, ``kafka`` ...), or "" when only annotated."""
    usage: DataUsage = "store"
    """``cache``: what it holds can be rebuilt, so losing it is no data loss."""
    storage: DataStorage = "persistent"
    unit: str = "items"
    """What a user loses, plural (``cart keys``, ``order rows``, ``queued messages``)."""
    items: float | None = None
    """How many the whole store holds; None: unknown, loss is measured as a share of the data (0..1)."""
    replicated: bool = False
    """Replicas copy each other's data: a lost pod resyncs, data is lost only when every copy is."""
    path: str = field(default="", compare=False)
    """Where the manifests keep it, for a fix to name (not part of the model: records that differ only here
    simulate the same): the data path ("" unknown) ..."""
    volume: str = field(default="", compare=False)
    """... the pod volume mounted there ("" none: the container's own filesystem) ..."""
    container: str = field(default="", compare=False)
    """... and the container that runs the engine."""

    @property
    def loses_data_with_pod(self) -> bool:
        return self.usage == "store" and self.storage != "persistent"

    @property
    def loses_data_with_container(self) -> bool:
        return self.usage == "store" and self.storage == "container"


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
    datastore: Datastore | None = None
    """None: the legacy rule applies (a StatefulSet without persistent storage loses one pod's data)."""

    @property
    def key(self) -> str:
        return workload_key(self.namespace, self.kind, self.name)

    @property
    def loses_data_with_pod(self) -> bool:
        """Losing one pod loses user data (before any replication): ephemeral storage under a store."""
        if self.datastore is not None:
            return self.datastore.loses_data_with_pod
        return self.kind == "StatefulSet" and not self.persistent_storage

    @property
    def tracks_data_loss(self) -> bool:
        """Whether the data-loss steady state applies: a store, or (no datastore record) any StatefulSet."""
        if self.datastore is not None:
            return self.datastore.usage == "store"
        return self.kind == "StatefulSet"


@dataclass(frozen=True)
class Slo:
    availability: float = 0.99
    latency_p99_ms: float = 1000.0


@dataclass(frozen=True)
class EntryClient:
    """Who sends an entry point its requests, and how it retries (docs/twin.md, Entry points).

    An ingress controller retries another endpoint when a connection fails or times out (nginx's
    ``proxy_next_upstream error timeout``, 3 tries in ingress-nginx), so the user sees latency, not
    errors; a client reaching a LoadBalancer or NodePort directly does not retry.
    """

    name: str = "external"
    tries: int = 1
    """Attempts per request, each on another endpoint (1: no retry)."""
    connect_timeout_ms: float = 5000.0
    """What an attempt at a dead or unreachable endpoint costs before the next one."""
    retry_on_error: bool = False
    """Also retry when the endpoint answers with an error (5xx), not only on connection failures."""


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
    client: EntryClient = field(default_factory=EntryClient)
    """Who calls the entry point (ignored elsewhere)."""

    @property
    def edge_retries(self) -> int:
        """How often the client in front of an entry point retries a failed request on another endpoint."""
        return max(0, self.client.tries - 1)

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
class Inference:
    """One value the twin inferred, written as the ``chaos-agent.io/`` annotation that states it."""

    kind: str
    namespace: str
    name: str
    annotation: str
    value: str
    source: str
    """Where it came from (an env var, an image, telemetry, a default), for a reviewer."""


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
    inferred: tuple[Inference, ...] = ()
    """Every value the twin inferred rather than read, as the annotation that would state it."""
    calibrated: tuple[tuple[str, float], ...] = ()
    """``envs.sim.Timings`` fields measured on the real cluster (envs/calibration.py); they override the
    defaults of any simulation of this spec."""

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
