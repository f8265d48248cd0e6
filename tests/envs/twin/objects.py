"""Small builders of raw Kubernetes objects, shaped as the API returns them, for the twin's tests."""

from __future__ import annotations

import copy
from typing import Any

Obj = dict[str, Any]


def container(
    name: str = "app",
    *,
    cpu: Any = "100m",
    memory: Any = "128Mi",
    gpus: Any = None,
    env: dict[str, str] | None = None,
    **extra: Any,
) -> Obj:
    c: Obj = {"name": name, "image": f"registry.example.com/{name}:1.0"}
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    if requests or gpus is not None:
        c["resources"] = {"requests": requests}
        if gpus is not None:
            c["resources"]["limits"] = {"nvidia.com/gpu": gpus}
    if env:
        c["env"] = [{"name": k, "value": v} for k, v in env.items()]
    c.update(extra)
    return c


def pod_template(
    app: str, containers: list[Obj] | None = None, *, annotations: dict[str, str] | None = None, **spec: Any
) -> Obj:
    meta: Obj = {"labels": {"app": app}}
    if annotations:
        meta["annotations"] = annotations
    return {"metadata": meta, "spec": {"containers": containers or [container()], **spec}}


def deployment(
    name: str,
    *,
    namespace: str | None = None,
    replicas: Any = 1,
    containers: list[Obj] | None = None,
    annotations: dict[str, str] | None = None,
    template_annotations: dict[str, str] | None = None,
    strategy: Obj | None = None,
    **pod_spec: Any,
) -> Obj:
    meta: Obj = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    if annotations:
        meta["annotations"] = annotations
    spec: Obj = {
        "replicas": replicas,
        "selector": {"matchLabels": {"app": name}},
        "template": pod_template(name, containers, annotations=template_annotations, **pod_spec),
    }
    if strategy is not None:
        spec["strategy"] = strategy
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": spec}


def statefulset(name: str, *, replicas: int = 3, claims: bool = True, **kw: Any) -> Obj:
    obj = deployment(name, replicas=replicas, **kw)
    obj["kind"] = "StatefulSet"
    obj["spec"]["serviceName"] = name
    if claims:
        obj["spec"]["volumeClaimTemplates"] = [
            {"metadata": {"name": "data"}, "spec": {"resources": {"requests": {"storage": "1Gi"}}}}
        ]
    return obj


def job(
    name: str,
    *,
    containers: list[Obj] | None = None,
    annotations: dict[str, str] | None = None,
    namespace: str | None = None,
    **spec: Any,
) -> Obj:
    meta: Obj = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    if annotations:
        meta["annotations"] = annotations
    template_spec = {k: spec.pop(k) for k in list(spec) if k in ("volumes", "tolerations", "nodeSelector")}
    template = pod_template(name, containers, restartPolicy="Never", **template_spec)
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta, "spec": {"template": template, **spec}}


def service(
    name: str,
    *,
    namespace: str | None = None,
    selector: dict[str, str] | None = None,
    type: str | None = None,
    annotations: dict[str, str] | None = None,
) -> Obj:
    meta: Obj = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    if annotations:
        meta["annotations"] = annotations
    spec: Obj = {"selector": {"app": name} if selector is None else selector, "ports": [{"port": 80}]}
    if type:
        spec["type"] = type
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": spec}


def node(
    name: str,
    *,
    cpu: str = "4",
    memory: str = "16Gi",
    gpus: str | None = None,
    zone: str = "zone-a",
    taints: list[Obj] | None = None,
    **labels: str,
) -> Obj:
    allocatable = {"cpu": cpu, "memory": memory, "pods": "110"}
    if gpus is not None:
        allocatable["nvidia.com/gpu"] = gpus
    spec: Obj = {"taints": taints} if taints else {}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {"topology.kubernetes.io/zone": zone, **labels}},
        "spec": spec,
        "status": {"allocatable": allocatable, "capacity": copy.deepcopy(allocatable)},
    }


def config_map(name: str, data: dict[str, str], namespace: str | None = None) -> Obj:
    meta: Obj = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}
