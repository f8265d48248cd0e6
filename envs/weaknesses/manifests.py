"""A ``ClusterSpec`` written back as Kubernetes objects that the twin reads into the same spec.

Remediations are patches to Kubernetes objects; to try one in the twin, the spec is rendered as
objects, patched, and read again by the twin's own builder (``envs.twin.spec_from_objects``), so a
patch means in the twin exactly what it would mean in the user's manifests. What YAML cannot say is
written in the ``chaos-agent.io/`` annotations of docs/twin.md (calls with every field, roles, loads, SLOs,
entry clients, cold starts, datastores, training and pipeline facts), so nothing the twin would infer from
a name or an image is inferred again: a datastore runs its engine's image with its data path annotated and
the volume its storage says mounted there. ``objects_of(spec)`` is deterministic; tests check that the twin
reads every workload, Service and PDB back unchanged, of the built-in scenarios and of specs the twin built.
"""

from __future__ import annotations

import json
from typing import Any

from envs.spec import (
    GPU_RESOURCE,
    AntiAffinity,
    Call,
    ClusterSpec,
    EntryClient,
    HpaSpec,
    LabelRequirement,
    LabelSelector,
    NodeSpec,
    PdbSpec,
    PodAffinity,
    PreferredNodeTerm,
    Probe,
    ServiceSpec,
    TopologySpread,
    Workload,
)
from envs.twin.annotations import cache_ttl_text
from envs.twin.datastores import ENGINES, engine_of
from envs.twin.entry import client_annotation

Obj = dict[str, Any]
PREFIX = "chaos-agent.io/"
CONTAINER_PORT = 8080
DATA_PATH = "/var/lib/store"
"""Where a rendered datastore keeps its data (its ``data`` volume, if any, is mounted there)."""
DATA_VOLUME = "data"
"""The volume a fix for ephemeral state turns into a claim (envs/weaknesses/remedy.py)."""


def _number(x: float) -> str:
    """``x`` as short as it reads back exactly (``0.999``, ``12.5``; every digit only when needed)."""
    short = f"{x:g}"
    return short if float(short) == x else repr(float(x))


def _seconds(s: float) -> str:
    return f"{_number(s)}s"


def _selector(sel: LabelSelector) -> Obj:
    """A label selector; ``every_pod`` is the empty selector ``{}`` (the twin reads an absent one as none)."""
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


def _pod_term(a: AntiAffinity | PodAffinity) -> Obj:
    term: Obj = {"topologyKey": a.topology_key}
    if a.selector != LabelSelector():  # absent: selects no pod
        term["labelSelector"] = _selector(a.selector)
    if a.all_namespaces:
        term["namespaceSelector"] = {}
    elif a.namespaces:
        term["namespaces"] = list(a.namespaces)
    return term


def _pod_terms(terms: tuple[AntiAffinity, ...] | tuple[PodAffinity, ...]) -> Obj:
    required = [_pod_term(a) for a in terms if a.required]
    preferred = [{"weight": a.weight, "podAffinityTerm": _pod_term(a)} for a in terms if not a.required]
    out: Obj = {}
    if required:
        out["requiredDuringSchedulingIgnoredDuringExecution"] = required
    if preferred:
        out["preferredDuringSchedulingIgnoredDuringExecution"] = preferred
    return out


def _spread(c: TopologySpread) -> Obj:
    out: Obj = {"maxSkew": c.max_skew, "topologyKey": c.topology_key,
                "whenUnsatisfiable": "ScheduleAnyway" if c.schedule_anyway else "DoNotSchedule"}
    if c.selector != LabelSelector():
        out["labelSelector"] = _selector(c.selector)
    if c.min_domains is not None:
        out["minDomains"] = c.min_domains
    if c.same_revision:
        out["matchLabelKeys"] = ["pod-template-hash"]
    if not c.honor_node_affinity:
        out["nodeAffinityPolicy"] = "Ignore"
    if c.honor_taints:
        out["nodeTaintsPolicy"] = "Honor"
    return out


