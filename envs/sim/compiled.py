"""Per-spec structures computed once and shared by every simulation of the same spec.

Selectors resolved to workload indexes, the call DAG in evaluation order (cycles broken
deterministically), static scheduling constraints, and pipeline reachability. Building a
``SimulatedCluster`` from an already compiled spec only allocates runtime state.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from envs.sim.errors import SimulationError
from envs.sim.placement import Placement, compile_placement
from envs.spec import HOSTNAME_LABEL, AntiAffinity, ClusterSpec, NodeSpec, Taint, Workload

UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"
_CACHE_SIZE = 32
_cache: OrderedDict[int, tuple[ClusterSpec, CompiledSpec]] = OrderedDict()


@dataclass(frozen=True)
class CompiledCall:
    callee: int
    """Index of the called Service."""
    timeout_ms: float
    retries: int
    fallback: bool
    per_request: float = 1.0
    cache_ttl_s: float = 0.0
    """> 0: answers are cached this long (inf: until the caller's pod restarts)."""
    plain: bool = True
    """Made once on every request and not cached: the request model's fast path."""


@dataclass
class CompiledSpec:
    """Index tables over one ``ClusterSpec``; read-only after ``compile_spec`` returns."""

    spec: ClusterSpec
    wl_index: dict[str, int]
    node_index: dict[str, int]
    svc_index: dict[str, int]
    svc_workloads: tuple[tuple[int, ...], ...]
    wl_services: tuple[tuple[int, ...], ...]
    svc_calls: tuple[tuple[CompiledCall, ...], ...]
    load_order: tuple[int, ...]
    """Services with every caller before its callees (after the cycle-breaking below)."""
    back_edges: frozenset[tuple[int, int]]
    """Calls (caller, callee) dropped from the load pass to break cycles."""
    pdb_workloads: tuple[tuple[int, ...], ...]
    wl_pdbs: tuple[tuple[int, ...], ...]
    hpa_target: tuple[int, ...]
    anti_pairs: tuple[tuple[tuple[str, frozenset[int]], ...], ...]
    """Per workload: (topology key, workloads that must not share a domain with it), both directions."""
    static_nodes: tuple[tuple[int, ...], ...]
    """Per workload: nodes passing nodeSelector, required node affinity and the spec's taints."""
    domain: dict[str, tuple[str, ...]]
    """Topology key -> per node its domain value ('' where the node lacks the label)."""
    placement: tuple[Placement, ...]
    """Per workload: spread constraints, pod affinity and the static parts of the scheduler's scores."""
    unreachable_evict_s: tuple[float | None, ...]
    """Per workload: seconds a pod tolerates an unreachable node before eviction (None: forever;
    -1: no own toleration, so the DefaultTolerationSeconds of ``Timings`` applies)."""
    tolerates_unreachable: tuple[bool, ...]
    """Per workload: the pod tolerates the unreachable NoSchedule taint (may land on a NotReady node)."""
    models: tuple[int, ...]
    pipelines: tuple[int, ...]
    drift_reach: dict[int, tuple[int, ...]]
    """Pipeline stage -> every stage downstream of it, itself included."""
    corrupt_reach: dict[int, tuple[int, ...]]
    """Pipeline stage -> models its corrupted rows reach without crossing a schema check."""
    related_monitors: dict[int, tuple[int, ...]]
    """Pipeline stage -> monitoring stages upstream, downstream or itself."""
    outage_checkpoints: tuple[tuple[float, ...], ...]
    """Per workload: seconds into an outage of it at which a signal changes by itself (a downstream model's
    data turns stale, a caller's cache expires), so the simulation re-evaluates then."""
    notes: tuple[str, ...] = ()
    initial_placement: list[tuple[int, int, tuple[int, ...]]] | None = field(default=None)
    """Filled by the first simulation: (workload, node or -1, GPU devices) per initial pod."""


def compile_spec(spec: ClusterSpec) -> CompiledSpec:
    """The compiled form of ``spec``, cached by identity so env resets reuse it."""
    hit = _cache.get(id(spec))
    if hit is not None and hit[0] is spec:
        _cache.move_to_end(id(spec))
        return hit[1]
    compiled = _compile(spec)
    _cache[id(spec)] = (spec, compiled)
    if len(_cache) > _CACHE_SIZE:
        _cache.popitem(last=False)
    return compiled


MAX_PODS = 150_000
"""Pods one simulation allocates at most (Kubernetes' documented limit for one cluster)."""


def _check_size(spec: ClusterSpec) -> None:
    replicas = {w.key: w.replicas for w in spec.workloads}
    pods = sum(replicas.values()) + sum(max(0, h.max_replicas - replicas.get(h.target, 0)) for h in spec.hpas)
    if pods > MAX_PODS:
        raise SimulationError(f"cluster spec {spec.name!r} can ask for {pods} pods (replicas and HPA maxima); the "
                              f"simulator runs at most {MAX_PODS}")


def _compile(spec: ClusterSpec) -> CompiledSpec:
    _check_size(spec)
    wls = spec.workloads
    notes: list[str] = []
    wl_index = {w.key: i for i, w in enumerate(wls)}
    node_index = {n.key: i for i, n in enumerate(spec.nodes)}
    svc_index = {s.key: i for i, s in enumerate(spec.services)}
    if (len(wl_index), len(node_index), len(svc_index)) != (len(wls), len(spec.nodes), len(spec.services)):
        raise SimulationError(f"cluster spec {spec.name!r} has duplicate workload, node or Service keys")
    labels = [w.template.label_map for w in wls]
    svc_workloads = tuple(
        tuple(i for i, w in enumerate(wls) if w.namespace == s.namespace and s.selector.matches(labels[i]))
        for s in spec.services
    )
    wl_services = tuple(
        tuple(si for si, members in enumerate(svc_workloads) if i in members) for i in range(len(wls))
    )
    svc_calls = []
    for members in svc_workloads:
        calls = []
        for wi in members:
            for c in wls[wi].calls:
                callee = svc_index.get(c.service)
                if callee is None:
                    notes.append(f"{wls[wi].key} calls {c.service}, which is not in the spec; ignored")
                    continue
                calls.append(CompiledCall(callee, c.timeout_ms, c.retries, c.fallback, c.per_request, c.cache_ttl_s,
                                          c.per_request == 1.0 and c.cache_ttl_s <= 0))
        svc_calls.append(tuple(calls))
    load_order, back_edges = _order(spec, svc_calls)
    for a, b in sorted(back_edges):
        notes.append(f"call cycle broken at {spec.services[a].key} -> {spec.services[b].key}")

    def selected(ns: str, sel_matches: Callable[[dict[str, str]], bool]) -> tuple[int, ...]:
        return tuple(i for i, w in enumerate(wls) if w.namespace == ns and sel_matches(labels[i]))

    pdb_workloads = tuple(selected(p.namespace, p.selector.matches) for p in spec.pdbs)
    wl_pdbs = tuple(tuple(pi for pi, ws in enumerate(pdb_workloads) if i in ws) for i in range(len(wls)))
    hpa_target = []
    for h in spec.hpas:
        if h.target not in wl_index:
            raise SimulationError(
                f"HPA {h.namespace}/{h.name} targets {h.target!r}, which is not a workload in the spec"
            )
        hpa_target.append(wl_index[h.target])

    def in_scope(w: Workload, term: AntiAffinity) -> frozenset[int]:
        if term.all_namespaces:
            return frozenset(i for i in range(len(wls)) if term.selector.matches(labels[i]))
        return frozenset(j for ns in (term.namespaces or (w.namespace,)) for j in selected(ns, term.selector.matches))

    domain: dict[str, tuple[str, ...]] = {HOSTNAME_LABEL: tuple(n.name for n in spec.nodes)}
    anti: list[list[tuple[str, frozenset[int]]]] = [[] for _ in wls]
    for i, w in enumerate(wls):
        for term in w.template.anti_affinity:
            if not term.required:
                continue
            hit = in_scope(w, term)
            if term.topology_key not in domain:
                domain[term.topology_key] = tuple(
                    n.label_map.get(term.topology_key, "") for n in spec.nodes
                )
            anti[i].append((term.topology_key, hit))
            for j in hit:  # the scheduler also honours existing pods' anti-affinity
                if j != i:
                    anti[j].append((term.topology_key, frozenset({i})))
    static_nodes = tuple(tuple(ni for ni, n in enumerate(spec.nodes) if _statically_fits(w, n)) for w in wls)
    placement = compile_placement(spec, labels, {i for members in svc_workloads for i in members}, domain)
    unreach = Taint(UNREACHABLE_TAINT, "NoExecute")
    unreach_sched = Taint(UNREACHABLE_TAINT, "NoSchedule")
    evict_s: list[float | None] = []
    for w in wls:
        tols = [t for t in w.template.tolerations if t.tolerates(unreach)]
        evict_s.append(None if tols and any(t.toleration_seconds is None for t in tols)
                       else (min(t.toleration_seconds or 0.0 for t in tols) if tols else -1.0))
    tol_unreach = tuple(any(t.tolerates(unreach_sched) for t in w.template.tolerations) for w in wls)
    pipe = _pipelines(spec, svc_index, svc_workloads)
    checkpoints = _outage_checkpoints(spec, svc_workloads, svc_calls, pipe[2])
    return CompiledSpec(
        spec=spec, wl_index=wl_index, node_index=node_index, svc_index=svc_index,
        svc_workloads=svc_workloads, wl_services=wl_services, svc_calls=tuple(svc_calls),
        load_order=load_order, back_edges=back_edges, pdb_workloads=pdb_workloads, wl_pdbs=wl_pdbs,
        hpa_target=tuple(hpa_target), anti_pairs=tuple(tuple(a) for a in anti), static_nodes=static_nodes,
        domain=domain, placement=placement, unreachable_evict_s=tuple(evict_s), tolerates_unreachable=tol_unreach,
        models=pipe[0], pipelines=pipe[1], drift_reach=pipe[2], corrupt_reach=pipe[3],
        related_monitors=pipe[4], outage_checkpoints=checkpoints, notes=tuple(notes),
    )


def _outage_checkpoints(spec: ClusterSpec, svc_workloads: tuple[tuple[int, ...], ...],
                        svc_calls: list[tuple[CompiledCall, ...]],
                        drift_reach: dict[int, tuple[int, ...]]) -> tuple[tuple[float, ...], ...]:
    wls = spec.workloads
    out: list[set[float]] = [set() for _ in wls]
    for a, reach in drift_reach.items():
        for m in reach:
            bound = wls[m].pipeline
            if m != a and bound is not None and bound.stage == "model":
                out[a].add(bound.max_staleness_s + 1e-6)
    for calls in svc_calls:
        for call in calls:
            if 0 < call.cache_ttl_s < float("inf"):
                for w in svc_workloads[call.callee]:
                    out[w].add(call.cache_ttl_s + 1e-6)
    return tuple(tuple(sorted(x)) for x in out)


def _statically_fits(w: Workload, n: NodeSpec) -> bool:
    t = w.template
    nl = n.label_map
    if any(nl.get(k) != v for k, v in t.node_selector):
        return False
    if t.node_affinity and not any(all(r.matches(nl) for r in term) for term in t.node_affinity):
        return False
    for taint in n.taints:
        if taint.effect == "PreferNoSchedule":
            continue
        if not any(tol.tolerates(taint) for tol in t.tolerations):
            return False
    return t.cpu_millis <= n.cpu_millis and t.memory_mib <= n.memory_mib and t.gpus <= n.gpus


def _order(
    spec: ClusterSpec, svc_calls: list[tuple[CompiledCall, ...]]
) -> tuple[tuple[int, ...], frozenset[tuple[int, int]]]:
    """Reverse post-order of a DFS from services sorted by key; back edges are the dropped calls."""
    n = len(svc_calls)
    by_key = sorted(range(n), key=lambda i: spec.services[i].key)
    state = [0] * n  # 0 new, 1 on stack, 2 done
    post: list[int] = []
    back: set[tuple[int, int]] = set()
    for root in by_key:
        if state[root]:
            continue
        stack: list[tuple[int, int]] = [(root, 0)]
        state[root] = 1
        while stack:
            v, k = stack[-1]
            callees = sorted({c.callee for c in svc_calls[v]}, key=lambda i: spec.services[i].key)
            if k < len(callees):
                stack[-1] = (v, k + 1)
                u = callees[k]
                if state[u] == 1:
                    back.add((v, u))
                elif state[u] == 0:
                    state[u] = 1
                    stack.append((u, 0))
            else:
                state[v] = 2
                post.append(v)
                stack.pop()
    return tuple(reversed(post)), frozenset(back)


def _pipelines(
    spec: ClusterSpec, svc_index: dict[str, int], svc_workloads: tuple[tuple[int, ...], ...]
) -> tuple[tuple[int, ...], tuple[int, ...], dict[int, tuple[int, ...]], dict[int, tuple[int, ...]],
           dict[int, tuple[int, ...]]]:
    pipe = {i: w.pipeline for i, w in enumerate(spec.workloads) if w.pipeline is not None}
    stages = tuple(pipe)
    models = tuple(i for i in stages if pipe[i].stage == "model")
    down: dict[int, set[int]] = {i: set() for i in stages}
    for i in stages:
        for key in pipe[i].feeds:
            si = svc_index.get(key)
            if si is None:
                continue
            down[i].update(j for j in svc_workloads[si] if j in down and j != i)

    def reach(start: int, through: bool) -> set[int]:
        seen = {start}
        todo = [start]
        while todo:
            v = todo.pop()
            if not through and pipe[v].schema_check:
                continue  # a schema check rejects the bad rows here
            for u in down[v]:
                if u not in seen:
                    seen.add(u)
                    todo.append(u)
        return seen

    drift_reach = {i: tuple(sorted(reach(i, True))) for i in stages}
    corrupt_reach = {}
    for i in stages:
        hit = reach(i, False)
        corrupt_reach[i] = tuple(sorted(
            m for m in hit if m in models and not pipe[m].schema_check and not pipe[i].schema_check
        ))
    monitors = [m for m in stages if pipe[m].drift_monitor]
    related = {}
    for i in stages:
        related[i] = tuple(m for m in monitors if m in drift_reach[i] or i in drift_reach[m])
    return models, stages, drift_reach, corrupt_reach, related
