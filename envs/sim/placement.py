"""Per-workload scheduling rules, resolved once per spec: spread constraints, pod affinity terms and the
static parts of the scores, as kube-scheduler's PodTopologySpread, InterPodAffinity, NodeAffinity and
TaintToleration plugins read them (envs/sim/scheduler.py applies them).

Selectors are resolved to workload indexes here, so scheduling counts pods of known workloads instead
of matching labels. A pod without spread constraints of its own gets the scheduler's system defaults
(``defaultingType: System``): ScheduleAnyway with maxSkew 3 over hostnames and 5 over zones, counting
the pods of its own controller, when a Deployment, StatefulSet or Service selects it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from envs.spec import HOSTNAME_LABEL, ZONE_LABEL, ClusterSpec, NodeSpec, Taint, Workload

HARD_POD_AFFINITY_WEIGHT = 1
"""kube-scheduler's hardPodAffinityWeight: an existing pod's required affinity scores like a preference."""
SYSTEM_DEFAULT_SPREAD = ((HOSTNAME_LABEL, 3), (ZONE_LABEL, 5))
"""PodTopologySpread's system default constraints (maxSkew per topology key), both ScheduleAnyway."""


@dataclass(frozen=True)
class SpreadRule:
    """A topology spread constraint with its selector resolved."""

    key: str
    max_skew: int
    hard: bool
    """DoNotSchedule (a filter); False: ScheduleAnyway (a score)."""
    members: tuple[int, ...]
    """Workloads whose pods count."""
    own_revision: bool
    """Count only the scheduled pod's own workload at its revision (matchLabelKeys: pod-template-hash)."""
    min_domains: int
    eligible: frozenset[int] | None
    """Nodes whose domains count (nodeAffinityPolicy/nodeTaintsPolicy Honor); None: every node."""
    self_match: bool
    """The scheduled pod matches its own selector (adds one to its domain's count)."""
    domains: frozenset[str] = frozenset()
    """The eligible domains (values of ``key`` on eligible nodes): the global minimum is taken over them."""


@dataclass(frozen=True)
class PodTerm:
    """A pod affinity or anti-affinity term resolved to workloads."""

    key: str
    members: frozenset[int]
    weight: int = 0
    """Score weight per matching pod in the node's domain: + affinity, - anti-affinity; 0 for filters."""
    self_match: bool = False


@dataclass(frozen=True)
class Placement:
    spread: tuple[SpreadRule, ...] = ()
    affinity: tuple[PodTerm, ...] = ()
    """Required pod affinity: the node's domain must already run a matching pod."""
    preferred: tuple[PodTerm, ...] = ()
    """InterPodAffinity's score terms: the pod's own preferences and existing pods' terms matching it."""
    node_affinity_score: tuple[int, ...] | None = None
    """Per node: the summed weights of matching preferred node-affinity terms; None when all are 0."""
    intolerable_soft_taints: tuple[int, ...] | None = None
    """Per node: PreferNoSchedule taints the pod does not tolerate; None when all are 0."""


Selected = Callable[[Workload, Sequence[str], bool, Callable[[dict[str, str]], bool]], frozenset[int]]


