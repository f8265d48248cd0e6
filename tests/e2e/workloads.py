"""Workloads for the hollow nodes: small Kubernetes objects built in code, applied with server-side apply.

Hollow kubelets run pods without containers, on a 1-CPU fake machine each, so requests stay small;
no pod has a network probe (the control plane's admission policy refuses them). ``platform()`` is the
set the daemon's end-to-end tests run against: a web shop (an entry point Service, a Deployment under a
PodDisruptionBudget, a database StatefulSet it calls), a data pipeline whose stages feed each other (the
data faults' target, in the namespace where deploy/examples/data-faults binds ConfigMap writes), a
model server on one GPU node and a training Job on the other. A Job replaces killed pods only after
its back-off (10 s, 20 s, 40 s, ...), as Kubernetes does; the model server's Deployment at once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from tests.servers.kubernetes import GPU, POOL
from tests.servers.kubernetes_api import ApiStatus, Obj, RestClient, wait_until

TEST_LABEL = "chaos-agent-test/suite"


def namespace(name: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": {TEST_LABEL: "e2e"}}}


def _container(name: str, *, cpu: str = "50m", gpus: int = 0, env: Mapping[str, str] | None = None) -> Obj:
    resources: dict[str, Any] = {"requests": {"cpu": cpu, "memory": "32Mi"}, "limits": {"memory": "64Mi"}}
    if gpus:
        resources["limits"][GPU] = str(gpus)
        resources["requests"][GPU] = str(gpus)
    return {"name": name, "image": f"registry.invalid/chaos-agent-test/{name}:1", "imagePullPolicy": "IfNotPresent",
            "env": [{"name": k, "value": v} for k, v in (env or {}).items()], "resources": resources,
            "readinessProbe": {"exec": {"command": ["true"]}, "periodSeconds": 5}}


def _pod_template(app: str, containers: Sequence[Obj], **spec: Any) -> Obj:
    return {"metadata": {"labels": {"app": app}},
            "spec": {"containers": list(containers), "terminationGracePeriodSeconds": 1, **spec}}


def _meta(ns: str, name: str, annotations: Mapping[str, str] | None) -> Obj:
    return {"name": name, "namespace": ns, "labels": {"app": name}, "annotations": dict(annotations or {})}


def on_pool(pool: str) -> dict[str, Any]:
    """Pod spec fields that keep a workload on one pool of the hollow nodes."""
    spec: dict[str, Any] = {"nodeSelector": {POOL: pool}}
    if pool in ("gpu", "training"):
        spec["tolerations"] = [{"key": GPU, "operator": "Exists", "effect": "NoSchedule"}]
    return spec


def deployment(ns: str, name: str, replicas: int, *, annotations: Mapping[str, str] | None = None,
               env: Mapping[str, str] | None = None, cpu: str = "50m", gpus: int = 0, **spec: Any) -> Obj:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": _meta(ns, name, annotations),
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": _pod_template(name, [_container(name, cpu=cpu, env=env, gpus=gpus)], **spec)}}


def statefulset(ns: str, name: str, replicas: int, **spec: Any) -> Obj:
    return {"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
            "spec": {"replicas": replicas, "serviceName": name, "selector": {"matchLabels": {"app": name}},
                     "podManagementPolicy": "Parallel", "template": _pod_template(name, [_container(name)], **spec)}}


def job(ns: str, name: str, parallelism: int, *, gpus: int = 0, annotations: Mapping[str, str] | None = None) -> Obj:
    spec: dict[str, Any] = {"restartPolicy": "Never", **(on_pool("training") if gpus else {})}
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": _meta(ns, name, annotations),
            "spec": {"parallelism": parallelism, "completions": parallelism, "backoffLimit": 1000,
                     "template": _pod_template(name, [_container(name, gpus=gpus)], **spec)}}


def service(ns: str, name: str, port: int, *, annotations: Mapping[str, str] | None = None,
            headless: bool = False) -> Obj:
    spec: dict[str, Any] = {"selector": {"app": name}, "ports": [{"port": port, "targetPort": port}]}
    if headless:
        spec["clusterIP"] = "None"
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": ns, "annotations": dict(annotations or {})}, "spec": spec}


def pdb(ns: str, name: str, *, max_unavailable: int | None = None, min_available: int | None = None) -> Obj:
    spec: dict[str, Any] = {"selector": {"matchLabels": {"app": name}}}
    if max_unavailable is not None:
        spec["maxUnavailable"] = max_unavailable
    if min_available is not None:
        spec["minAvailable"] = min_available
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}


SHOP, PIPELINES = "shop", "ml-pipelines"


def platform() -> list[Obj]:
    """The daemon's workload set (namespaces first)."""
    return [
        namespace(SHOP), namespace(PIPELINES),
        deployment(SHOP, "web", 3, env={"DB_URL": "postgres://db:5432/shop",
                                        "FEATURES_URL": "http://features.ml-pipelines:6566"}, **on_pool("shop")),
        service(SHOP, "web", 8080, annotations={"chaos-agent.io/entrypoint": "true", "chaos-agent.io/load-rps": "20"}),
        pdb(SHOP, "web", max_unavailable=1),
        statefulset(SHOP, "db", 2, **on_pool("shop")), service(SHOP, "db", 5432, headless=True),
        deployment(PIPELINES, "ingest", 2, annotations={
            "chaos-agent.io/pipeline-stage": "producer", "chaos-agent.io/feeds": "features"}, **on_pool("pipelines")),
        deployment(PIPELINES, "features", 2, annotations={"chaos-agent.io/pipeline-stage": "feature_store"},
                   **on_pool("pipelines")),
        service(PIPELINES, "features", 6566), service(PIPELINES, "ingest", 8080),
        deployment(PIPELINES, "ranker", 2, gpus=1, annotations={"chaos-agent.io/workload": "serving"},
                   **on_pool("gpu")),
        job(PIPELINES, "train", 2, gpus=1, annotations={"chaos-agent.io/workload": "training"}),
    ]


