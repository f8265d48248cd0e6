"""The answer key of a generated cluster, from what the sweep saw break (``envs.scenarios.effects``).

Effects that share a cause are one weakness, however many faults and SLOs show it: a root-cause kind in
one workload (``explain``). Each weakness lists every action that showed it as a trigger, with the
share of sampled states in which it did (``rates``) and the SLO budget it burned (``blast_s``), surest
and gentlest first.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from envs.faults import CATALOG, FaultKind
from envs.profile import backing_map
from envs.scenarios.effects import Action, Effect, Sweep
from envs.scenarios.records import FaultRequirement, PlantedWeakness, Trigger
from envs.spec import ClusterSpec, Workload
from envs.verdict import upstream_pipelines


@dataclass(frozen=True, order=True)
class Cause:
    """What a weakness is, as far as the key tells weaknesses apart: a root cause in one workload."""

    kind: str
    """A root-cause name of ``envs.weaknesses.RootCause``."""
    culprit: str
    """The workload the weakness lives in (its configuration is what would be fixed)."""


Explain = Callable[[ClusterSpec, Effect], tuple[Cause, ...]]
_LATENCY = frozenset({FaultKind.NETWORK_LATENCY, FaultKind.NETWORK_JITTER})
_LOSS_OF_PODS = frozenset({FaultKind.POD_KILL, FaultKind.POD_EVICTION, FaultKind.CONTAINER_CRASH,
                           FaultKind.NETWORK_PARTITION, FaultKind.GPU_DEVICE_FAILURE,
                           FaultKind.GPU_MEMORY_PRESSURE})


def dependency_path(spec: ClusterSpec, subject: str, *, critical: bool = False) -> set[str]:
    """The subject and every workload it depends on: its callees, transitively, and its upstream stages;
    ``critical``: only through calls without a fallback (the ones whose failure reaches the subject)."""
    backing = backing_map(spec)
    calls = {w.key: [k for c in w.calls if not (critical and c.fallback) for k in backing.get(c.service, ())]
             for w in spec.workloads}
    seen = {subject}
    frontier = [subject]
    while frontier:
        for callee in calls.get(frontier.pop(), ()):
            if callee not in seen:
                seen.add(callee)
                frontier.append(callee)
    if spec.workload(subject).pipeline is not None:
        seen |= upstream_pipelines(spec, subject)
    return seen


def explain(spec: ClusterSpec, effect: Effect) -> tuple[Cause, ...]:
    """The causes an effect is evidence of, read off the spec and where the pods were.

    Data, training and model violations live in the broken subject (its storage, its checkpoints, the
    checks on its path). A request violation lives in the workloads the fault took something from: the
    faulted workload, or for node faults every workload on the subject's dependency path with a pod on
    the failed nodes (all of its pods there: colocated, or its only one; some: its callers had no
    fallback for a partial loss).
    """
    v = effect.violation
    if v in ("data_loss", "training_progress", "undetected_drift", "data_quality"):
        kind = {"data_loss": "ephemeral_state", "training_progress": "no_usable_checkpoint",
                "undetected_drift": "no_drift_monitor"}.get(v)
        if kind is None:
            corrupted = any(f.kind is FaultKind.CORRUPTED_ROWS for f in effect.action)
            kind = "no_schema_check" if corrupted else "no_fallback"
        return tuple(Cause(kind, s) for s in effect.subjects)
    kinds = {f.kind for f in effect.action}
    workload_targets = sorted({f.target for f in effect.action if CATALOG[f.kind].target == "workload"})
    if workload_targets:
        return tuple(Cause(_workload_cause(spec.workload(t), kinds), t) for t in workload_targets)
    nodes = {f.target.split("/", 1)[1] for f in effect.action}
    for critical in (True, False):
        path = set().union(*(dependency_path(spec, s, critical=critical) for s in effect.subjects))
        causes = _node_causes(spec, effect, path, nodes)
        if causes:
            return causes
    return tuple(Cause("unexplained", n) for n in sorted(f.target for f in effect.action))


def _node_causes(spec: ClusterSpec, effect: Effect, path: set[str], nodes: set[str]) -> tuple[Cause, ...]:
    """Path workloads that had every pod on the failed nodes; else those that had some there."""
    every, some = [], []
    for key in sorted(path):
        status = effect.before.workloads.get(key)
        on = {n for n, _ in status.pods_by_node} if status is not None else set()
        if not on & nodes:
            continue
        w = spec.workload(key)
        if on <= nodes:
            every.append(Cause("single_replica_on_path" if w.replicas == 1 else "colocated_replicas", key))
        else:
            some.append(Cause("single_replica_on_path" if w.leader_failover_s > 0 else "no_fallback", key))
    return tuple(every or some)


def _workload_cause(w: Workload, kinds: set[FaultKind]) -> str:
    if kinds & _LATENCY:
        return "timeout_below_dependency_tail"
    if FaultKind.CPU_STRESS in kinds:
        return "retry_amplification" if w.replicas > 1 else "single_replica_on_path"
    if kinds & _LOSS_OF_PODS and (w.replicas == 1 or w.leader_failover_s > 0):
        return "single_replica_on_path"
    return "no_fallback"


def answer_key(sweep: Sweep, *, explain_effect: Explain = explain) -> tuple[PlantedWeakness, ...]:
    """The weaknesses the sweep found, one per cause, ordered by kind and culprit (class ids c01, ...)."""
    groups: dict[Cause, list[Effect]] = defaultdict(list)
    for e in sweep.effects:
        for cause in explain_effect(sweep.spec, e):
            groups[cause].append(e)
    return tuple(_weakness(cause, groups[cause], sweep.tries) for cause in sorted(groups))


def _weakness(cause: Cause, effects: Sequence[Effect], tries: dict[Action, int]) -> PlantedWeakness:
    by_action: dict[Action, list[Effect]] = defaultdict(list)
    for e in effects:
        by_action[e.action].append(e)
    rated = []
    for action, seen in by_action.items():
        rate = len({e.state for e in seen}) / max(tries.get(action, 1), 1)
        rated.append((-rate, statistics.median(e.breach_s for e in seen), _describe(action), action))
    rated.sort()
    subjects = sorted({s for e in effects for s in e.subjects})
    counts = {s: sum(s in e.subjects for e in effects) for s in subjects}
    affected = max(subjects, key=lambda s: (counts[s], s))
    violations = sorted({e.violation for e in effects}, key=lambda v: -sum(e.violation == v for e in effects))
    triggers = tuple(Trigger(tuple(FaultRequirement(frozenset({f.kind}), f.target, f.intensity) for f in a))
                     for *_, a in rated)
    return PlantedWeakness(
        class_id="", kind=cause.kind, violation=violations[0], affected=affected,
        triggers=triggers, description=f"{cause.kind} in {cause.culprit}: {'/'.join(violations)} of "
                                       f"{', '.join(subjects)}",
        p=-rated[0][0], surfacing=len(triggers), subjects=tuple(subjects), violations=tuple(violations),
        rates=tuple(-r for r, *_ in rated), blast_s=tuple(b for _, b, *_ in rated), culprit=cause.culprit)


def _describe(action: Action) -> str:
    return " + ".join(f"{f.kind.value}:{f.intensity}:{f.target}" for f in action)
