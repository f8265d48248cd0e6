"""Recorded list responses of a big cluster, as the API server pages them (``limit``/``continue``).

Deterministic by seed. Objects are shaped like the API server returns them (list items without
``kind``/``apiVersion``, with ``managedFields``, default tolerations, the projected service-account
volume, container statuses and conditions), so a page weighs what a real one does: a Pod ~4-5 KB,
a Node ~9 KB (its image list). Kinds: Nodes, Pods, Deployments, ReplicaSets, StatefulSets,
DaemonSets, Jobs, Services, PodDisruptionBudgets, HorizontalPodAutoscalers.

    python benchmarks/cluster_gen.py --nodes 5000 --pods 150000 --out /tmp/cluster  # writes pages
"""

from __future__ import annotations

import argparse
import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Obj = dict[str, Any]
PAGE_SIZE = 500
CREATED = "2026-11-01T08:00:00Z"
DAEMONSETS = ("kube-proxy", "node-exporter", "fluent-bit")
_IMAGES = ("nginx", "envoy", "redis", "postgres", "api", "worker", "frontend", "payments", "search", "kafka")


@dataclass
class ClusterPages:
    """Serialized list responses: plural -> pages (bytes of one JSON ``...List`` each)."""

    pages: dict[str, list[bytes]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    page_size: int = PAGE_SIZE

    @property
    def total_bytes(self) -> int:
        return sum(len(p) for pages in self.pages.values() for p in pages)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for plural, pages in self.pages.items():
            for i, page in enumerate(pages):
                (folder / f"{plural}-{i:05d}.json").write_bytes(page)

    @classmethod
    def load(cls, folder: Path) -> ClusterPages:
        out = cls()
        for path in sorted(folder.glob("*-*.json")):
            plural = path.stem.rsplit("-", 1)[0]
            page = path.read_bytes()
            out.pages.setdefault(plural, []).append(page)
        for plural, pages in out.pages.items():
            sizes = [len(json.loads(p)["items"]) for p in pages]
            out.counts[plural] = sum(sizes)
            if len(sizes) > 1:  # a full first page gives the size the lists were recorded with
                out.page_size = sizes[0]
        return out


class _Gen:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.rv = 1000

    def uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def meta(self, name: str, namespace: str | None, labels: dict[str, str], **extra: Any) -> Obj:
        self.rv += 1
        m: Obj = {"name": name}
        if namespace is not None:
            m["namespace"] = namespace
        m.update(uid=self.uid(), resourceVersion=str(self.rv), creationTimestamp=CREATED, labels=labels)
        m.update(extra)
        return m

    def hash(self) -> str:
        return "".join(self.rng.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(10))


def _managed(manager: str, api_version: str, fields: list[str]) -> list[Obj]:
    """Server-side-apply bookkeeping the API server returns on every object (not in kubectl -o json)."""
    return [{"manager": manager, "operation": "Update", "apiVersion": api_version, "time": CREATED,
             "fieldsType": "FieldsV1", "fieldsV1": {f"f:{f}": {} for f in fields}}]


def _container(g: _Gen, name: str, image: str, env: list[Obj], cpu: int, mem: int) -> Obj:
    probe = {"httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTP"}, "initialDelaySeconds": 5,
             "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3}
    return {
        "name": name, "image": f"registry.example.com/{image}:1.{g.rng.randrange(40)}.{g.rng.randrange(9)}",
        "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}], "env": env,
        "resources": {"requests": {"cpu": f"{cpu}m", "memory": f"{mem}Mi"},
                      "limits": {"cpu": f"{cpu * 2}m", "memory": f"{mem * 2}Mi"}},
        "volumeMounts": [{"name": "kube-api-access", "readOnly": True,
                          "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}],
        "livenessProbe": probe, "readinessProbe": dict(probe, httpGet={"path": "/ready", "port": 8080,
                                                                       "scheme": "HTTP"}),
        "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
        "imagePullPolicy": "IfNotPresent",
    }


def _template(g: _Gen, app: str, ns: str, callees: list[str], tier: str) -> Obj:
    env: list[Obj] = [{"name": "LOG_LEVEL", "value": "info"}, {"name": "PORT", "value": "8080"},
           {"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}}]
    env += [{"name": f"{c.upper().replace('-', '_')}_URL", "value": f"http://{c}.{ns}.svc.cluster.local:8080"}
            for c in callees]
    cpu, mem = g.rng.choice((50, 100, 250, 500)), g.rng.choice((64, 128, 256, 512))
    containers = [_container(g, app, g.rng.choice(_IMAGES), env, cpu, mem)]
    if g.rng.random() < 0.3:
        containers.append(_container(g, "istio-proxy", "envoy", [], 100, 128))
    return {
        "metadata": {"labels": {"app": app, "tier": tier, "app.kubernetes.io/name": app,
                                "app.kubernetes.io/part-of": ns},
                     "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": "9090"}},
        "spec": {"containers": containers, "restartPolicy": "Always", "terminationGracePeriodSeconds": 30,
                 "dnsPolicy": "ClusterFirst", "serviceAccountName": app, "serviceAccount": app,
                 "securityContext": {"runAsNonRoot": True}, "schedulerName": "default-scheduler"},
    }


def _volume() -> Obj:
    return {"name": "kube-api-access", "projected": {"defaultMode": 420, "sources": [
        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1",
                                                                     "fieldPath": "metadata.namespace"}}]}}]}}


