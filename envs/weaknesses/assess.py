"""Findings into weaknesses: one weakness per root cause, however many faults show it.

``assess(spec, cases, bounds)`` diagnoses every case, keeps the breaches beyond the design basis as
impact (the blast-radius map), and groups the rest by (cause, locus): "recommendation-api loses
availability" under eight node failures is one weakness when one cause explains all eight. Each
weakness gets a title a person understands, the explanation, the SLOs it breaks, its targets, its
findings, and a severity: the worst SLO impact of its findings (``envs.verdict.severity_score``)
times the importance of the path it sits on (``paths.importance``), so a single point of failure on
the main request path outranks a slow tail on a side path.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from envs.design_basis import DEFAULT_BOUNDS, DesignBasisBounds
from envs.spec import ClusterSpec
from envs.weaknesses.explain import diagnose
from envs.weaknesses.paths import importance
from envs.weaknesses.records import Case, Diagnosis, Impact, Weakness, weakness_id
from envs.weaknesses.taxonomy import RootCause


@dataclass(frozen=True)
class Assessment:
    """A game day's findings, read: the weaknesses, the impact of beyond-design-basis faults, each diagnosis."""

    weaknesses: tuple[Weakness, ...]
    """Worst first."""
    impacts: tuple[Impact, ...]
    diagnoses: dict[str, Diagnosis]
    """Finding id -> its diagnosis."""

    def weakness_of(self, finding_id: str) -> Weakness | None:
        return next((w for w in self.weaknesses if finding_id in w.findings), None)


def assess(spec: ClusterSpec, cases: Iterable[Case], bounds: DesignBasisBounds = DEFAULT_BOUNDS) -> Assessment:
    groups: dict[tuple[RootCause, str], list[tuple[Case, Diagnosis]]] = {}
    impacts: list[Impact] = []
    diagnoses: dict[str, Diagnosis] = {}
    for case in cases:
        d = diagnose(spec, case, bounds)
        diagnoses[case.id] = d
        if d.cause is None:
            impacts.append(Impact(case.id, case.faults, case.violation, case.affected, d.basis.reason))
        else:
            groups.setdefault((d.cause, d.locus), []).append((case, d))
    weaknesses = [_weakness(spec, cause, locus, members) for (cause, locus), members in groups.items()]
    weaknesses.sort(key=lambda w: (-w.severity, w.cause is RootCause.UNEXPLAINED, w.id))
    return Assessment(tuple(weaknesses), tuple(impacts), diagnoses)


def _weakness(spec: ClusterSpec, cause: RootCause, locus: str, members: list[tuple[Case, Diagnosis]]) -> Weakness:
    worst_case, worst = max(members, key=lambda m: (m[0].severity, m[0].id))
    slos = sorted({c.worst.hypothesis for c, _ in members})
    weight = max(importance(spec, _subject(c)) for c, _ in members)
    targets = tuple(dict.fromkeys(t for _, d in members for t in d.targets))
    findings = tuple(sorted({c.id for c, _ in members}))
    seen = f" Reproduced by {len(findings)} experiment(s)." if len(findings) > 1 else ""
    return Weakness(
        id=weakness_id(cause, locus), cause=cause, locus=locus, title=title(cause, locus, worst.variant, worst_case),
        explanation=worst.detail[0].upper() + worst.detail[1:] + "." + seen, targets=targets, slos=tuple(slos),
        severity=round(worst_case.severity * weight, 3), importance=weight, findings=findings,
        variant=worst.variant,
    )


def _subject(case: Case) -> str:
    if case.violation in ("availability", "latency"):
        return case.worst.signal.split(" ", 1)[0]
    return case.worst.subject


def _name(key: str) -> str:
    parts = key.split("/")
    return f"{parts[0]}/{parts[-1]}" if len(parts) == 3 else parts[-1]


def title(cause: RootCause, locus: str, variant: str, case: Case) -> str:
    """A title a person understands, naming what to fix."""
    where = _name(locus)
    if " -> " in locus:
        caller, service = locus.split(" -> ")
        where = f"{_name(caller)} -> {_name(service)}"
    broken = f"{_name(_subject(case))} {case.violation.replace('_', ' ')}"
    titles = {
        RootCause.SINGLE_REPLICA_ON_PATH: (
            f"{where} stops serving while its leader fails over (breaks {broken})" if variant == "leader"
            else f"{where} is a single replica on a request path (breaks {broken})"),
        RootCause.COLOCATED_REPLICAS: f"All replicas of {where} share one {variant or 'node'} (breaks {broken})",
        RootCause.PDB_MISSING_OR_UNMEETABLE: f"{where} has no PodDisruptionBudget a drain respects (breaks {broken})",
        RootCause.TIMEOUT_BELOW_DEPENDENCY_TAIL: f"Timeout of {where} is below the dependency's slow tail "
                                                 f"(breaks {broken})",
        RootCause.RETRY_AMPLIFICATION: f"Retries multiply the load on {where} when it loses capacity (breaks {broken})",
        RootCause.NO_FALLBACK: {
            "edge": f"Requests to {where} are not retried at the edge (breaks {broken})",
            "stale": f"{where} has no fallback for late data (breaks {broken})",
        }.get(variant, f"No fallback or retries on {where} (breaks {broken})"),
        RootCause.EPHEMERAL_STATE: f"{where} keeps its data on ephemeral storage (loses data)",
        RootCause.NO_USABLE_CHECKPOINT: (f"{where} never checkpoints (loses training progress)" if variant == "never"
                                         else f"{where} checkpoints too rarely (loses training progress)"),
        RootCause.NO_DRIFT_MONITOR: f"No drift monitor on the data path of {where} (drift goes unnoticed)",
        RootCause.NO_SCHEMA_CHECK: f"No schema check on the data path of {where} (corrupted rows reach it)",
        RootCause.NO_SPARE_GPU_CAPACITY: f"{where} has no spare GPU capacity to move to (breaks {broken})",
        RootCause.UNEXPLAINED: f"Unexplained: {broken} broke under a design-basis fault",
    }
    return titles[cause]
