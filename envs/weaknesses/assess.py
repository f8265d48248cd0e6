"""Findings into weaknesses: one weakness per root cause, however many faults show it.

``assess(spec, cases, bounds)`` diagnoses every case, keeps the breaches beyond the design basis as
impact (the blast-radius map), and groups the rest by component (``Diagnosis.component``):
"recommendation-api loses availability" under eight node failures is one weakness when one cause
explains all eight, and a single-replica dependency called without a fallback is one weakness with two
aspects, not two. Each weakness gets a title a person understands, the explanation, the SLOs it breaks,
its targets, its findings, and a severity: the worst SLO impact of its findings
(``envs.verdict.severity_score``) times the importance of the path it sits on (``paths.importance``),
so a single point of failure on the main request path outranks a slow tail on a side path.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from envs.design_basis import DEFAULT_BOUNDS, DesignBasisBounds
from envs.spec import ClusterSpec
from envs.weaknesses.explain import diagnose
from envs.weaknesses.paths import importance
from envs.weaknesses.records import PRIORITY, Aspect, Case, Diagnosis, Impact, Weakness, weakness_id
from envs.weaknesses.taxonomy import LABELS, RootCause


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
    groups: dict[str, list[tuple[Case, Diagnosis]]] = {}
    impacts: list[Impact] = []
    diagnoses: dict[str, Diagnosis] = {}
    for case in cases:
        d = diagnose(spec, case, bounds)
        diagnoses[case.id] = d
        if d.cause is None:
            impacts.append(Impact(case.id, case.faults, case.violation, case.affected, d.basis.reason))
        else:
            groups.setdefault(d.component, []).append((case, d))
    weaknesses = [_weakness(spec, component, members) for component, members in groups.items()]
    weaknesses.sort(key=lambda w: (-w.severity, w.cause is RootCause.UNEXPLAINED, w.id))
    return Assessment(tuple(weaknesses), tuple(impacts), diagnoses)


def _aspects(members: list[tuple[Case, Diagnosis]]) -> tuple[Aspect, ...]:
    """One aspect per (cause, locus), with the detail of its worst case, the leading cause first."""
    best: dict[tuple[RootCause, str], tuple[float, Aspect]] = {}
    for case, d in members:
        assert d.cause is not None
        key = (d.cause, d.locus)
        if key not in best or case.severity > best[key][0]:
            best[key] = (case.severity, Aspect(d.cause, d.locus, d.variant, d.detail))
    return tuple(sorted((a for _, a in best.values()), key=lambda a: (PRIORITY.index(a.cause), a.locus)))


def _weakness(spec: ClusterSpec, component: str, members: list[tuple[Case, Diagnosis]]) -> Weakness:
    aspects = _aspects(members)
    lead = aspects[0]
    worst_case = max((c for c, _ in members), key=lambda c: (c.severity, c.id))
    weight = max(importance(spec, _subject(c)) for c, _ in members)
    targets = tuple(dict.fromkeys(t for _, d in members for t in d.targets))
    findings = tuple(sorted({c.id for c, _ in members}))
    locus = component.split("|", 1)[1] if component.startswith("path|") else lead.locus
    seen = f" Reproduced by {len(findings)} experiments." if len(findings) > 1 else ""
    return Weakness(
        id=weakness_id(component), cause=lead.cause, locus=locus,
        title=title(lead, locus, aspects[1:], worst_case),
        explanation=" ".join(_sentence(a.detail) for a in aspects) + seen, targets=targets,
        slos=tuple(sorted({c.worst.hypothesis for c, _ in members})),
        severity=round(worst_case.severity * weight, 3), importance=weight, findings=findings, aspects=aspects,
    )


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith(".") else text + "."


def _subject(case: Case) -> str:
    if case.violation in ("availability", "latency"):
        return case.worst.signal.split(" ", 1)[0]
    return case.worst.subject


def _name(key: str) -> str:
    """``ns/Kind/name`` -> ``ns/name``; ``Node/x`` -> ``x``."""
    parts = key.split("/")
    return f"{parts[0]}/{parts[-1]}" if len(parts) == 3 else parts[-1]


def title(lead: Aspect, locus: str, others: tuple[Aspect, ...], case: Case) -> str:
    """A title a person understands, naming the component and what broke."""
    where = _name(locus)
    broken = EFFECTS[case.violation].format(_name(_subject(case)))
    cause, variant = lead.cause, lead.variant
    titles = {
        RootCause.SINGLE_REPLICA_ON_PATH: (f"{where} stops serving while its leader fails over" if variant == "leader"
                                           else f"{where} is a single replica on a request path"),
        RootCause.COLOCATED_REPLICAS: f"All replicas of {where} share one {variant or 'node'}",
        RootCause.PDB_MISSING_OR_UNMEETABLE: f"{where} has no PodDisruptionBudget a drain respects",
        RootCause.TIMEOUT_BELOW_DEPENDENCY_TAIL: f"Calls to {where} time out below its slow tail",
        RootCause.RETRY_AMPLIFICATION: f"Retries multiply the load on {where} when it loses capacity",
        RootCause.NO_FALLBACK: {"edge": f"Requests to {where} are not retried at the edge",
                                "edge-slow": f"Requests to {where} wait out the edge's connect timeout",
                                "stale": f"{where} has no fallback for late data"}.get(
            variant, f"{where} is called without a fallback"),
        RootCause.EPHEMERAL_STATE: f"{where} keeps its data on ephemeral storage",
        RootCause.NO_USABLE_CHECKPOINT: (f"{where} never checkpoints" if variant == "never"
                                         else f"{where} checkpoints too rarely"),
        RootCause.NO_DRIFT_MONITOR: f"No drift monitor on the data path of {where}",
        RootCause.NO_SCHEMA_CHECK: f"No schema check on the data path of {where}",
        RootCause.NO_SPARE_GPU_CAPACITY: f"{where} has no spare GPU capacity to move to",
        RootCause.UNEXPLAINED: "Unexplained",
    }
    also = sorted({LABELS[a.cause] for a in others if a.cause is not cause})
    return f"{titles[cause]}: {broken}" + (f" (also {', '.join(also)})" if also else "")


EFFECTS = {
    "availability": "{} loses availability",
    "latency": "{} gets slow",
    "training_progress": "{} loses training progress",
    "data_loss": "{} loses data",
    "undetected_drift": "{} degrades unnoticed",
    "data_quality": "{} gets bad input",
}
"""What a person sees break, per violation."""