_TOLERATIONS = [{"key": f"node.kubernetes.io/{k}", "operator": "Exists", "effect": "NoExecute",
                 "tolerationSeconds": 300} for k in ("not-ready", "unreachable")]


def _pod(g: _Gen, name: str, ns: str, template: Obj, owner: tuple[str, str, str], node: str, i: int) -> Obj:
    labels = dict(template["metadata"]["labels"])
    spec = json.loads(json.dumps(template["spec"]))
    spec.update(nodeName=node, volumes=[_volume()], tolerations=_TOLERATIONS, enableServiceLinks=True,
                preemptionPolicy="PreemptLowerPriority", priority=0)
    pending = g.rng.random() < 0.01
    ready = not pending and g.rng.random() > 0.01
    cond = [{"type": t, "status": "True" if (ready or t in ("PodScheduled", "Initialized")) else "False",
             "lastProbeTime": None, "lastTransitionTime": CREATED}
            for t in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")]
    statuses = [{"name": c["name"], "image": c["image"], "imageID": f"{c['image']}@sha256:{g.hash() * 6}",
                 "containerID": f"containerd://{g.hash() * 6}", "ready": ready, "started": ready,
                 "restartCount": g.rng.choice((0, 0, 0, 0, 1, 3)),
                 "state": {"running": {"startedAt": CREATED}}, "lastState": {}}
                for c in spec["containers"]]
    ip = f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
    status: Obj = {"phase": "Pending" if pending else "Running", "conditions": cond, "qosClass": "Burstable"}
    if not pending:
        status.update(hostIP="192.168.0.1", hostIPs=[{"ip": "192.168.0.1"}], podIP=ip, podIPs=[{"ip": ip}],
                      startTime=CREATED, containerStatuses=statuses)
    else:
        spec.pop("nodeName")
    meta = g.meta(name, ns, labels, generateName=name.rsplit("-", 1)[0] + "-",
                  annotations=dict(template["metadata"].get("annotations") or {}),
                  ownerReferences=[{"apiVersion": owner[0], "kind": owner[1], "name": owner[2],
                                    "uid": g.uid(), "controller": True, "blockOwnerDeletion": True}],
                  managedFields=_managed("kube-controller-manager", "v1", ["metadata", "spec"])
                  + _managed("kubelet", "v1", ["status"]))
    return {"metadata": meta, "spec": spec, "status": status}


def _node(g: _Gen, i: int) -> Obj:
    name = f"node-{i:05d}"
    gpu = i % 50 == 0
    zone = f"eu-west-1{'abc'[i % 3]}"
    labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
              "topology.kubernetes.io/zone": zone, "topology.kubernetes.io/region": "eu-west-1",
              "node.kubernetes.io/instance-type": "p4d.24xlarge" if gpu else "m6i.4xlarge",
              "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64",
              "failure-domain.beta.kubernetes.io/zone": zone, "node-pool": "gpu" if gpu else "general"}
    cap = {"cpu": "96" if gpu else "16", "memory": "1152Gi" if gpu else "64Gi", "pods": "110",
           "ephemeral-storage": "200Gi", "hugepages-2Mi": "0"}
    if gpu:
        cap["nvidia.com/gpu"] = "8"
    alloc = dict(cap, cpu="95500m" if gpu else "15890m", memory="1100Gi" if gpu else "61Gi")
    ready = g.rng.random() > 0.002
    conds = [{"type": t, "status": "False", "reason": f"Kubelet Has No {t}", "message": "kubelet is fine",
              "lastHeartbeatTime": CREATED, "lastTransitionTime": CREATED}
             for t in ("MemoryPressure", "DiskPressure", "PIDPressure")]
    conds.append({"type": "Ready", "status": "True" if ready else "Unknown", "reason": "KubeletReady",
                  "message": "kubelet is posting ready status", "lastHeartbeatTime": CREATED,
                  "lastTransitionTime": CREATED})
    images = [{"names": [f"registry.example.com/{g.rng.choice(_IMAGES)}@sha256:{g.hash() * 6}",
                         f"registry.example.com/{g.rng.choice(_IMAGES)}:1.{k}"], "sizeBytes": 10_000_000 + k}
              for k in range(30)]
    spec: Obj = {"podCIDR": f"10.{i >> 8}.{i & 255}.0/24", "providerID": f"aws:///{zone}/i-{g.hash()}"}
    if gpu:
        spec["taints"] = [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]
    meta = g.meta(name, None, labels, annotations={
        "node.alpha.kubernetes.io/ttl": "0", "volumes.kubernetes.io/controller-managed-attach-detach": "true",
        "csi.volume.kubernetes.io/nodeid": json.dumps({"ebs.csi.aws.com": f"i-{g.hash()}"})},
        managedFields=_managed("kubelet", "v1", ["metadata", "status"]))
    return {"metadata": meta, "spec": spec, "status": {
        "capacity": cap, "allocatable": alloc, "conditions": conds,
        "addresses": [{"type": "InternalIP", "address": f"192.168.{i >> 8}.{i & 255}"},
                      {"type": "Hostname", "address": name}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        "nodeInfo": {"kubeletVersion": "v1.31.2", "containerRuntimeVersion": "containerd://1.7.22",
                     "kernelVersion": "6.1.112", "osImage": "Amazon Linux 2023", "operatingSystem": "linux",
                     "architecture": "amd64", "machineID": g.hash(), "systemUUID": g.uid(), "bootID": g.uid(),
                     "kubeProxyVersion": "v1.31.2"}, "images": images}}


@dataclass
class _Lists:
    items: dict[str, list[Obj]] = field(default_factory=dict)

    def add(self, plural: str, obj: Obj) -> None:
        self.items.setdefault(plural, []).append(obj)


def _workload(g: _Gen, out: _Lists, kind: str, ns: str, app: str, replicas: int, callees: list[str],
              nodes: list[str], pod_no: int) -> int:
    template = _template(g, app, ns, callees, g.rng.choice(("web", "backend", "data")))
    selector = {"matchLabels": {"app": app}}
    api = "batch/v1" if kind == "Job" else "apps/v1"
    spec: Obj = {"selector": selector, "template": template}
    status: Obj
    if kind == "Job":
        spec.update(parallelism=replicas, completions=replicas * 4, backoffLimit=6)
        status = {"active": replicas, "startTime": CREATED, "ready": replicas}
        spec["template"]["spec"]["restartPolicy"] = "Never"
    else:
        spec.update(replicas=replicas, revisionHistoryLimit=10)
        status = {"observedGeneration": 1, "replicas": replicas, "readyReplicas": replicas,
                  "availableReplicas": replicas, "updatedReplicas": replicas}
        if kind == "StatefulSet":
            rev = f"{app}-{g.hash()}"
            spec.update(serviceName=app, podManagementPolicy="OrderedReady")
            status.update(currentRevision=rev, updateRevision=rev, currentReplicas=replicas)
        else:
            spec["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%",
                                                                           "maxUnavailable": "25%"}}
    plural = {"Deployment": "deployments", "StatefulSet": "statefulsets", "Job": "jobs"}[kind]
    out.add(plural, {"metadata": g.meta(app, ns, {"app": app}, generation=1, annotations={
        "deployment.kubernetes.io/revision": "1"}, managedFields=_managed("kubectl", api, ["spec"])),
        "spec": spec, "status": status})
    owner = (api, kind, app)
    hash_ = g.hash()
    if kind == "Deployment":
        owner = ("apps/v1", "ReplicaSet", f"{app}-{hash_}")
        template["metadata"]["labels"]["pod-template-hash"] = hash_
        rs_labels = dict(template["metadata"]["labels"])
        out.add("replicasets", {"metadata": g.meta(f"{app}-{hash_}", ns, rs_labels, ownerReferences=[
            {"apiVersion": "apps/v1", "kind": "Deployment", "name": app, "uid": g.uid(), "controller": True}]),
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": app, "pod-template-hash": hash_}},
                     "template": template}, "status": {"replicas": replicas, "readyReplicas": replicas}})
    for r in range(replicas):
        suffix = str(r) if kind == "StatefulSet" else f"{hash_}-{g.hash()[:5]}" if kind == "Deployment" \
            else g.hash()[:5]
        out.add("pods", _pod(g, f"{app}-{suffix}", ns, template, owner, g.rng.choice(nodes), pod_no + r))
    if kind != "Job":
        out.add("services", {"metadata": g.meta(app, ns, {"app": app}), "spec": {
            "selector": {"app": app}, "type": "ClusterIP", "clusterIP": f"172.20.{pod_no >> 8 & 255}.{pod_no & 255}",
            "ports": [{"name": "http", "port": 8080, "targetPort": 8080, "protocol": "TCP"}],
            "sessionAffinity": "None", "internalTrafficPolicy": "Cluster"}, "status": {"loadBalancer": {}}})
        if g.rng.random() < 0.3 and replicas > 1:
            out.add("poddisruptionbudgets", {"metadata": g.meta(app, ns, {"app": app}), "spec": {
                "selector": {"matchLabels": {"app": app}}, "maxUnavailable": 1}, "status": {
                "currentHealthy": replicas, "desiredHealthy": replicas - 1, "disruptionsAllowed": 1,
                "expectedPods": replicas, "observedGeneration": 1}})
        if kind == "Deployment" and g.rng.random() < 0.2:
            out.add("horizontalpodautoscalers", {"metadata": g.meta(app, ns, {"app": app}), "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": app},
                "minReplicas": max(1, replicas // 2), "maxReplicas": replicas * 3, "metrics": [
                    {"type": "Resource", "resource": {"name": "cpu", "target": {
                        "type": "Utilization", "averageUtilization": 70}}}]},
                "status": {"currentReplicas": replicas, "desiredReplicas": replicas}})
    return replicas


