"""Static facts about each target that a careful SRE would read off the manifests.

Computed once per topology (a pure function of the ``ClusterSpec``): replicas, PDBs, probes,
placement rules, GPU requests, checkpointing, monitors, and each workload's position in the call
graph (who calls it, with what timeout, retries and fallback). Nothing here knows of planted
weaknesses; the policy learns which of these facts predict one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from envs.faults import CATALOG, FAULT_KINDS
from envs.memo import per_spec
from envs.spec import HOSTNAME_LABEL, ClusterSpec, PdbSpec, Workload

STATIC_FEATURES = (
    "is_node", "is_deployment", "is_statefulset", "is_job",
    "replicas_log", "single_replica", "has_pdb", "pdb_blocks_all",
    "readiness_probe", "anti_affinity_host", "gpu_request", "is_training", "checkpointed",
    "checkpoint_vs_loss_bound", "is_pipeline", "stage_producer", "stage_feature_store", "stage_model",
    "drift_monitor_on_path", "schema_check_on_path", "staleness_bound_log", "persistent_storage",
    "stateful_without_storage", "backs_entrypoint", "callers_log", "caller_without_fallback",
    "caller_without_retry", "min_caller_timeout_log", "latency_headroom", "load_per_capacity",
    "leader_election", "rolls_out", "role_cache", "role_batch", "node_gpus_log", "node_tainted",
)


@dataclass(frozen=True)
class TopologyProfile:
    targets: tuple[str, ...]
    static: NDArray[np.float32]
    """Shape (targets, len(STATIC_FEATURES))."""
    called: frozenset[str]
    """Workloads that receive request traffic (behind an entry point or a called Service)."""
    index: dict[str, int]
    applicable: NDArray[np.bool_]
    """Shape (targets, fault kinds): which faults can apply to each target at all."""


def _pdb_for(pdbs_by_namespace: dict[str, list[PdbSpec]], w: Workload) -> PdbSpec | None:
    """The first PDB (in spec order) of the workload's namespace that selects its pods."""
    labels = w.template.label_map
    return next((p for p in pdbs_by_namespace.get(w.namespace, ()) if p.selector.matches(labels)), None)


def backing_map(spec: ClusterSpec) -> dict[str, tuple[str, ...]]:
    """``backing_workloads`` of every Service at once: workloads are grouped by namespace first, so a
    big cluster costs O(services x workloads per namespace), not O(services x workloads)."""
    by_namespace: dict[str, list[Workload]] = {}
    for w in spec.workloads:
        by_namespace.setdefault(w.namespace, []).append(w)
    return {
        s.key: tuple(w.key for w in by_namespace.get(s.namespace, ()) if s.selector.matches(w.template.label_map))
        for s in spec.services
    }


def allowed_disruptions(pdb: PdbSpec, replicas: int) -> int:
    """How many of ``replicas`` healthy pods the PDB lets go, as the disruption controller computes it."""

    def resolve(v: int | str, round_up: bool) -> int:
        if isinstance(v, str) and v.endswith("%"):
            share = float(v[:-1]) / 100 * replicas
            return math.ceil(share) if round_up else math.floor(share)
        return int(v)

    if pdb.min_available is not None:
        return max(0, replicas - resolve(pdb.min_available, round_up=True))
    if pdb.max_unavailable is not None:
        return max(0, resolve(pdb.max_unavailable, round_up=True))
    return replicas


def propagated_load(spec: ClusterSpec, backing: dict[str, tuple[str, ...]] | None = None) -> dict[str, float]:
    """Requests per second reaching each Service at baseline: every request a workload serves makes each
    of its calls once, so load propagates (and adds up at fan-in) along the call graph."""
    by_svc = {s.key: s for s in spec.services}
    backing = backing_map(spec) if backing is None else backing
    wl = {w.key: w for w in spec.workloads}
    load: dict[str, float] = {k: s.load_rps for k, s in by_svc.items() if s.entrypoint}
    frontier = list(load)
    seen_edges = 0
    while frontier and seen_edges < 100_000:
        svc = frontier.pop()
        for wk in backing.get(svc, ()):
            for call in wl[wk].calls:
                seen_edges += 1
                if call.service in by_svc and call.cache_ttl_s <= 0:  # a cached lookup adds no load per request
                    before = load.get(call.service, 0.0)
                    load[call.service] = before + load[svc] * call.per_request
                    frontier.append(call.service)
    return load


def utilisation(spec: ClusterSpec) -> dict[str, float]:
    """Baseline load over capacity per Service (capacity: ready replicas x per-pod rps of its workloads)."""
    backing = backing_map(spec)
    loads = propagated_load(spec, backing)
    workloads = {w.key: w for w in spec.workloads}
    out = {}
    for s in spec.services:
        cap = sum(workloads[k].replicas * workloads[k].capacity_rps_per_pod for k in backing[s.key])
        if cap > 0 and loads.get(s.key, 0.0) > 0:
            out[s.key] = loads[s.key] / cap
    return out


