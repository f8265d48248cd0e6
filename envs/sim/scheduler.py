"""kube-scheduler's default profile, reduced to the plugins a ClusterSpec can say anything to.

Filters: static fit (nodeSelector, required node affinity, spec taints; precompiled), cordon, the
unreachable taint of a NotReady node, free cpu/memory/GPUs, required pod anti-affinity in both
directions (terminating pods still count) and required pod affinity, and PodTopologySpread's
DoNotSchedule constraints (skew = pods in the node's domain + 1 - the global minimum, which is 0 while
fewer eligible domains exist than ``minDomains``; terminating pods do not count).

Scores, each normalised to 0..100 and summed with the default profile's weights (KubeSchedulerConfiguration
v1): TaintToleration 3 (PreferNoSchedule taints not tolerated), NodeAffinity 2 (preferred terms'
weights), NodeResourcesFit 1 (LeastAllocated over cpu and memory), NodeResourcesBalancedAllocation 1,
PodTopologySpread 2 (ScheduleAnyway constraints, or the system defaults: a pod is drawn to the domains
with fewest of its peers, each count weighted by log(domains + 2)), InterPodAffinity 2 (preferred terms
and existing pods' terms, per matching pod in the node's domain). Ties go to the node name, where the
real scheduler draws among them at random. ImageLocality and volume scores are not modelled.
"""

from __future__ import annotations

import math

from envs.sim.compiled import CompiledSpec
from envs.sim.placement import Placement, SpreadRule
from envs.sim.state import Node, Pod, WorkloadState
from envs.spec import HOSTNAME_LABEL, PodTemplate

MAX_NODE_SCORE = 100
W_TAINT, W_NODE_AFFINITY, W_FIT, W_BALANCED, W_SPREAD, W_POD_AFFINITY = 3, 2, 1, 1, 2, 2


def find_node(c: CompiledSpec, nodes: list[Node], wls: list[WorkloadState], pod: Pod) -> Node | None:
    t = wls[pod.w].spec.template
    place = c.placement[pod.w]
    anti = c.anti_pairs[pod.w]
    hard = [(r, _counts(c, wls, r, pod)) for r in place.spread if r.hard]
    feasible: list[Node] = []
    for ni in c.static_nodes[pod.w]:
        n = nodes[ni]
        if n.base_cordon or n.cordons:
            continue
        if not n.ready and not c.tolerates_unreachable[pod.w]:
            continue
        if n.used_cpu + t.cpu_millis > n.cpu or n.used_mem + t.memory_mib > n.mem:
            continue
        if t.gpus and len(n.free_gpus()) < t.gpus:
            continue
        if anti and _anti_conflict(c, nodes, n, anti):
            continue
        if place.affinity and not _affinity_holds(c, wls, n, place):
            continue
        if hard and not all(_skew_allows(c, r, counts, n) for r, counts in hard):
            continue
        feasible.append(n)
    if len(feasible) <= 1:
        return feasible[0] if feasible else None
    return _best(c, wls, pod, t, place, feasible)


def _anti_conflict(c: CompiledSpec, nodes: list[Node], n: Node,
                   anti: tuple[tuple[str, frozenset[int]], ...]) -> bool:
    for key, wset in anti:
        if key == HOSTNAME_LABEL:
            if any(p.w in wset for p in n.pods):
                return True
            continue
        dom = c.domain[key]
        value = dom[n.i]
        if not value:
            continue  # a node without the topology label is in no domain
        for j, v in enumerate(dom):
            if v == value and any(p.w in wset for p in nodes[j].pods):
                return True
    return False


def _affinity_holds(c: CompiledSpec, wls: list[WorkloadState], n: Node, place: Placement) -> bool:
    """Required pod affinity: a matching pod runs in the node's domain; when none runs anywhere, only a
    pod matching its own term may start the group."""
    for term in place.affinity:
        dom = c.domain[term.key]
        value = dom[n.i]
        anywhere = False
        here = False
        for j in term.members:
            for p in wls[j].pods:
                if p.node is None:
                    continue
                anywhere = True
                if value and dom[p.node.i] == value:
                    here = True
                    break
            if here:
                break
        if not here and (anywhere or not term.self_match or not value):
            return False
    return True


def _counts(c: CompiledSpec, wls: list[WorkloadState], rule: SpreadRule, pod: Pod) -> dict[str, int]:
    """Matching pods per domain value of ``rule.key`` (bound, not terminating, on eligible nodes)."""
    dom = c.domain[rule.key]
    eligible = rule.eligible
    counts: dict[str, int] = {}
    for j in rule.members:
        for p in wls[j].pods:
            node = p.node
            if node is None or (rule.own_revision and p.rev != pod.rev):
                continue
            if eligible is not None and node.i not in eligible:
                continue
            value = dom[node.i]
            if value:
                counts[value] = counts.get(value, 0) + 1
    return counts


def _skew_allows(c: CompiledSpec, rule: SpreadRule, counts: dict[str, int], n: Node) -> bool:
    value = c.domain[rule.key][n.i]
    if not value:
        return False  # a node without the topology key cannot be placed on for a DoNotSchedule constraint
    domains = rule.domains
    minimum = 0 if len(domains) < rule.min_domains else min((counts.get(d, 0) for d in domains), default=0)
    return counts.get(value, 0) + int(rule.self_match) - minimum <= rule.max_skew