def _preferred_node(t: PreferredNodeTerm) -> Obj:
    return {"weight": t.weight, "preference": {"matchExpressions": [_requirement(r) for r in t.requirements]}}


def _affinity(w: Workload) -> Obj:
    t = w.template
    affinity: Obj = {}
    node: Obj = {}
    if t.node_affinity:
        node["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": [
            {"matchExpressions": [_requirement(r) for r in term]} for term in t.node_affinity]}
    if t.preferred_nodes:
        node["preferredDuringSchedulingIgnoredDuringExecution"] = [_preferred_node(p) for p in t.preferred_nodes]
    if node:
        affinity["nodeAffinity"] = node
    for key, terms in (("podAffinity", t.pod_affinity), ("podAntiAffinity", t.anti_affinity)):
        block = _pod_terms(terms)
        if block:
            affinity[key] = block
    return affinity


def _image(w: Workload) -> str:
    """Named after the workload; a datastore runs its engine's image, so the twin knows the engine."""
    ds = w.datastore
    if ds is not None and ds.engine:
        engine = next(e for e in ENGINES if e.name == ds.engine)
        return f"registry.invalid/{engine.images[0]}:1"
    return f"registry.invalid/{w.name}:1"


def claim_name(w: Workload) -> str:
    """The claim of a workload with persistent storage: the datastore's volume (``data``), unless the datastore
    keeps its data elsewhere."""
    ds = w.datastore
    if ds is not None and ds.storage == "persistent":
        return ds.volume or DATA_VOLUME
    if ds is None:
        return DATA_VOLUME
    return "claim" if ds.volume != "claim" else "claims"


def data_path(w: Workload) -> str:
    """Where the workload's datastore keeps its data, as its record says (``DATA_PATH`` when it does not)."""
    return w.datastore.path if w.datastore is not None and w.datastore.path else DATA_PATH


def _volumes(w: Workload) -> tuple[list[Obj], list[Obj]]:
    """(volumes, volume mounts) of the pod: a claim for persistent storage, and the volume at a datastore's data
    path as its storage says (none at all: the container's own disk)."""
    volumes: list[Obj] = []
    mounts: list[Obj] = []
    ds = w.datastore
    at_data = data_path(w)
    if w.persistent_storage:
        name = claim_name(w)
        at = at_data if ds is not None and ds.storage == "persistent" else "/data"
        if w.kind != "StatefulSet":
            volumes.append({"name": name, "persistentVolumeClaim": {"claimName": f"{w.name}-{name}"}})
        if w.kind != "StatefulSet" or (ds is not None and ds.storage == "persistent"):
            mounts.append({"name": name, "mountPath": at})  # a StatefulSet's claim template, mounted where needed
    if ds is None:
        return volumes, mounts
    sources: dict[str, Obj] = {"node": {"emptyDir": {}}, "memory": {"emptyDir": {"medium": "Memory"}}}
    source = sources.get(ds.storage)
    if ds.storage == "persistent" and not w.persistent_storage:  # a volume outliving the pod without a claim
        source = {"hostPath": {"path": f"/srv/{w.namespace}/{w.name}"}}
    if source is not None:
        name = ds.volume or DATA_VOLUME
        volumes.append({"name": name, **source})
        mounts.append({"name": name, "mountPath": at_data})
    return volumes, mounts


