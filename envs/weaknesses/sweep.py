"""Every design-basis fault on a cluster, in the simulator: the exhaustive check behind a claim of robustness.

``design_basis_sweep(spec)`` runs each single fault that is within the design basis (every applicable
kind, intensity and target), plus each pair of node faults within one zone when the cluster spans
zones, on fresh simulations, and assesses what broke. A cluster robust to its design basis gives no
weakness; breaches under beyond-design-basis faults are not tried here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import combinations

from envs.design_basis import DEFAULT_BOUNDS, DesignBasisBounds, classify
from envs.experiment import Timing
from envs.faults import FAULT_KINDS, Fault, FaultKind
from envs.profile import profile
from envs.spec import ClusterSpec
from envs.symptoms import symptoms_of
from envs.weaknesses.assess import Assessment, assess
from envs.weaknesses.records import Case
from envs.weaknesses.verify import run


@dataclass(frozen=True)
class Sweep:
    assessment: Assessment
    experiments: int
    """Fault sets tried x seeds."""
    cases: dict[str, Case]
    """Case id -> the case (its faults re-run as a ``verify.Reproduction``)."""


def design_basis_faults(spec: ClusterSpec, bounds: DesignBasisBounds = DEFAULT_BOUNDS) -> Iterator[tuple[Fault, ...]]:
    """Every single fault within ``bounds``, then every same-zone pair of node failures."""
    prof = profile(spec)
    for ti, target in enumerate(prof.targets):
        for ki, kind in enumerate(FAULT_KINDS):
            if not prof.applicable[ti, ki]:
                continue
            for intensity in range(3):
                fault = Fault(kind, intensity, target)
                if classify([fault], spec, bounds).within:
                    yield (fault,)
    by_zone: dict[str, list[str]] = {}
    for n in spec.nodes:
        if n.zone:
            by_zone.setdefault(n.zone, []).append(n.key)
    for nodes in by_zone.values():
        for a, b in combinations(sorted(nodes), 2):
            pair = (Fault(FaultKind.NODE_FAILURE, 0, a), Fault(FaultKind.NODE_FAILURE, 0, b))
            if classify(pair, spec, bounds).within:
                yield pair


def design_basis_sweep(spec: ClusterSpec, *, bounds: DesignBasisBounds = DEFAULT_BOUNDS,
                       seeds: Sequence[int] = (1,), timing: Timing = Timing()) -> Sweep:
    cases: dict[str, Case] = {}
    experiments = 0
    for fault_set in design_basis_faults(spec, bounds):
        for seed in seeds:
            experiments += 1
            result = run(spec, fault_set, seed=seed, timing=timing)
            if result is None:
                continue
            for symptom in symptoms_of(result):
                case_id = f"S-{len(cases) + 1}"
                cases[case_id] = Case(case_id, symptom.violation, symptom.faults, symptom.affected, symptom.worst,
                                      result.footprint, symptom.severity)
    return Sweep(assess(spec, cases.values(), bounds), experiments, cases)