def _best(c: CompiledSpec, wls: list[WorkloadState], pod: Pod, t: PodTemplate, place: Placement,
          feasible: list[Node]) -> Node:
    total = [_fit_score(n, t) for n in feasible]
    if place.node_affinity_score is not None:
        raw = [place.node_affinity_score[n.i] for n in feasible]
        _add(total, W_NODE_AFFINITY, _normalised(raw, reverse=False))
    if place.intolerable_soft_taints is not None:
        raw = [place.intolerable_soft_taints[n.i] for n in feasible]
        _add(total, W_TAINT, _normalised(raw, reverse=True))
    soft = [r for r in place.spread if not r.hard]
    if soft:
        _add(total, W_SPREAD, _spread_scores(c, wls, pod, soft, feasible))
    if place.preferred:
        _add(total, W_POD_AFFINITY, _pod_affinity_scores(c, wls, place, feasible))
    best = 0
    for k in range(1, len(feasible)):
        if total[k] > total[best] or (total[k] == total[best] and feasible[k].name < feasible[best].name):
            best = k
    return feasible[best]


def _fit_score(n: Node, t: PodTemplate) -> int:
    """LeastAllocated (cpu and memory, weight 1 each) plus BalancedAllocation, each 0..100."""
    cpu, mem = n.used_cpu + t.cpu_millis, n.used_mem + t.memory_mib
    least = ((n.cpu - cpu) * MAX_NODE_SCORE // n.cpu + (n.mem - mem) * MAX_NODE_SCORE // n.mem) // 2
    balanced = int((1.0 - abs(min(cpu / n.cpu, 1.0) - min(mem / n.mem, 1.0)) / 2.0) * MAX_NODE_SCORE)
    return W_FIT * least + W_BALANCED * balanced


def _add(total: list[int], weight: int, scores: list[int]) -> None:
    for k, s in enumerate(scores):
        total[k] += weight * s


def _normalised(raw: list[int], *, reverse: bool) -> list[int]:
    """kube-scheduler's DefaultNormalizeScore: scaled so the largest is 100 (reversed: 100 - that)."""
    top = max(raw)
    if top == 0:
        return [MAX_NODE_SCORE if reverse else 0] * len(raw)
    return [MAX_NODE_SCORE - MAX_NODE_SCORE * r // top if reverse else MAX_NODE_SCORE * r // top for r in raw]


def _spread_scores(c: CompiledSpec, wls: list[WorkloadState], pod: Pod, rules: list[SpreadRule],
                   feasible: list[Node]) -> list[int]:
    """PodTopologySpread's score: fewer matching pods in the node's domain is better."""
    explicit = bool(wls[pod.w].spec.template.spread)
    raw: list[float | None] = [0.0] * len(feasible)
    for rule in rules:
        dom = c.domain[rule.key]
        present = {dom[n.i] for n in feasible if dom[n.i]}
        size = sum(1 for n in feasible if dom[n.i]) if rule.key == HOSTNAME_LABEL else len(present)
        weight = math.log(size + 2)
        counts = _counts(c, wls, rule, pod)
        for k, n in enumerate(feasible):
            value = dom[n.i]
            if not value:
                if explicit:
                    raw[k] = None  # a node without a constraint's topology key is ignored (scores 0)
                continue
            current = raw[k]
            if current is not None:
                raw[k] = current + counts.get(value, 0) * weight + (rule.max_skew - 1)
    scored = [round(r) for r in raw if r is not None]
    if not scored:
        return [0] * len(feasible)
    low, high = min(scored), max(scored)
    out = []
    for r in raw:
        if r is None:
            out.append(0)
        elif high == 0:
            out.append(MAX_NODE_SCORE)
        else:
            out.append(MAX_NODE_SCORE * (high + low - round(r)) // high)
    return out


def _pod_affinity_scores(c: CompiledSpec, wls: list[WorkloadState], place: Placement,
                         feasible: list[Node]) -> list[int]:
    """InterPodAffinity's score: each matching pod in the node's domain adds its term's weight."""
    raw = [0] * len(feasible)
    for term in place.preferred:
        dom = c.domain[term.key]
        counts: dict[str, int] = {}
        for j in term.members:
            for p in wls[j].pods:
                if p.node is not None and dom[p.node.i]:
                    counts[dom[p.node.i]] = counts.get(dom[p.node.i], 0) + 1
        if not counts:
            continue
        for k, n in enumerate(feasible):
            raw[k] += term.weight * counts.get(dom[n.i], 0) if dom[n.i] else 0
    low, high = min(raw), max(raw)
    if high == low:
        return [0] * len(feasible)
    return [int(MAX_NODE_SCORE * (r - low) / (high - low)) for r in raw]


def bind(c: CompiledSpec, pod: Pod, node: Node) -> None:
    t = c.spec.workloads[pod.w].template
    pod.node = node
    node.pods.add(pod)
    node.used_cpu += t.cpu_millis
    node.used_mem += t.memory_mib
    if t.gpus:
        devices = node.free_gpus()[: t.gpus]
        for d in devices:
            node.gpu_owner[d] = pod
        pod.gpus = tuple(devices)


def release(c: CompiledSpec, pod: Pod) -> None:
    node = pod.node
    if node is None:
        return
    t = c.spec.workloads[pod.w].template
    node.pods.discard(pod)
    node.used_cpu -= t.cpu_millis
    node.used_mem -= t.memory_mib
    for d in pod.gpus:
        if node.gpu_owner[d] is pod:
            node.gpu_owner[d] = None
    pod.node = None