def pod_spec(w: Workload) -> Obj:
    """The pod template's spec: one container with the requests, probes, volumes and scheduling rules."""
    t = w.template
    container: Obj = {
        "name": w.datastore.container if w.datastore is not None and w.datastore.container else w.name,
        "image": _image(w),
        "resources": {"requests": {"cpu": f"{t.cpu_millis}m", "memory": f"{t.memory_mib}Mi"}},
        "ports": [{"containerPort": CONTAINER_PORT}],
    }
    if t.gpus:
        container["resources"]["limits"] = {GPU_RESOURCE: t.gpus}
    for field, probe in (("readinessProbe", t.readiness_probe), ("livenessProbe", t.liveness_probe),
                         ("startupProbe", t.startup_probe)):
        if probe is not None:
            container[field] = _probe(probe)
    spec: Obj = {"containers": [container], "terminationGracePeriodSeconds": int(t.termination_grace_s)}
    if w.kind == "Job":
        spec["restartPolicy"] = "OnFailure"
    if t.node_selector:
        spec["nodeSelector"] = dict(t.node_selector)
    affinity = _affinity(w)
    if affinity:
        spec["affinity"] = affinity
    if t.spread:
        spec["topologySpreadConstraints"] = [_spread(c) for c in t.spread]
    if t.tolerations:
        spec["tolerations"] = [_toleration(tol) for tol in t.tolerations]
    volumes, mounts = _volumes(w)
    if mounts:
        container["volumeMounts"] = mounts
    if volumes:
        spec["volumes"] = volumes
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
    a[PREFIX + "capacity-rps-per-pod"] = _number(w.capacity_rps_per_pod)
    if w.leader_failover_s:
        a[PREFIX + "leader-failover"] = _seconds(w.leader_failover_s)
    if w.rollout_every_s:
        a[PREFIX + "rollout-every"] = _seconds(w.rollout_every_s)
    if w.template.cold_start_s:
        a[PREFIX + "cold-start"] = _seconds(w.template.cold_start_s)
    if w.calls:
        a[PREFIX + "calls"] = json.dumps({service_address(c.service): _call(c) for c in w.calls}, sort_keys=True)
    a.update(_datastore_annotations(w))
    if w.training is not None:
        tr = w.training
        a[PREFIX + "epochs"] = str(tr.epochs)
        a[PREFIX + "epoch-duration"] = _seconds(tr.epoch_s)
        a[PREFIX + "checkpoint-interval"] = "0" if tr.checkpoint_interval_s is None else _seconds(
            tr.checkpoint_interval_s)
        a[PREFIX + "gpu-memory-fraction"] = _number(tr.gpu_memory_fraction)
    if w.pipeline is not None:
        p = w.pipeline
        a[PREFIX + "pipeline-stage"] = p.stage
        if p.feeds:
            a[PREFIX + "feeds"] = ",".join(service_address(s) for s in p.feeds)
        a[PREFIX + "drift-monitor"] = str(p.drift_monitor).lower()
        a[PREFIX + "schema-check"] = str(p.schema_check).lower()
        a[PREFIX + "max-staleness"] = _seconds(p.max_staleness_s)
    return a


def _call(c: Call) -> Obj:
    """Every field, so nothing is inferred again (a lookup server's calls are cached by default)."""
    return {"timeout_ms": c.timeout_ms, "retries": c.retries, "fallback": c.fallback,
            "per_request": c.per_request, "cache_ttl": cache_ttl_text(c.cache_ttl_s)}


def _datastore_annotations(w: Workload) -> dict[str, str]:
    ds = w.datastore
    if ds is None:  # say so where the rendered image would make the twin take it for one
        return {PREFIX + "datastore": "none"} if engine_of([_image(w)]) is not None else {}
    a = {PREFIX + "datastore": ds.usage, PREFIX + "data-path": data_path(w), PREFIX + "data-unit": ds.unit,
         PREFIX + "data-replicated": str(ds.replicated).lower()}
    if ds.items is not None:
        a[PREFIX + "data-items"] = _number(ds.items)
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
        spec["volumeClaimTemplates"] = [volume_claim_template(name=claim_name(w))]
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": meta, "spec": spec}


def volume_claim_template(storage: str = "10Gi", *, name: str = DATA_VOLUME) -> Obj:
    return {"metadata": {"name": name},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": storage}}}}


def service_object(s: ServiceSpec) -> Obj:
    a = {PREFIX + "entrypoint": str(s.entrypoint).lower(),
         PREFIX + "slo-availability": _number(s.slo.availability),
         PREFIX + "slo-latency-p99-ms": _number(s.slo.latency_p99_ms),
         PREFIX + "base-latency-ms": _number(s.base_latency_ms)}
    if s.entrypoint:
        a[PREFIX + "load-rps"] = _number(s.load_rps)
    if s.client != EntryClient():
        a[PREFIX + "entry-client"] = client_annotation(s.client)
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
