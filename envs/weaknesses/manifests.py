"""A ``ClusterSpec`` written back as Kubernetes objects that the twin reads into the same spec.

Remediations are patches to Kubernetes objects; to try one in the twin, the spec is rendered as
objects, patched, and read again by the twin's own builder (``envs.twin.spec_from_objects``), so a
patch means in the twin exactly what it would mean in the user's manifests. What YAML cannot say is
written in the ``chaos-agent.io/`` annotations of docs/twin.md (calls, roles, loads, SLOs, training
and pipeline facts). ``objects_of(spec)`` is deterministic; a test checks that the twin reads every
workload, Service and PDB of the built-in scenarios back unchanged.
"""

from __future__ import annotations

import json
from typing import Any

from envs.spec import (
    GPU_RESOURCE,
    AntiAffinity,
    ClusterSpec,
    HpaSpec,
    LabelRequirement,
    LabelSelector,
    NodeSpec,
    PdbSpec,
    Probe,
    ServiceSpec,
    Workload,
)

Obj = dict[str, Any]
PREFIX = "chaos-agent.io/"
CONTAINER_PORT = 8080


def _seconds(s: float) -> str:
    return f"{s:g}s"


def _selector(sel: LabelSelector) -> Obj:
    out: Obj = {}
    if sel.match_labels:
        out["matchLabels"] = dict(sel.match_labels)
    if sel.match_expressions:
        out["matchExpressions"] = [_requirement(r) for r in sel.match_expressions]
    return out


def _requirement(r: LabelRequirement) -> Obj:
    out: Obj = {"key": r.key, "operator": r.operator}
    if r.values:
        out["values"] = list(r.values)
    return out


def service_address(service_key: str) -> str:
    """``ns/Service/name`` -> ``name.ns``, an address the twin resolves from any namespace."""
    ns, _, name = service_key.split("/")
    return f"{name}.{ns}"


def _probe(p: Probe) -> Obj:
    return {"httpGet": {"path": "/healthz", "port": CONTAINER_PORT}, "initialDelaySeconds": int(p.initial_delay_s),
            "periodSeconds": int(p.period_s), "failureThreshold": p.failure_threshold,
            "successThreshold": p.success_threshold}


def _anti_affinity(terms: tuple[AntiAffinity, ...]) -> Obj:
    required = [{"labelSelector": _selector(a.selector), "topologyKey": a.topology_key} for a in terms if a.required]
    preferred = [{"weight": 100, "podAffinityTerm": {"labelSelector": _selector(a.selector),
                                                      "topologyKey": a.topology_key}}
                 for a in terms if not a.required]
    out: Obj = {}
    if required:
        out["requiredDuringSchedulingIgnoredDuringExecution"] = required
    if preferred:
        out["preferredDuringSchedulingIgnoredDuringExecution"] = preferred
    return out


def pod_spec(w: Workload) -> Obj:
    """The pod template's spec: one container with the requests, probes and scheduling rules."""
    t = w.template
    container: Obj = {
        "name": w.name,
        "image": f"registry.invalid/{w.name}:1",
        "resources": {"requests": {"cpu": f"{t.cpu_millis}m", "memory": f"{t.memory_mib}Mi"}},
        "ports": [{"containerPort": CONTAINER_PORT}],
    }
    if t.gpus:
        container["resources"]["limits"] = {GPU_RESOURCE: t.gpus}
    if t.readiness_probe is not None:
        container["readinessProbe"] = _probe(t.readiness_probe)
    if t.liveness_probe is not None:
        container["livenessProbe"] = _probe(t.liveness_probe)
    spec: Obj = {"containers": [container], "terminationGracePeriodSeconds": int(t.termination_grace_s)}
    if w.kind == "Job":
        spec["restartPolicy"] = "OnFailure"
    if t.node_selector:
        spec["nodeSelector"] = dict(t.node_selector)
    affinity: Obj = {}
    if t.node_affinity:
        affinity["nodeAffinity"] = {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [_requirement(r) for r in term]} for term in t.node_affinity]}}
    anti = _anti_affinity(t.anti_affinity)
    if anti:
        affinity["podAntiAffinity"] = anti
    if affinity:
        spec["affinity"] = affinity
    if t.tolerations:
        spec["tolerations"] = [_toleration(tol) for tol in t.tolerations]
    if w.persistent_storage and w.kind != "StatefulSet":
        spec["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": f"{w.name}-data"}}]
        container["volumeMounts"] = [{"name": "data", "mountPath": "/data"}]
    return spec


def _toleration(tol: Any) -> Obj:
    out: Obj = {"operator": tol.operator}
    if tol.key is not None:
        out["key"] = tol.key
    if tol.value:
        out["value"] = tol.value
    if tol.effect is not None:
        out["effect"] = tol.effect
    if tol.toleration_seconds is not None:
        out["tolerationSeconds"] = int(tol.toleration_seconds)
    return out


