"""``spec_from_objects``: parsed Kubernetes objects in, an ``envs.spec.ClusterSpec`` out.

Reads each object on its own (a malformed one is noted and skipped), then joins them: Services to the
workloads they select, env vars to the Services they name, HPAs to their targets, pipelines along
their feeds. Output order is sorted by key, so the same objects always give the same spec.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from envs.spec import ClusterSpec, HpaSpec, NodeSpec, PdbSpec, ServiceSpec, Slo, Workload, workload_key
from envs.twin import annotations as a
from envs.twin.addresses import resolve_value
from envs.twin.annotations import AnnotationReader
from envs.twin.autoscaling import read_hpa, read_pdb
from envs.twin.calls import resolve_calls, selects
from envs.twin.catalog import Catalog, catalog
from envs.twin.default_pool import PoolDemand, default_pool
from envs.twin.fields import Fields, Malformed
from envs.twin.graph import by_namespace, call_cycles
from envs.twin.load import fit_default_loads
from envs.twin.ml import PipelineHints, assign_stages, infer_role, pipeline_hints, training_for
from envs.twin.nodes import DaemonSetDraft, daemonset_overhead, read_node
from envs.twin.notes import Notes
from envs.twin.objects import SourcedObject
from envs.twin.pods import pod_shape
from envs.twin.services import ServiceDraft, draft_service, ingress_backends
from envs.twin.workloads import WorkloadDraft, draft_workload

DEFAULT_LOAD_SHARE = 0.5
"""An entry point without ``load-rps`` gets half the capacity of the pods behind it."""


def spec_from_objects(objects: Iterable[Mapping[str, object]], *, name: str) -> ClusterSpec:
    """The twin of already-parsed objects (from files, or listed from a live cluster)."""
    return build_spec((SourcedObject(o) for o in objects), name=name)


def build_spec(items: Iterable[SourcedObject], *, name: str) -> ClusterSpec:
    notes = Notes()
    cat = catalog(items, notes)
    config_maps = _config_maps(cat, notes)
    services = _services(cat, notes)
    drafts = _workloads(cat, notes)
    daemonsets = _daemonsets(cat, notes)
    drafts, hpas = _hpas(cat, drafts, notes)
    workloads = _finish_workloads(drafts, services, config_maps, notes)
    service_specs, defaulted = _finish_services(cat, services, workloads, notes)
    nodes = _nodes(cat, drafts, daemonsets, notes)
    pdbs = _pdbs(cat, workloads, notes)
    for cycle in call_cycles(workloads, service_specs):
        notes.add("calls form a cycle among " + ", ".join(cycle) + "; each waits on the others")
    spec = ClusterSpec(
        name=name,
        nodes=tuple(sorted(nodes, key=lambda n: n.name)),
        workloads=tuple(sorted(workloads, key=lambda w: w.key)),
        services=tuple(sorted(service_specs, key=lambda s: s.key)),
        pdbs=tuple(sorted(pdbs, key=lambda p: (p.namespace, p.name))),
        hpas=tuple(sorted(hpas, key=lambda h: (h.namespace, h.name))),
    )
    spec, load_notes = fit_default_loads(spec, frozenset(defaulted))
    for line in load_notes:
        notes.add(line)
    return replace(spec, notes=notes.lines())


def _config_maps(cat: Catalog, notes: Notes) -> dict[tuple[str, str], dict[str, str]]:
    out = {}
    for entry in cat.of("ConfigMap"):
        try:
            out[(entry.oid.namespace, entry.oid.name)] = Fields.of(entry.data, "").string_map("data")
        except Malformed as e:
            notes.skipped(entry.where, str(e))
    return out


def _services(cat: Catalog, notes: Notes) -> dict[tuple[str, str], ServiceDraft]:
    out = {}
    for entry in cat.of("Service"):
        try:
            draft = draft_service(entry.oid, entry.data)
        except Malformed as e:
            notes.skipped(entry.where, str(e))
            continue
        out[draft.ref] = draft
    return out


def _workloads(cat: Catalog, notes: Notes) -> dict[str, WorkloadDraft]:
    out: dict[str, WorkloadDraft] = {}
    for kind in ("CronJob", "Deployment", "Job", "StatefulSet"):
        for entry in cat.of(kind):
            try:
                draft = draft_workload(entry.oid, entry.data)
            except Malformed as e:
                notes.skipped(entry.where, str(e))
                continue
            key = workload_key(draft.namespace, draft.kind, draft.name)
            if key in out:
                notes.skipped(entry.where, f"its Job has the same name as {out[key].origin}")
                continue
            if kind == "CronJob":
                notes.add(
                    f"{entry.oid.describe()}: modelled as one run of its jobTemplate, Job {entry.oid.ref}"
                )
            out[key] = draft
    for entry in cat.of("ReplicaSet"):
        notes.skipped(
            entry.where,
            "a ReplicaSet without a Deployment is not modelled (envs.spec has no "
            "ReplicaSet kind); manage it with a Deployment",
        )
    for entry in cat.of("Pod"):
        notes.skipped(
            entry.where,
            "a bare Pod (no controller recreates it) is not modelled; "
            "run it under a Deployment, StatefulSet or Job",
        )
    return out


def _daemonsets(cat: Catalog, notes: Notes) -> list[DaemonSetDraft]:
    out = []
    for entry in cat.of("DaemonSet"):
        try:
            template = Fields.of(entry.data, "").sub("spec").sub("template")
            shape = pod_shape(template.sub("spec"), template.sub("metadata").string_map("labels"))
        except Malformed as e:
            notes.skipped(entry.where, str(e))
            continue
        out.append(DaemonSetDraft(entry.oid.describe(), shape.template))
    return out


def _hpas(
    cat: Catalog, drafts: dict[str, WorkloadDraft], notes: Notes
) -> tuple[dict[str, WorkloadDraft], list[HpaSpec]]:
    hpas = []
    for entry in cat.of("HorizontalPodAutoscaler"):
        try:
            hpa = read_hpa(entry.oid, entry.data)
        except Malformed as e:
            notes.skipped(entry.where, str(e))
            continue
        if isinstance(hpa, str):
            notes.skipped(entry.where, hpa)
            continue
        target = workload_key(hpa.namespace, hpa.target_kind, hpa.target_name)
        if target not in drafts or hpa.target_kind not in ("Deployment", "StatefulSet"):
            notes.skipped(
                entry.where,
                f"its target {hpa.target_kind} {hpa.namespace}/{hpa.target_name} is "
                "not a modelled Deployment or StatefulSet",
            )
            continue
        if hpa.ignored_metrics:
            notes.add(
                f"{entry.oid.describe()}: only its CPU target is modelled; ignored "
                + ", ".join(hpa.ignored_metrics)
            )
        draft = drafts[target]
        # An HPA leaves a workload scaled to zero alone (autoscaling is off at 0 replicas).
        replicas = min(max(draft.replicas, hpa.min_replicas), hpa.max_replicas) if draft.replicas else 0
        if replicas != draft.replicas:
            notes.add(
                f"{draft.describe}: starts at {replicas} replicas, where {entry.oid.describe()} "
                f"(min {hpa.min_replicas}, max {hpa.max_replicas}) would put it"
            )
            drafts[target] = replace(draft, replicas=replicas)
        hpas.append(
            HpaSpec(
                hpa.namespace,
                hpa.name,
                target,
                hpa.min_replicas,
                hpa.max_replicas,
                hpa.target_cpu_utilization,
            )
        )
    return drafts, hpas


def _finish_workloads(
    drafts: dict[str, WorkloadDraft],
    services: dict[tuple[str, str], ServiceDraft],
    config_maps: dict[tuple[str, str], dict[str, str]],
    notes: Notes,
) -> list[Workload]:
    readers = {k: AnnotationReader(d.describe, d.annotation_map, notes) for k, d in drafts.items()}
    roles = {}
    hints: dict[str, PipelineHints] = {}
    for key, draft in sorted(drafts.items()):
        reader = readers[key]
        reader.check_known(a.WORKLOAD_KEYS)
        reader.note_unquoted(draft.unquoted)
        roles[key] = infer_role(draft, reader)
        feeds = _feeds(draft, reader, services, notes)
        hints[key] = pipeline_hints(roles[key], reader, feeds)
    fed = {
        key: any(
            f == workload_key(s.namespace, "Service", s.name) and selects(s, draft)
            for h in hints.values()
            if h.declared
            for f in h.feeds
            for s in services.values()
        )
        for key, draft in drafts.items()
    }
    pipelines = assign_stages(hints, fed, {k: d.describe for k, d in drafts.items()}, notes)
    out = []
    for key, draft in sorted(drafts.items()):
        reader, role = readers[key], roles[key]
        defaults = Workload(draft.namespace, draft.name, draft.kind, 1, draft.shape.template)
        template = replace(
            draft.shape.template,
            startup_s=reader.get(a.STARTUP, a.duration_s, draft.shape.template.startup_s),
        )
        out.append(
            Workload(
                namespace=draft.namespace,
                name=draft.name,
                kind=draft.kind,
                replicas=draft.replicas,
                template=template,
                role=role,
                calls=resolve_calls(draft, services, config_maps, reader, notes),
                persistent_storage=draft.persistent_storage,
                training=training_for(draft, role, reader, notes),
                pipeline=pipelines.get(key),
                max_unavailable=draft.max_unavailable,
                max_surge=draft.max_surge,
                leader_failover_s=reader.get(a.LEADER_FAILOVER, a.duration_s, defaults.leader_failover_s),
                capacity_rps_per_pod=reader.get(
                    a.CAPACITY_RPS, a.positive_number, defaults.capacity_rps_per_pod
                ),
                rollout_every_s=reader.get(a.ROLLOUT_EVERY, a.duration_s, defaults.rollout_every_s),
                labels=draft.labels,
                annotations=draft.annotations,
            )
        )
        _note_pod_features(draft, notes)
    return out


def _note_pod_features(draft: WorkloadDraft, notes: Notes) -> None:
    for feature in draft.shape.unmodelled:
        notes.add(f"{draft.describe}: {feature}")
    if draft.shape.defaulted_requests:
        notes.add(
            f"{draft.describe}: a container sets no cpu or memory request or limit; assumed the "
            "scheduler's defaults (100m CPU, 200Mi memory) for it"
        )


def _feeds(
    draft: WorkloadDraft,
    reader: AnnotationReader,
    services: dict[tuple[str, str], ServiceDraft],
    notes: Notes,
) -> tuple[str, ...]:
    out: list[str] = []
    for target in reader.optional(a.FEEDS, a.service_list) or ():
        hits = resolve_value(target, draft.namespace, services)
        ref = hits[0] if hits else None
        if ref is None:
            notes.add(
                f"{draft.describe}: {a.FEEDS} names {target!r}, which is not a Service in the input (ignored)"
            )
        elif workload_key(ref[0], "Service", ref[1]) not in out:
            out.append(workload_key(ref[0], "Service", ref[1]))
    return tuple(sorted(out))


def _finish_services(
    cat: Catalog, services: dict[tuple[str, str], ServiceDraft], workloads: list[Workload], notes: Notes
) -> tuple[list[ServiceSpec], set[str]]:
    routed: set[tuple[str, str]] = set()
    for entry in cat.of("Ingress"):
        try:
            backends = ingress_backends(entry.oid, entry.data)
        except Malformed as e:
            notes.skipped(entry.where, str(e))
            continue
        for ref in backends:
            if ref in services:
                routed.add(ref)
            else:
                notes.add(
                    f"{entry.oid.describe()}: routes to Service {ref[0]}/{ref[1]}, which is not in the input"
                )
    out = []
    defaulted: set[str] = set()
    in_namespace = by_namespace(workloads)  # a Service selects only in its namespace: O(S x W/ns), not O(S x W)
    for ref, draft in sorted(services.items()):
        reader = AnnotationReader(draft.describe, dict(draft.annotations), notes)
        reader.check_known(a.SERVICE_KEYS)
        reader.note_unquoted(draft.unquoted)
        default_entry = draft.type in ("LoadBalancer", "NodePort") or ref in routed
        is_entry = reader.get(a.ENTRYPOINT, a.boolean, default_entry)
        behind = [w for w in in_namespace.get(draft.namespace, ()) if draft.selector.matches(w.template.label_map)]
        load = reader.optional(a.LOAD_RPS, a.non_negative_number)
        if is_entry and load is None:
            capacity = sum(w.replicas * w.capacity_rps_per_pod for w in behind)
            load = capacity * DEFAULT_LOAD_SHARE
            defaulted.add(f"{draft.namespace}/Service/{draft.name}")
            if behind:
                notes.add(
                    f"{draft.describe}: entry point without {a.LOAD_RPS}; assumed {load:g} rps, "
                    f"{DEFAULT_LOAD_SHARE:.0%} of the capacity of its {sum(w.replicas for w in behind)} pods"
                )
        if is_entry and not behind:
            notes.add(f"{draft.describe}: entry point that selects no modelled workload")
        defaults = ServiceSpec(draft.namespace, draft.name, draft.selector)
        out.append(
            ServiceSpec(
                namespace=draft.namespace,
                name=draft.name,
                selector=draft.selector,
                type=draft.type,
                entrypoint=is_entry,
                load_rps=load or 0.0,
                slo=Slo(
                    availability=reader.get(a.SLO_AVAILABILITY, a.fraction, defaults.slo.availability),
                    latency_p99_ms=reader.get(a.SLO_LATENCY, a.positive_number, defaults.slo.latency_p99_ms),
                ),
                base_latency_ms=reader.get(a.BASE_LATENCY, a.positive_number, defaults.base_latency_ms),
                edge_retries=reader.get(a.EDGE_RETRIES, a.non_negative_int, defaults.edge_retries),
            )
        )
    return out, defaulted


def _nodes(
    cat: Catalog, drafts: dict[str, WorkloadDraft], daemonsets: list[DaemonSetDraft], notes: Notes
) -> list[NodeSpec]:
    nodes = []
    for entry in cat.of("Node"):
        try:
            nodes.append(read_node(entry.oid, entry.data, notes))
        except Malformed as e:
            notes.skipped(entry.where, str(e))
    if not nodes:
        demands = [PoolDemand(d.describe, d.replicas, d.shape.template) for _, d in sorted(drafts.items())]
        nodes, note = default_pool(demands, daemonsets)
        notes.add(note)
    return daemonset_overhead(nodes, daemonsets, notes)


def _pdbs(cat: Catalog, workloads: list[Workload], notes: Notes) -> list[PdbSpec]:
    out = []
    in_namespace = by_namespace(workloads)
    for entry in cat.of("PodDisruptionBudget"):
        try:
            pdb = read_pdb(entry.oid, entry.data, entry.api_version)
        except Malformed as e:
            notes.skipped(entry.where, str(e))
            continue
        if isinstance(pdb, str):
            notes.skipped(entry.where, pdb)
            continue
        if not any(pdb.selector.matches(w.template.label_map) for w in in_namespace.get(pdb.namespace, ())):
            notes.add(f"{entry.oid.describe()}: selects no modelled workload")
        out.append(pdb)
    return out