def api_path(obj: Obj, *, name: bool = True) -> str:
    """The REST path of an object (with its name) from its apiVersion and kind."""
    plural = {"Namespace": "namespaces", "Deployment": "deployments", "StatefulSet": "statefulsets",
              "Job": "jobs", "Service": "services", "PodDisruptionBudget": "poddisruptionbudgets",
              "ConfigMap": "configmaps", "Pod": "pods", "Lease": "leases", "ServiceAccount": "serviceaccounts",
              "NetworkChaos": "networkchaos", "StressChaos": "stresschaos"}[obj["kind"]]
    version = obj["apiVersion"]
    base = f"/api/{version}" if "/" not in version else f"/apis/{version}"
    ns = obj["metadata"].get("namespace")
    path = f"{base}/namespaces/{ns}/{plural}" if ns else f"{base}/{plural}"
    return f"{path}/{obj['metadata']['name']}" if name else path


def apply_all(client: RestClient, objects: Sequence[Obj]) -> None:
    for obj in objects:
        client.apply(api_path(obj), obj)


def ready_pods(client: RestClient, ns: str, app: str) -> list[Obj]:
    """The app's pods that are Running and Ready, not being deleted."""
    pods = client.list(f"/api/v1/namespaces/{ns}/pods", labelSelector=f"app={app}")
    return [p for p in pods if not p["metadata"].get("deletionTimestamp") and p["status"].get("phase") == "Running"
            and any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions") or [])]


def wait_ready(client: RestClient, ns: str, app: str, count: int, timeout_s: float = 90) -> list[Obj]:
    def enough() -> list[Obj] | None:
        pods = ready_pods(client, ns, app)
        return pods if len(pods) >= count else None

    def detail() -> str:
        pods = client.list(f"/api/v1/namespaces/{ns}/pods", labelSelector=f"app={app}")
        return json.dumps([{"name": p["metadata"]["name"], "node": p["spec"].get("nodeName"),
                            "phase": p["status"].get("phase"), "conditions": p["status"].get("conditions")}
                           for p in pods], indent=1)[-3000:]

    return wait_until(enough, timeout_s=timeout_s, what=f"{count} ready pod(s) of {ns}/{app}", detail=detail)


def delete_namespace(client: RestClient, name: str, *, wait: bool = True) -> None:
    client.delete(f"/api/v1/namespaces/{name}")
    if wait:
        def gone() -> bool:
            try:
                client.get(f"/api/v1/namespaces/{name}")
            except ApiStatus as e:
                return e.code == 404
            return False

        wait_until(gone, timeout_s=120, what=f"namespace {name} to be deleted")
