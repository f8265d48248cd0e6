"""Scoring a finding against a scenario's hidden answer key.

A finding is the set of faults that were active together, the violation the verdict reported and
the workloads it reported as affected. It matches a planted weakness when the violation is the
weakness's, the weakness's affected workload is among the reported ones, and one of its triggers
is met: every requirement by a different active fault of an allowed kind, on the required target,
at or above the required intensity. Anything else is a false finding.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from itertools import permutations

from envs.design_basis import DEFAULT_BOUNDS, Basis, DesignBasisBounds, classify
from envs.faults import Fault
from envs.footprint import Touch
from envs.scenarios.records import FaultRequirement, PlantedWeakness, Scenario, Trigger
from envs.symptoms import Symptom
from envs.weaknesses import Case, diagnose


def meets(fault: Fault, req: FaultRequirement) -> bool:
    return fault.kind in req.kinds and fault.target == req.target and fault.intensity >= req.min_intensity


def trigger_met(trigger: Trigger, faults: Sequence[Fault]) -> bool:
    """True when distinct faults meet all of the trigger's requirements."""
    reqs = trigger.requires
    if len(reqs) > len(faults):
        return False
    return any(all(meets(f, r) for f, r in zip(chosen, reqs, strict=True))
               for chosen in permutations(faults, len(reqs)))


def matches(weakness: PlantedWeakness, faults: Sequence[Fault], violation: str,
            affected: Sequence[str]) -> bool:
    if not (weakness.violation == violation or violation in weakness.violations) or not (
            weakness.affected in affected or any(s in affected for s in weakness.subjects)):
        return False
    return any(trigger_met(t, faults) for t in weakness.triggers)


def score_finding(scenario: Scenario, faults: Sequence[Fault], violation: str,
                  affected: Sequence[str]) -> str | None:
    """The class id the finding surfaced, or None for a false finding.

    When several weaknesses match (a node hosting pods of two weak workloads), the first in the
    scenario's order wins; the generator lists specific weaknesses before broad ones.
    """
    for w in scenario.weaknesses:
        if matches(w, faults, violation, affected):
            return w.class_id
    return None


def score_within_basis(scenario: Scenario, faults: Sequence[Fault], violation: str, affected: Sequence[str],
                       bounds: DesignBasisBounds = DEFAULT_BOUNDS) -> tuple[Basis, str | None]:
    """Where the faults fall against the design basis, and the class id when within it.

    A breach under faults beyond the design basis is impact, never a weakness: it scores no class (and is
    no false finding either). Within it, ``score_finding`` decides."""
    basis = classify(list(faults), scenario.spec, bounds).basis
    if basis is Basis.BEYOND:
        return basis, None
    return basis, score_finding(scenario, faults, violation, affected)


def score_symptom(scenario: Scenario, symptom: Symptom, footprint: Sequence[Touch],
                  bounds: DesignBasisBounds = DEFAULT_BOUNDS) -> tuple[Basis, str | None]:
    """``score_within_basis`` for a finding with its evidence: a finding no trigger matches still scores
    for the weakness of a generated key whose component the root-cause analysis names for it (the same
    weakness shown by a fault, or in a cluster state, the sweep did not try)."""
    basis, cid = score_within_basis(scenario, symptom.faults, symptom.violation, symptom.affected, bounds)
    if basis is Basis.BEYOND or cid is not None or not any(w.component for w in scenario.weaknesses):
        return basis, cid
    case = Case("", symptom.violation, symptom.faults, symptom.affected, symptom.worst, tuple(footprint),
                symptom.severity)
    d = diagnose(scenario.spec, case, bounds)
    if d.cause is None:
        return basis, None
    return basis, next((w.class_id for w in scenario.weaknesses if w.component == d.component), None)


def distinct_causes(candidates: Sequence[Collection[str | None]]) -> dict[int, str]:
    """A planted root cause for as many reported weaknesses as can have one of their own: weakness ``i`` may
    take any class its findings scored (``candidates[i]``; None is no class), no two the same (a bipartite
    matching by augmenting paths). A finding can show two planted causes at once (a node failure that
    takes an entry's leader shows the lost leader and the edge that does not retry), so a weakness's
    majority class is not enough to tell one root cause reported twice from two reported once each."""
    owner: dict[str, int] = {}

    def assign(i: int, seen: set[str]) -> bool:
        for c in sorted(x for x in candidates[i] if x is not None):
            if c not in seen:
                seen.add(c)
                if c not in owner or assign(owner[c], seen):
                    owner[c] = i
                    return True
        return False

    for i in range(len(candidates)):
        assign(i, set())
    return {i: c for c, i in owner.items()}
