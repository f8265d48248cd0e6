"""Every API call the agent's Kubernetes side can make, recorded from the emulator.

``record_calls`` runs the whole repertoire against a seeded emulator with Chaos Mesh: the watch cache
(cluster-wide, or per namespace when confined), a snapshot, every fault kind injected and reverted
(with the Events they write), a drain retry round and a GPU failure's re-apply round, a fault left
behind and swept, and leader election (create, renew, release). Each request becomes a ``Call``:
verb, API group, resource (with subresource) and namespace. ``where`` says which of the agent's
grants a call needs, in the terms of deploy/rbac-calls.yaml.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.audit import HeadMark
from agent.backends.kubernetes.backend import KubernetesBackend
from agent.backends.kubernetes.events import audit_head_event_sink
from agent.backends.kubernetes.leader import LeaderElector
from agent.config.cluster import KubernetesCluster
from envs.faults import FAULT_KINDS, Fault, FaultKind
from tests.agent.backends.kubernetes.conftest import fast_api, seed_cluster
from tests.emulator import objects as o
from tests.emulator.server import KubernetesEmulator

AGENT_NAMESPACE = "chaos-agent"
TARGET_NAMESPACES = ("shop", "ml")
TARGETS: dict[FaultKind, str] = {
    # what takes pods away hits edge, db and infer; web (a PDB keeps all three pods) keeps its pods for
    # the Chaos Mesh faults, which Chaos Mesh refuses on a workload without pods
    FaultKind.POD_KILL: "shop/Deployment/edge",
    FaultKind.POD_EVICTION: "shop/StatefulSet/db",
    FaultKind.CONTAINER_CRASH: "shop/Deployment/edge",
    FaultKind.NODE_FAILURE: "Node/node-a",
    FaultKind.NODE_DRAIN: "Node/node-b",
    FaultKind.NETWORK_LATENCY: "shop/Deployment/web",
    FaultKind.NETWORK_JITTER: "shop/Deployment/web",
    FaultKind.NETWORK_LOSS: "shop/Deployment/web",
    FaultKind.NETWORK_PARTITION: "shop/Deployment/web",
    FaultKind.CPU_STRESS: "shop/Deployment/web",
    FaultKind.GPU_DEVICE_FAILURE: "Node/gpu-1",
    FaultKind.GPU_MEMORY_PRESSURE: "ml/Job/infer",
    FaultKind.DATA_DRIFT: "ml/Job/train",
    FaultKind.CORRUPTED_ROWS: "ml/Job/train",
    FaultKind.DELAYED_INGESTION: "ml/Job/train",
}
_PATH = re.compile(r"^/(?:api/v1|apis/(?P<group>[^/]+)/[^/]+)(?:/namespaces/(?P<ns>[^/]+))?/(?P<rest>.+)$")
_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
DATA_WRITES = {"get", "create", "delete"}
"""The ConfigMap verbs only data faults use: granted per namespace (the data-faults ClusterRole)."""


@dataclass(frozen=True)
class Call:
    verb: str
    group: str
    resource: str
    namespace: str | None
    """None for a cluster-scoped resource or a cluster-wide list or watch."""

    @property
    def permission(self) -> tuple[str, str, str]:
        return self.group, self.resource, self.verb


def as_call(method: str, path: str, query: dict[str, str]) -> Call | None:
    """The call a request makes; None for discovery and /version, which need no rule."""
    m = _PATH.match(path)
    if m is None:
        return None
    parts = m.group("rest").split("/")
    resource, name = parts[0], parts[1] if len(parts) > 1 else None
    if len(parts) > 2:
        resource = f"{resource}/{parts[2]}"
    if method == "GET":
        verb = "get" if name else ("watch" if query.get("watch") in ("1", "true") else "list")
    elif method == "DELETE" and name is None:
        verb = "deletecollection"
    else:
        verb = _VERBS[method]
    if m.group("ns") == "" or resource == "namespaces":
        return None
    return Call(verb, m.group("group") or "", resource, m.group("ns"))


CLUSTER_SCOPED = {("", "nodes"), ("", "nodes/status")}


def where(call: Call, *, confined: bool) -> str:
    """Which grant of deploy/rbac-calls.yaml a call needs: ``cluster`` (cluster-scoped resources),
    ``own-namespace`` (the agent's namespace), ``data-namespaces`` (data faults' ConfigMap writes),
    ``default-namespace`` (Events on nodes, when the agent is confined to namespaces) or ``targets``
    (everything else: cluster-wide, or in each namespace the agent is confined to)."""
    if (call.group, call.resource) in CLUSTER_SCOPED:
        return "cluster"
    if call.resource == "configmaps" and call.verb in DATA_WRITES:
        return "data-namespaces"
    if call.namespace == AGENT_NAMESPACE:
        return "own-namespace"
    if confined and call.namespace == "default" and call.resource == "events":
        return "default-namespace"
    return "targets"


class _Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def record_calls(em: KubernetesEmulator, *, namespaces: tuple[str, ...] = ()) -> list[Call]:
    """Run the repertoire (``namespaces``: confined to them, else cluster-wide); returns every call made."""
    seeded = seed_cluster(em)
    em.install_chaos_mesh()
    o.seed_workload(em, o.deployment("edge", namespace="shop", replicas=2), ["node-a", "node-b"])
    o.seed_workload(em, o.deployment("cache", namespace="shop", replicas=1), ["node-a"])  # a partition's far side
    em.put(o.node("gpu-2", gpus=2))
    o.seed_workload(em, o.job("infer", namespace="ml", parallelism=1, gpus=1), ["gpu-2"])
    clock = _Clock()
    settings = KubernetesCluster(namespaces=namespaces, chaos_mesh_inject_timeout_s=5)
    backend = KubernetesBackend(fast_api(em), settings=settings, clock=clock, own_namespace=AGENT_NAMESPACE)
    try:
        backend.start(timeout_s=10)
        backend.snapshot()
        for kind in FAULT_KINDS:
            fault = Fault(kind, 0 if kind == FaultKind.NODE_DRAIN else 1, TARGETS[kind], duration_s=60)
            injection = backend.inject(fault, injection_id=f"rbac-{kind.value}")
            assert injection.outcome == "applied", f"{kind.value}: {injection.detail}"
            if kind in (FaultKind.NODE_DRAIN, FaultKind.GPU_DEVICE_FAILURE):
                clock.now += 60  # a drain retry round (the PDB of web refused) and a GPU re-apply round
                backend.run_due_retries()
            backend.revert(injection)
        left = backend.inject(Fault(FaultKind.NETWORK_LOSS, 0, "shop/Deployment/web"), injection_id="rbac-left")
        assert left.outcome == "applied", left.detail
        assert backend.revert_orphans(set()) == ["rbac-left"]
        elector = LeaderElector(backend.api, namespace=AGENT_NAMESPACE, name="chaos-agent-leader", identity="a",
                                lease_duration_s=2)
        assert elector.try_acquire_or_renew() and elector.try_acquire_or_renew()
        elector.release()
        publish_head = audit_head_event_sink(backend.api, namespace=AGENT_NAMESPACE, pod="chaos-agent-0",
                                             lease="chaos-agent-leader")
        publish_head(HeadMark(journal="/var/lib/chaos-agent/audit.jsonl", seq=1, head="0" * 64, key_id=None))
    finally:
        backend.close()
    assert seeded.web
    return [c for r in em.requests if (c := as_call(r.method, r.path, r.query)) is not None]
