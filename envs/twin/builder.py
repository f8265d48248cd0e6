"""``spec_from_objects``: parsed Kubernetes objects (and calls seen in telemetry) in, an ``envs.spec.ClusterSpec``
out.

Reads each object on its own (a malformed one is noted and skipped), then joins them: Services to the
workloads they select, env vars and telemetry to the calls they show, datastores to their storage, HPAs to
their targets, pipelines along their feeds, routes to entry points. Output order is sorted by key, so the
same objects always give the same spec. What it inferred rather than read is in ``ClusterSpec.inferred``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from envs.spec import (
    ClusterSpec,
    Datastore,
    HpaSpec,
    NodeSpec,
    PdbSpec,
    Workload,
    workload_key,
)
from envs.twin import annotations as a
from envs.twin.addresses import resolve_value
from envs.twin.annotations import AnnotationReader
from envs.twin.autoscaling import read_hpa, read_pdb
from envs.twin.calls import CallEvidence, lookup_reason, resolve_calls, selects
from envs.twin.catalog import Catalog, catalog
from envs.twin.datastores import read_datastore
from envs.twin.default_pool import PoolDemand, default_pool
from envs.twin.entrypoints import finish_services
from envs.twin.errors import MAX_PODS, MAX_REPLICAS, TooLarge
from envs.twin.fields import Fields, Malformed
from envs.twin.graph import by_namespace, call_cycles
from envs.twin.lifecycle import cold_start_s
from envs.twin.load import fit_default_loads
from envs.twin.ml import PipelineHints, assign_stages, infer_role, pipeline_hints, training_for
from envs.twin.nodes import DaemonSetDraft, daemonset_overhead, read_node
from envs.twin.notes import Notes
from envs.twin.objects import SourcedObject
from envs.twin.pods import pod_shape
from envs.twin.provenance import Provenance
from envs.twin.reach import Reach, brokers_feed_consumers, observed_calls, reach
from envs.twin.scheduling import NamespaceIndex
from envs.twin.services import ServiceDraft, draft_service
from envs.twin.telemetry import Observations, ObservedCall
from envs.twin.workloads import WorkloadDraft, draft_workload


def spec_from_objects(objects: Iterable[Mapping[str, object]], *, name: str,
                      observed: Iterable[ObservedCall] = ()) -> ClusterSpec:
    """The twin of already-parsed objects (from files, or listed from a live cluster), with the calls
    ``observed`` in telemetry (envs/twin/telemetry.py)."""
    return build_spec((SourcedObject(o) for o in objects), name=name, observed=observed)


def build_spec(items: Iterable[SourcedObject], *, name: str, observed: Iterable[ObservedCall] = ()) -> ClusterSpec:
    notes = Notes()
    provenance = Provenance()
    cat = catalog(items, notes)
    config_maps = _config_maps(cat, notes)
    services = _services(cat, notes)
    drafts = _workloads(cat, _namespace_index(cat, notes), notes)
    daemonsets = _daemonsets(cat, notes)
    drafts, hpas = _hpas(cat, drafts, notes)
    _check_size(drafts, hpas)
    graph = reach(drafts, services, config_maps, notes)
    seen = observed_calls(observed, drafts, services, graph, notes)
    workloads = _finish_workloads(drafts, services, config_maps, notes, provenance, graph, seen)
    service_specs, defaulted = finish_services(cat, services, workloads, notes, provenance, seen)
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
    for s in spec.services:
        if s.key in defaulted and s.entrypoint:
            provenance.add(f"Service {s.namespace}/{s.name}", a.LOAD_RPS, f"{s.load_rps:g}",
                           "assumed: no load measured or annotated; half the capacity behind it, lowered so that "
                           "no service its requests reach runs above half its capacity")
    return replace(spec, notes=notes.lines(), inferred=provenance.items())


def skipped_objects(spec: ClusterSpec) -> list[str]:
    """The builder's notes on objects it skipped, each naming the object and why."""
    return [line.removeprefix("skipped ") for line in spec.notes if line.startswith("skipped ")]


