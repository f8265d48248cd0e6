"""Complete Kubernetes objects for seeding the emulator, as controllers and kubelets would have made them."""

from __future__ import annotations

import uuid
from typing import Any

from tests.emulator.server import KubernetesEmulator

Obj = dict[str, Any]


def controller_ref(owner: Obj, *, block_owner_deletion: bool = False) -> Obj:
    """The ownerReference a controller puts on what it creates (a ReplicaSet's, a Pod's)."""
    ref = {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
           "uid": owner["metadata"]["uid"], "controller": True}
    if block_owner_deletion:
        ref["blockOwnerDeletion"] = True
    return ref


def node(
    name: str,
    *,
    cpu: str = "8",
    memory: str = "32Gi",
    gpus: int = 0,
    ready: bool = True,
    zone: str = "zone-a",
    unschedulable: bool = False,
    taints: list[Obj] | None = None,
) -> Obj:
    capacity = {"cpu": cpu, "memory": memory, "pods": "110"}
    if gpus:
        capacity["nvidia.com/gpu"] = str(gpus)
    spec: Obj = {}
    if unschedulable:
        spec["unschedulable"] = True
    if taints:
        spec["taints"] = taints
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {"kubernetes.io/hostname": name, "topology.kubernetes.io/zone": zone},
        },
        "spec": spec,
        "status": {
            "capacity": dict(capacity),
            "allocatable": dict(capacity),
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True" if ready else "False",
                    "reason": "KubeletReady" if ready else "NodeStatusUnknown",
                }
            ],
        },
    }


def _template(labels: dict[str, str], *, cpu: str = "100m", gpus: int = 0) -> Obj:
    resources: Obj = {"requests": {"cpu": cpu, "memory": "128Mi"}}
    if gpus:
        resources["requests"]["nvidia.com/gpu"] = str(gpus)
        resources["limits"] = {"nvidia.com/gpu": str(gpus)}
    return {
        "metadata": {"labels": dict(labels)},
        "spec": {"containers": [{"name": "main", "image": "example/app:1", "resources": resources}]},
    }


def deployment(
    name: str,
    *,
    namespace: str = "default",
    replicas: int = 2,
    labels: dict[str, str] | None = None,
    gpus: int = 0,
    ready: int | None = None,
    rolling: bool = False,
) -> Obj:
    labels = labels or {"app": name}
    ready = replicas if ready is None else ready
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(labels)},
            "template": _template(labels, gpus=gpus),
        },
        "status": {
            "observedGeneration": 1,
            "replicas": replicas + (1 if rolling else 0),
            "updatedReplicas": replicas - (1 if rolling else 0),
            "readyReplicas": ready,
            "availableReplicas": ready,
        },
    }


def statefulset(
    name: str, *, namespace: str = "default", replicas: int = 3, labels: dict[str, str] | None = None
) -> Obj:
    labels = labels or {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "spec": {
            "replicas": replicas,
            "serviceName": name,
            "selector": {"matchLabels": dict(labels)},
            "template": _template(labels),
        },
        "status": {
            "observedGeneration": 1,
            "replicas": replicas,
            "readyReplicas": replicas,
            "currentRevision": f"{name}-1",
            "updateRevision": f"{name}-1",
        },
    }


def job(
    name: str,
    *,
    namespace: str = "default",
    parallelism: int = 1,
    gpus: int = 0,
    labels: dict[str, str] | None = None,
) -> Obj:
    labels = labels or {"job-name": name}
    template = _template(labels, gpus=gpus)
    template["spec"]["restartPolicy"] = "Never"
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "spec": {
            "parallelism": parallelism,
            "completions": parallelism,
            "backoffLimit": 6,
            "selector": {"matchLabels": dict(labels)},
            "template": template,
        },
        "status": {"active": parallelism},
    }


def pod(
    name: str,
    *,
    owner: Obj,
    node_name: str | None,
    ready: bool = True,
    restarts: int = 0,
    phase: str | None = None,
    namespace: str | None = None,
) -> Obj:
    """A pod of ``owner`` (a stored workload, or a ReplicaSet) as its controller and kubelet left it."""
    template = owner["spec"]["template"]
    phase = phase or ("Running" if node_name else "Pending")
    status: Obj = {
        "phase": phase,
        "conditions": [
            {"type": "PodScheduled", "status": "True" if node_name else "False"},
            {"type": "Ready", "status": "True" if ready and phase == "Running" else "False"},
        ],
    }
    if phase == "Running":
        status["containerStatuses"] = [
            {
                "name": "main",
                "ready": ready,
                "restartCount": restarts,
                "image": "example/app:1",
                "imageID": "",
                "started": True,
                "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}},
            }
        ]
    spec = {**template["spec"]}
    if node_name:
        spec["nodeName"] = node_name
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace or owner["metadata"]["namespace"],
            "labels": dict(template["metadata"]["labels"]),
            "ownerReferences": [controller_ref(owner, block_owner_deletion=True)],
        },
        "spec": spec,
        "status": status,
    }


def service(name: str, *, namespace: str = "default", selector: dict[str, str] | None = None) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "selector": selector or {"app": name},
            "ports": [{"port": 80, "targetPort": 8080}],
            "type": "ClusterIP",
            "clusterIP": "10.0.0.10",
        },
    }


def pdb(
    name: str,
    *,
    namespace: str = "default",
    selector: dict[str, str],
    min_available: int | str | None = None,
    max_unavailable: int | str | None = None,
) -> Obj:
    spec: Obj = {"selector": {"matchLabels": dict(selector)}}
    if min_available is not None:
        spec["minAvailable"] = min_available
    if max_unavailable is not None:
        spec["maxUnavailable"] = max_unavailable
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def hpa(name: str, *, namespace: str = "default", target: str, min_replicas: int = 1, max_replicas: int = 5) -> Obj:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
            "minReplicas": min_replicas,
            "maxReplicas": max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}},
                }
            ],
        },
    }


def seed_workload(
    emulator: KubernetesEmulator,
    workload: Obj,
    nodes: list[str],
    *,
    ready: int | None = None,
    restarts: int = 0,
) -> tuple[Obj, list[Obj]]:
    """Store ``workload`` and its pods over ``nodes`` round robin (a Deployment's through a ReplicaSet)."""
    stored = emulator.put(workload)
    kind, name = stored["kind"], stored["metadata"]["name"]
    owner = stored
    if kind == "Deployment":
        rs = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": f"{name}-5d8f7",
                "namespace": stored["metadata"]["namespace"],
                "labels": dict(stored["spec"]["selector"]["matchLabels"]),
                "ownerReferences": [controller_ref(stored)],
            },
            "spec": {
                "replicas": stored["spec"]["replicas"],
                "selector": stored["spec"]["selector"],
                "template": stored["spec"]["template"],
            },
        }
        owner = emulator.put(rs)
    count = stored["spec"].get("replicas", stored["spec"].get("parallelism", 1))
    ready = count if ready is None else ready
    pods = []
    for i in range(count):
        suffix = str(i) if kind == "StatefulSet" else uuid.uuid4().hex[:5]
        pods.append(
            emulator.put(
                pod(
                    f"{owner['metadata']['name']}-{suffix}",
                    owner=owner,
                    node_name=nodes[i % len(nodes)] if nodes else None,
                    ready=i < ready,
                    restarts=restarts,
                )
            )
        )
    return stored, pods