def generate(*, nodes: int, pods: int, seed: int = 0, namespaces: int | None = None) -> _Lists:
    """The cluster's objects by plural (items as the API lists them)."""
    g, out = _Gen(seed), _Lists()
    node_names = [f"node-{i:05d}" for i in range(nodes)]
    for i in range(nodes):
        out.add("nodes", _node(g, i))
    n_ns = namespaces or max(1, pods // 500)
    placed = 0
    daemon_pods = min(pods // 2, nodes * len(DAEMONSETS))
    for d in range(daemon_pods):
        name = DAEMONSETS[d % len(DAEMONSETS)]
        node = node_names[d // len(DAEMONSETS)]
        template = _template(g, name, "kube-system", [], "system")
        out.add("pods", _pod(g, f"{name}-{g.hash()[:5]}", "kube-system", template,
                             ("apps/v1", "DaemonSet", name), node, d))
    placed = daemon_pods
    w = 0
    while placed < pods:
        ns = f"team-{w % n_ns:03d}"
        roll = g.rng.random()
        kind = "Deployment" if roll < 0.85 else "StatefulSet" if roll < 0.95 else "Job"
        replicas = min(pods - placed, g.rng.choice((1, 2, 2, 3, 3, 3, 5, 5, 10, 20, 50)))
        callees = [f"app-{c:05d}" for c in {g.rng.randrange(max(1, w)) for _ in range(2)}
                   if c % n_ns == w % n_ns and c != w][:2] if w else []
        placed += _workload(g, out, kind, ns, f"app-{w:05d}", replicas, callees, node_names, placed)
        w += 1
    return out


_LIST_KINDS = {"nodes": ("v1", "NodeList"), "pods": ("v1", "PodList"), "services": ("v1", "ServiceList"),
               "deployments": ("apps/v1", "DeploymentList"), "statefulsets": ("apps/v1", "StatefulSetList"),
               "replicasets": ("apps/v1", "ReplicaSetList"), "jobs": ("batch/v1", "JobList"),
               "poddisruptionbudgets": ("policy/v1", "PodDisruptionBudgetList"),
               "horizontalpodautoscalers": ("autoscaling/v2", "HorizontalPodAutoscalerList")}


def paged(plural: str, items: list[Obj], page_size: int = PAGE_SIZE) -> Iterator[bytes]:
    """The list as the API server pages it; the continue token names the next page's index."""
    api_version, kind = _LIST_KINDS[plural]
    n_pages = max(1, -(-len(items) // page_size))
    for p in range(n_pages):
        chunk = items[p * page_size:(p + 1) * page_size]
        meta: Obj = {"resourceVersion": "999999"}
        if p + 1 < n_pages:
            meta.update({"continue": f"{plural}:{p + 1}", "remainingItemCount": len(items) - (p + 1) * page_size})
        yield json.dumps({"kind": kind, "apiVersion": api_version, "metadata": meta, "items": chunk},
                         separators=(",", ":")).encode()


def cluster_pages(*, nodes: int, pods: int, seed: int = 0, page_size: int = PAGE_SIZE) -> ClusterPages:
    lists = generate(nodes=nodes, pods=pods, seed=seed)
    out = ClusterPages(page_size=page_size)
    for plural in _LIST_KINDS:
        items = lists.items.pop(plural, [])
        out.counts[plural] = len(items)
        out.pages[plural] = list(paged(plural, items, page_size))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nodes", type=int, default=5000)
    ap.add_argument("--pods", type=int, default=150_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    pages = cluster_pages(nodes=args.nodes, pods=args.pods, seed=args.seed)
    pages.save(args.out)
    for plural, n in pages.counts.items():
        print(f"{plural:26s} {n:8d} items  {sum(map(len, pages.pages[plural])) / 1e6:8.1f} MB")


if __name__ == "__main__":
    main()