def _check_size(drafts: dict[str, WorkloadDraft], hpas: list[HpaSpec]) -> None:
    """Refuse a twin too large to simulate, before any pod or node is made for it."""
    for key in sorted(drafts):
        d = drafts[key]
        if d.replicas > MAX_REPLICAS:
            raise TooLarge(f"{d.origin} asks for {d.replicas} pods; the twin simulates at most {MAX_REPLICAS} per "
                           "workload: lower spec.replicas (or parallelism) in the manifests")
    for h in hpas:
        if h.max_replicas > MAX_REPLICAS:
            raise TooLarge(f"HorizontalPodAutoscaler {h.namespace}/{h.name} has maxReplicas {h.max_replicas}; the "
                           f"twin simulates at most {MAX_REPLICAS} replicas per workload: lower it in the manifests")
    total = sum(d.replicas for d in drafts.values())
    if total > MAX_PODS:
        raise TooLarge(f"the manifests ask for {total} pods in all; the twin simulates at most {MAX_PODS} (Kubernetes' "
                       "own limit for one cluster): model one application or namespace at a time")


def _config_maps(cat: Catalog, notes: Notes) -> dict[tuple[str, str], dict[str, str]]:
    out = {}
    for entry in cat.of("ConfigMap"):
        try:
            out[(entry.oid.namespace, entry.oid.name)] = Fields.of(entry.data, "").string_map("data")
        except Malformed as e:
            notes.skipped(entry.where, str(e))
    return out


def _namespace_index(cat: Catalog, notes: Notes) -> NamespaceIndex:
    """Labels of every namespace in the input: Namespace objects', or none but their name."""
    labels: dict[str, dict[str, str]] = {e.oid.namespace: {} for entries in cat.by_kind.values() for e in entries
                                         if e.oid.namespace}
    for entry in cat.of("Namespace"):
        try:
            labels[entry.oid.name] = Fields.of(entry.data, "").sub("metadata").string_map("labels")
        except Malformed as e:
            notes.skipped(entry.where, str(e))
    return NamespaceIndex(labels)


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


def _workloads(cat: Catalog, namespaces: NamespaceIndex, notes: Notes) -> dict[str, WorkloadDraft]:
    out: dict[str, WorkloadDraft] = {}
    for kind in ("CronJob", "Deployment", "Job", "StatefulSet"):
        for entry in cat.of(kind):
            try:
                draft = draft_workload(entry.oid, entry.data, namespaces)
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
    provenance: Provenance,
    graph: Reach,
    seen: Observations,
) -> list[Workload]:
    readers = {k: AnnotationReader(d.describe, d.annotation_map, notes) for k, d in drafts.items()}
    roles = {}
    hints: dict[str, PipelineHints] = {}
    around = graph.around()
    lookups = {ref: why for ref, keys in graph.behind.items() for k in keys
               if (why := lookup_reason(c.image for c in drafts[k].shape.containers)) is not None}
    stores: dict[str, Datastore | None] = {}
    for key, draft in sorted(drafts.items()):
        reader = readers[key]
        reader.check_known(a.WORKLOAD_KEYS)
        reader.note_unquoted(draft.unquoted)
        stores[key] = read_datastore(draft, reader, around[key], provenance)
        roles[key] = infer_role(draft, reader, stores[key])
        feeds = _feeds(draft, reader, services, notes)
        hints[key] = pipeline_hints(roles[key], reader, feeds)
    brokers_feed_consumers(hints, stores, graph, drafts, provenance, notes)
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
            cold_start_s=cold_start_s(draft, reader, provenance),
        )
        out.append(
            Workload(
                namespace=draft.namespace,
                name=draft.name,
                kind=draft.kind,
                replicas=draft.replicas,
                template=template,
                role=role,
                calls=resolve_calls(draft, services, config_maps, reader, notes,
                                    CallEvidence(lookups, seen.calls.get(key, {})), provenance),
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
                datastore=stores[key],
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