def workload_annotations(w: Workload) -> dict[str, str]:
    """Everything about ``w`` that YAML cannot say, in the annotation contract (docs/twin.md)."""
    a = {k: v for k, v in w.annotations if not k.startswith(PREFIX)}
    a[PREFIX + "workload"] = w.role
    a[PREFIX + "startup"] = _seconds(w.template.startup_s)
    a[PREFIX + "capacity-rps-per-pod"] = f"{w.capacity_rps_per_pod:g}"
    if w.leader_failover_s:
        a[PREFIX + "leader-failover"] = _seconds(w.leader_failover_s)
    if w.rollout_every_s:
        a[PREFIX + "rollout-every"] = _seconds(w.rollout_every_s)
    if w.calls:
        a[PREFIX + "calls"] = json.dumps({
            service_address(c.service): {"timeout_ms": c.timeout_ms, "retries": c.retries, "fallback": c.fallback}
            for c in w.calls}, sort_keys=True)
    if w.training is not None:
        tr = w.training
        a[PREFIX + "epochs"] = str(tr.epochs)
        a[PREFIX + "epoch-duration"] = _seconds(tr.epoch_s)
        a[PREFIX + "checkpoint-interval"] = "0" if tr.checkpoint_interval_s is None else _seconds(
            tr.checkpoint_interval_s)
        a[PREFIX + "gpu-memory-fraction"] = f"{tr.gpu_memory_fraction:g}"
    if w.pipeline is not None:
        p = w.pipeline
        a[PREFIX + "pipeline-stage"] = p.stage
        if p.feeds:
            a[PREFIX + "feeds"] = ",".join(service_address(s) for s in p.feeds)
        a[PREFIX + "drift-monitor"] = str(p.drift_monitor).lower()
        a[PREFIX + "schema-check"] = str(p.schema_check).lower()
        a[PREFIX + "max-staleness"] = _seconds(p.max_staleness_s)
    return a


def workload_object(w: Workload) -> Obj:
    labels = dict(w.template.labels)
    meta: Obj = {"name": w.name, "namespace": w.namespace, "annotations": workload_annotations(w)}
    if w.labels:
        meta["labels"] = dict(w.labels)
    template: Obj = {"metadata": {"labels": labels}, "spec": pod_spec(w)}
    if w.kind == "Job":
        return {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta,
                "spec": {"parallelism": w.replicas, "completions": w.replicas, "template": template}}
    spec: Obj = {"replicas": w.replicas, "selector": {"matchLabels": labels}, "template": template}
    if w.kind == "Deployment":
        spec["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": w.max_unavailable,
                                                                       "maxSurge": w.max_surge}}
        return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": spec}
    spec["serviceName"] = w.name
    spec["updateStrategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": w.max_unavailable}}
    if w.persistent_storage:
        spec["volumeClaimTemplates"] = [volume_claim_template()]
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": meta, "spec": spec}


def volume_claim_template(storage: str = "10Gi") -> Obj:
    return {"metadata": {"name": "data"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": storage}}}}


def service_object(s: ServiceSpec) -> Obj:
    a = {PREFIX + "entrypoint": str(s.entrypoint).lower(),
         PREFIX + "slo-availability": f"{s.slo.availability:g}",
         PREFIX + "slo-latency-p99-ms": f"{s.slo.latency_p99_ms:g}",
         PREFIX + "base-latency-ms": f"{s.base_latency_ms:g}"}
    if s.entrypoint:
        a[PREFIX + "load-rps"] = f"{s.load_rps:g}"
    if s.edge_retries:
        a[PREFIX + "edge-retries"] = str(s.edge_retries)
    spec: Obj = {"type": s.type, "selector": dict(s.selector.match_labels),
                 "ports": [{"port": 80, "targetPort": CONTAINER_PORT}]}
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": s.name, "namespace": s.namespace,
                                                               "annotations": a}, "spec": spec}


def pdb_object(p: PdbSpec) -> Obj:
    spec: Obj = {"selector": _selector(p.selector)}
    if p.min_available is not None:
        spec["minAvailable"] = p.min_available
    if p.max_unavailable is not None:
        spec["maxUnavailable"] = p.max_unavailable
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": p.name, "namespace": p.namespace}, "spec": spec}


def hpa_object(h: HpaSpec) -> Obj:
    _, kind, name = h.target.split("/")
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": h.name, "namespace": h.namespace},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": kind, "name": name},
                     "minReplicas": h.min_replicas, "maxReplicas": h.max_replicas,
                     "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                         "type": "Utilization", "averageUtilization": round(h.target_cpu_utilization * 100)}}}]}}


def node_object(n: NodeSpec) -> Obj:
    allocatable: Obj = {"cpu": f"{n.cpu_millis}m", "memory": f"{n.memory_mib}Mi"}
    if n.gpus:
        allocatable[GPU_RESOURCE] = str(n.gpus)
    spec: Obj = {}
    if n.taints:
        spec["taints"] = [{"key": t.key, "effect": t.effect, **({"value": t.value} if t.value else {})}
                          for t in n.taints]
    if n.unschedulable:
        spec["unschedulable"] = True
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": n.name, "labels": dict(n.labels)},
            "spec": spec, "status": {"allocatable": allocatable}}


def objects_of(spec: ClusterSpec) -> list[Obj]:
    """Every node, workload, Service, PDB and HPA of ``spec`` as a Kubernetes object."""
    return ([node_object(n) for n in spec.nodes] + [workload_object(w) for w in spec.workloads]
            + [service_object(s) for s in spec.services] + [pdb_object(p) for p in spec.pdbs]
            + [hpa_object(h) for h in spec.hpas])


CLUSTER_SCOPED = frozenset({"Node", "Namespace", "PersistentVolume", "StorageClass", "ClusterRole",
                            "ClusterRoleBinding", "PriorityClass", "CustomResourceDefinition", "IngressClass"})


def object_key(obj: Obj) -> str:
    """``ns/Kind/name`` (``Kind/name`` when cluster scoped), the key patches address objects by; a namespaced
    object without a namespace is in ``default``, as ``kubectl apply`` puts it."""
    meta = obj.get("metadata") or {}
    kind, name = obj.get("kind", ""), meta.get("name", "")
    if kind in CLUSTER_SCOPED:
        return f"{kind}/{name}"
    return f"{meta.get('namespace') or 'default'}/{kind}/{name}"