def compile_placement(spec: ClusterSpec, labels: list[dict[str, str]], fronted: set[int],
                      domain: dict[str, tuple[str, ...]]) -> tuple[Placement, ...]:
    """Placement rules per workload. ``fronted``: workloads some Service selects. Adds every topology key
    the rules use to ``domain`` (key -> per node its value, '' where the node lacks the label)."""
    wls = spec.workloads
    by_ns: dict[str, list[int]] = {}
    for i, w in enumerate(wls):
        by_ns.setdefault(w.namespace, []).append(i)

    def selected(w: Workload, namespaces: Sequence[str], every_ns: bool,
                 matches: Callable[[dict[str, str]], bool]) -> frozenset[int]:
        pool = range(len(wls)) if every_ns else [j for ns in (namespaces or (w.namespace,)) for j in by_ns.get(ns, ())]
        return frozenset(j for j in pool if matches(labels[j]))

    def need(key: str) -> None:
        if key not in domain:
            domain[key] = tuple(n.label_map.get(key, "") for n in spec.nodes)

    spreads: list[tuple[SpreadRule, ...]] = []
    requireds: list[tuple[PodTerm, ...]] = []
    preferreds: list[list[PodTerm]] = []
    symmetric: list[list[PodTerm]] = [[] for _ in wls]
    for i, w in enumerate(wls):
        t = w.template
        spread = _spread_rules(spec, i, w, labels, fronted, selected)
        for rule in spread:
            need(rule.key)
        required: list[PodTerm] = []
        preferred: list[PodTerm] = []
        for aff in t.pod_affinity:
            need(aff.topology_key)
            members = selected(w, aff.namespaces, aff.all_namespaces, aff.selector.matches)
            if aff.required:
                required.append(PodTerm(aff.topology_key, members, 0, i in members))
                weight = HARD_POD_AFFINITY_WEIGHT
            else:
                preferred.append(PodTerm(aff.topology_key, members, aff.weight))
                weight = aff.weight
            for j in members:
                symmetric[j].append(PodTerm(aff.topology_key, frozenset({i}), weight))
        for anti in t.anti_affinity:
            if anti.required:
                continue  # a filter, compiled as anti_pairs
            need(anti.topology_key)
            members = selected(w, anti.namespaces, anti.all_namespaces, anti.selector.matches)
            preferred.append(PodTerm(anti.topology_key, members, -anti.weight))
            for j in members:
                symmetric[j].append(PodTerm(anti.topology_key, frozenset({i}), -anti.weight))
        spreads.append(spread)
        requireds.append(tuple(required))
        preferreds.append(preferred)
    return tuple(
        Placement(spread=spreads[i], affinity=requireds[i], preferred=tuple(preferreds[i] + symmetric[i]),
                  node_affinity_score=_node_affinity_scores(w, spec.nodes),
                  intolerable_soft_taints=_soft_taint_counts(w, spec.nodes))
        for i, w in enumerate(wls)
    )


def _spread_rules(spec: ClusterSpec, i: int, w: Workload, labels: list[dict[str, str]], fronted: set[int],
                  selected: Selected) -> tuple[SpreadRule, ...]:
    t = w.template
    if not t.spread:
        if w.kind == "Job" and i not in fronted:
            return ()  # no Service, ReplicaSet or StatefulSet selects it: no default selector
        return tuple(SpreadRule(key, skew, False, (i,), w.kind == "Deployment", 1, None, True,
                                _domains(spec.nodes, key, None)) for key, skew in SYSTEM_DEFAULT_SPREAD)
    rules = []
    for c in t.spread:
        members = selected(w, (), False, c.selector.matches)
        eligible = None
        if c.honor_node_affinity or c.honor_taints:
            eligible = frozenset(ni for ni, n in enumerate(spec.nodes)
                                 if (not c.honor_node_affinity or _node_affinity_fits(w, n))
                                 and (not c.honor_taints or _tolerates_hard_taints(w, n)))
        rules.append(SpreadRule(c.topology_key, c.max_skew, not c.schedule_anyway,
                                (i,) if c.same_revision else tuple(sorted(members)), c.same_revision,
                                c.min_domains or 1, eligible, c.selector.matches(labels[i]),
                                _domains(spec.nodes, c.topology_key, eligible)))
    return tuple(rules)


def _domains(nodes: Sequence[NodeSpec], key: str, eligible: frozenset[int] | None) -> frozenset[str]:
    return frozenset(value for ni, n in enumerate(nodes)
                     if (eligible is None or ni in eligible) and (value := n.label_map.get(key, "")))


def _node_affinity_fits(w: Workload, n: NodeSpec) -> bool:
    t = w.template
    nl = n.label_map
    if any(nl.get(k) != v for k, v in t.node_selector):
        return False
    return not t.node_affinity or any(all(r.matches(nl) for r in term) for term in t.node_affinity)


def _tolerates_hard_taints(w: Workload, n: NodeSpec) -> bool:
    return all(any(tol.tolerates(taint) for tol in w.template.tolerations)
               for taint in n.taints if taint.effect != "PreferNoSchedule")


def _node_affinity_scores(w: Workload, nodes: Sequence[NodeSpec]) -> tuple[int, ...] | None:
    terms = w.template.preferred_nodes
    if not terms:
        return None
    scores = tuple(sum(t.weight for t in terms if all(r.matches(n.label_map) for r in t.requirements))
                   for n in nodes)
    return scores if any(scores) else None


def _soft_taint_counts(w: Workload, nodes: Sequence[NodeSpec]) -> tuple[int, ...] | None:
    def intolerable(taint: Taint) -> bool:
        return taint.effect == "PreferNoSchedule" and not any(tol.tolerates(taint) for tol in w.template.tolerations)

    counts = tuple(sum(1 for taint in n.taints if intolerable(taint)) for n in nodes)
    return counts if any(counts) else None
