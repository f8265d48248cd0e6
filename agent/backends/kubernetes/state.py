"""Turn live cluster objects into a ``ClusterState``: the topology from the digital twin's builder, the
runtime status (ready pods, pods by node, rollouts, restarts, GPUs) computed here from pods and nodes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from agent.backends.kubernetes.view import ClusterView, Obj, is_ready, meta, parse_quantity_int
from envs.cluster import ClusterState, NodeStatus, WorkloadStatus
from envs.spec import GPU_RESOURCE, ClusterSpec, node_key
from envs.twin import spec_from_objects

SpecBuilder = Callable[[Iterable[dict[str, Any]], str], ClusterSpec]


def twin_spec_builder(objects: Iterable[dict[str, Any]], name: str) -> ClusterSpec:
    """The digital twin's builder, from ``kubectl get -o json`` items (Pods with nodeName and status)."""
    return spec_from_objects(objects, name=name)


def desired_replicas(workload: Obj) -> int:
    spec = workload.get("spec") or {}
    if workload.get("kind") == "Job":
        return int(spec.get("parallelism", 1))
    return int(spec.get("replicas", 1))


def rollout_in_progress(workload: Obj) -> bool:
    """``kubectl rollout status`` would still be waiting."""
    spec, status = workload.get("spec") or {}, workload.get("status") or {}
    kind = workload.get("kind")
    if kind == "Job":
        return False
    if int(status.get("observedGeneration", 0)) < int(meta(workload).get("generation", 1)):
        return True
    replicas = int(spec.get("replicas", 1))
    updated = int(status.get("updatedReplicas", replicas if kind == "Deployment" else 0))
    if kind == "StatefulSet":
        revisions_differ = status.get("updateRevision") and status.get("updateRevision") != status.get(
            "currentRevision"
        )
        return bool(revisions_differ) or int(status.get("updatedReplicas", replicas)) < replicas
    return (
        updated < replicas
        or int(status.get("replicas", replicas)) > updated
        or int(status.get("availableReplicas", updated)) < updated
    )


def workload_status(key: str, workload: Obj, pods: list[Obj]) -> WorkloadStatus:
    by_node = Counter((p.get("spec") or {}).get("nodeName") for p in pods)
    restarts = sum(
        int(cs.get("restartCount", 0)) for p in pods for cs in (p.get("status") or {}).get("containerStatuses") or []
    )
    return WorkloadStatus(
        key=key,
        desired=desired_replicas(workload),
        ready=sum(1 for p in pods if is_ready(p)),
        pods_by_node=tuple(sorted((n, c) for n, c in by_node.items() if n)),
        rollout_in_progress=rollout_in_progress(workload),
        restarts=restarts,
        pending=sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Pending"),
    )


def node_status(node: Obj) -> NodeStatus:
    allocatable = (node.get("status") or {}).get("allocatable") or {}
    return NodeStatus(
        key=node_key(meta(node)["name"]),
        ready=is_ready(node),
        schedulable=not (node.get("spec") or {}).get("unschedulable", False),
        gpus_allocatable=parse_quantity_int(allocatable.get(GPU_RESOURCE, 0)),
    )


def cluster_state(objects: list[Obj], *, name: str, time_s: float, spec_builder: SpecBuilder) -> ClusterState:
    view = ClusterView(objects)
    spec = spec_builder(objects, name)
    workloads = {key: workload_status(key, obj, view.pods_of(key)) for key, obj in view.workloads.items()}
    for w in spec.workloads:  # kinds the twin models through another object (a CronJob's Jobs)
        if w.key not in workloads:
            selector: dict[str, Any] = {"matchLabels": dict(w.template.labels)}
            stand_in: Obj = {
                "kind": w.kind,
                "metadata": {"namespace": w.namespace, "name": w.name},
                "spec": {"replicas": w.replicas, "parallelism": w.replicas, "selector": selector},
            }
            pods = view.pods_matching(w.namespace, {"selector": selector})
            workloads[w.key] = workload_status(w.key, stand_in, pods)
    nodes = {node_key(n): node_status(obj) for n, obj in view.nodes.items()}
    return ClusterState(spec=spec, workloads=workloads, nodes=nodes, time_s=time_s)