@per_spec
def profile(spec: ClusterSpec) -> TopologyProfile:
    """The static facts of every target of ``spec``, computed once per spec object."""
    targets = tuple(sorted(w.key for w in spec.workloads)) + tuple(sorted(n.key for n in spec.nodes))
    index = {t: i for i, t in enumerate(targets)}
    backing = backing_map(spec)
    callers: dict[str, list[tuple[Workload, float, int, bool]]] = {}
    for w in spec.workloads:
        for c in w.calls:
            for callee in backing.get(c.service, ()):
                callers.setdefault(callee, []).append((w, c.timeout_ms, c.retries, c.fallback))
    entry = {wk for s in spec.services if s.entrypoint for wk in backing[s.key]}
    called = frozenset(entry | set(callers))
    svc_latency = {wk: s.base_latency_ms for s in spec.services for wk in backing[s.key]}
    loads = propagated_load(spec, backing)
    wl_load = {wk: loads.get(sk, 0.0) for sk, wks in backing.items() for wk in wks}
    upstream_checks = _pipeline_path_checks(spec, backing)
    rows = np.zeros((len(targets), len(STATIC_FEATURES)), dtype=np.float32)
    col = {name: i for i, name in enumerate(STATIC_FEATURES)}
    pdbs_by_namespace: dict[str, list[PdbSpec]] = {}
    for budget in spec.pdbs:
        pdbs_by_namespace.setdefault(budget.namespace, []).append(budget)
    for w in spec.workloads:
        r = rows[index[w.key]]
        t = w.template
        pdb = _pdb_for(pdbs_by_namespace, w)
        cs = callers.get(w.key, [])
        f = {
            "is_deployment": w.kind == "Deployment", "is_statefulset": w.kind == "StatefulSet",
            "is_job": w.kind == "Job", "replicas_log": math.log1p(w.replicas) / 3,
            "single_replica": w.replicas == 1, "has_pdb": pdb is not None,
            "pdb_blocks_all": pdb is not None and allowed_disruptions(pdb, w.replicas) == 0,
            "readiness_probe": t.readiness_probe is not None,
            "anti_affinity_host": any(a.topology_key == HOSTNAME_LABEL and a.required for a in t.anti_affinity),
            "gpu_request": min(t.gpus, 8) / 8, "is_training": w.training is not None,
            "persistent_storage": w.persistent_storage,
            "stateful_without_storage": w.loses_data_with_pod,
            "backs_entrypoint": w.key in entry, "callers_log": math.log1p(len(cs)) / 3,
            "caller_without_fallback": any(not fb for *_, fb in cs),
            "caller_without_retry": any(rt == 0 and not fb for _, _, rt, fb in cs),
            "leader_election": w.leader_failover_s > 0, "rolls_out": w.rollout_every_s > 0,
            "role_cache": w.role == "cache", "role_batch": w.role == "batch",
        }
        if cs:
            tmin = min(to for _, to, _, _ in cs)
            f["min_caller_timeout_log"] = math.log10(max(tmin, 1.0)) / 4
            f["latency_headroom"] = min(tmin / max(svc_latency.get(w.key, 20.0), 1.0), 100.0) / 100
        cap = max(w.replicas * w.capacity_rps_per_pod, 1e-9)
        f["load_per_capacity"] = min(wl_load.get(w.key, 0.0) / cap, 2.0) / 2
        if w.training is not None:
            ck = w.training.checkpoint_interval_s
            f["checkpointed"] = ck is not None
            bound = spec.model_slo.max_training_progress_lost_s
            f["checkpoint_vs_loss_bound"] = 2.0 if ck is None else min(ck / bound, 2.0) / 2
        if w.pipeline is not None:
            p = w.pipeline
            f["is_pipeline"] = True
            f[f"stage_{p.stage}"] = True
            drift, schema = upstream_checks.get(w.key, (p.drift_monitor, p.schema_check))
            f["drift_monitor_on_path"] = drift
            f["schema_check_on_path"] = schema
            f["staleness_bound_log"] = math.log10(max(p.max_staleness_s, 1.0)) / 5
        for name, value in f.items():
            r[col[name]] = float(value)
    for n in spec.nodes:
        r = rows[index[n.key]]
        r[col["is_node"]] = 1.0
        r[col["node_gpus_log"]] = math.log1p(n.gpus) / 3
        r[col["node_tainted"]] = float(bool(n.taints))
    applicable = _applicability(spec, targets, called)
    return TopologyProfile(targets=targets, static=rows, called=called, index=index, applicable=applicable)


def _applicability(spec: ClusterSpec, targets: tuple[str, ...], called: frozenset[str]) -> NDArray[np.bool_]:
    """Node faults on nodes (GPU ones where GPUs are), data faults on pipelines, GPU faults on GPU
    workloads, network faults on workloads that receive traffic, pod faults on every workload."""
    workloads = {w.key: w for w in spec.workloads}
    nodes = {n.key: n for n in spec.nodes}
    out = np.zeros((len(targets), len(FAULT_KINDS)), dtype=bool)
    for ti, key in enumerate(targets):
        node, w = nodes.get(key), workloads.get(key)
        for ki, kind in enumerate(FAULT_KINDS):
            ftype = CATALOG[kind]
            if ftype.target == "node":
                ok = node is not None and (ftype.family != "gpu" or node.gpus > 0)
            elif w is None:
                ok = False
            elif ftype.family == "data":
                ok = w.pipeline is not None
            elif ftype.family == "gpu":
                ok = w.template.gpus > 0
            elif ftype.family == "network":
                ok = key in called
            else:
                ok = w.replicas > 0
            out[ti, ki] = ok
    return out


def _pipeline_path_checks(spec: ClusterSpec, backing: dict[str, tuple[str, ...]]) -> dict[str, tuple[bool, bool]]:
    """For each pipeline workload: is there a drift monitor / schema check on its way to a model?"""
    stages = {w.key: w for w in spec.workloads if w.pipeline is not None}
    out: dict[str, tuple[bool, bool]] = {}

    def walk(key: str, depth: int) -> tuple[bool, bool]:
        w = stages[key]
        assert w.pipeline is not None
        drift, schema = w.pipeline.drift_monitor, w.pipeline.schema_check
        if depth < 10:
            for svc in w.pipeline.feeds:
                for nxt in backing.get(svc, ()):
                    if nxt in stages:
                        d2, s2 = walk(nxt, depth + 1)
                        drift, schema = drift or d2, schema or s2
        return drift, schema

    for key in stages:
        out[key] = walk(key, 0)
    return out
