"""The answer key of a generated cluster, from what the sweep saw break (``envs.scenarios.effects``).

Each effect is diagnosed by the root-cause analysis (``envs.weaknesses.diagnose``), exactly as the
agent's findings are, and effects of one component are one weakness, however many faults and SLOs show
it (a single-replica dependency called without a fallback is one weakness with two aspects). Its kind
is the leading cause (``envs.weaknesses.records.PRIORITY``). Each weakness lists every action that
showed it as a trigger (at its own intensity), with the share of sampled states in which it did
(``rates``) and the SLO budget it burned (``blast_s``), surest and gentlest first.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence

from envs.profile import backing_map
from envs.scenarios.effects import Action, Effect, Sweep
from envs.scenarios.records import FaultRequirement, PlantedWeakness, Trigger
from envs.spec import ClusterSpec
from envs.weaknesses import Case, Diagnosis, diagnose
from envs.weaknesses.records import PRIORITY


def diagnosis(spec: ClusterSpec, effect: Effect) -> Diagnosis:
    return diagnose(spec, Case("", effect.violation, effect.action, effect.subjects, effect.worst, effect.footprint,
                               effect.severity))


def answer_key(sweep: Sweep) -> tuple[PlantedWeakness, ...]:
    """The weaknesses the sweep found, one per component, ordered by kind and component (class ids c01, ...)."""
    groups: dict[str, list[tuple[Effect, Diagnosis]]] = defaultdict(list)
    for e in sweep.effects:
        d = diagnosis(sweep.spec, e)
        if d.cause is not None:  # the sweep runs the design basis only; a None here is never a weakness
            groups[d.component].append((e, d))
    workloads = _workload_of(sweep.spec)
    out = [_weakness(component, members, sweep.tries, workloads) for component, members in groups.items()]
    return tuple(sorted(out, key=lambda w: (w.kind, w.description)))


def _workload_of(spec: ClusterSpec) -> dict[str, str]:
    """Workload or Service key -> the workload it is (a Service: the first workload behind it)."""
    out = {w.key: w.key for w in spec.workloads}
    out.update({svc: backing[0] for svc, backing in backing_map(spec).items() if backing})
    return out


def culprit(component: str, d: Diagnosis, workloads: dict[str, str]) -> str:
    """The workload a weakness lives in: the component's, or the first workload among the fix's targets."""
    locus = component.split("|", 1)[1]
    for candidate in (locus, *reversed(d.targets), locus.split(" -> ")[-1]):
        if candidate in workloads:
            return workloads[candidate]
    return locus


def _weakness(component: str, members: Sequence[tuple[Effect, Diagnosis]], tries: dict[Action, int],
              workloads: dict[str, str]) -> PlantedWeakness:
    effects = [e for e, _ in members]
    causes = {d.cause for _, d in members}
    kind = next(c for c in PRIORITY if c in causes)
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
    violations = sorted({e.violation for e in effects}, key=lambda v: (-sum(e.violation == v for e in effects), v))
    triggers = tuple(Trigger(tuple(FaultRequirement(frozenset({f.kind}), f.target, f.intensity) for f in a))
                     for *_, a in rated)
    lead = next(d for _, d in members if d.cause is kind)
    return PlantedWeakness(
        class_id="", kind=kind.value, violation=violations[0], affected=affected, triggers=triggers,
        description=f"{kind.value} in {component.split('|', 1)[1]}: {'/'.join(violations)} of {', '.join(subjects)}",
        p=-rated[0][0], surfacing=len(triggers), subjects=tuple(subjects), violations=tuple(violations),
        rates=tuple(-r for r, *_ in rated), blast_s=tuple(b for _, b, *_ in rated),
        culprit=culprit(component, lead, workloads), component=component)


def _describe(action: Action) -> str:
    return " + ".join(f"{f.kind.value}:{f.intensity}:{f.target}" for f in action)
