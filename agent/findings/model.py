"""A finding: one steady-state bound a fault broke, with the evidence, deduplicated by a stable signature.

``findings_from_result`` stores an experiment's symptoms (``envs.symptoms``: the one grouping of
breaches and the one key of "the same finding") with their evidence and history. A repeat merges into
the finding already stored. Findings are the evidence of weaknesses (``agent.weaknesses``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from envs.cluster import Injection, SteadyStateSample, Violation
from envs.experiment import ExperimentResult
from envs.faults import INTENSITY_NAMES, Fault, FaultKind
from envs.footprint import Touch
from envs.symptoms import symptom_key, symptoms_of
from envs.verdict import Breach, severity_label
from envs.weaknesses import Case


@dataclass(frozen=True)
class FaultRef:
    family: str
    kind: str
    intensity: int
    """0..2 (low, medium, high); for a merged finding, the highest seen."""
    target: str

    def to_report_dict(self) -> dict[str, Any]:
        return {"family": self.family, "kind": self.kind, "intensity": self.intensity}

    def describe(self) -> str:
        return f"{self.kind}[{INTENSITY_NAMES[self.intensity]}] on {self.target}"

    @classmethod
    def of(cls, injection: Injection) -> FaultRef:
        f = injection.fault
        return cls(family=f.family, kind=f.kind.value, intensity=f.intensity, target=f.target)


@dataclass(frozen=True)
class Evidence:
    """The numbers behind a finding: its worst breach (``envs.verdict.Breach``), the signal's series and
    every signal broken with it."""

    breach: Breach
    series: tuple[tuple[float, float], ...] = ()
    """(seconds since the fault started, signal value) for every sample, before through recovery."""
    signals: tuple[str, ...] = ()
    """Every broken signal grouped into this finding (the worst one is ``breach.signal``)."""
    footprint: tuple[Touch, ...] = ()
    """What the active faults reached, workload by workload (``envs.footprint``)."""

    def to_dict(self) -> dict[str, Any]:
        b = self.breach
        return {
            "signal": b.signal,
            "threshold": b.threshold,
            "before": b.before,
            "worst": b.worst,
            "after": b.after,
            "detect_s": b.detect_s,
            "recover_s": b.recover_s,
            "breach_s": b.breach_s,
            "subject": b.subject,
            "series": [list(p) for p in self.series],
            "signals": list(self.signals),
            "footprint": [t.to_dict() for t in self.footprint],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], *, violation: Violation, subject: str) -> Evidence:
        """``subject`` is used for rows written before the evidence named its subject."""
        breach = Breach(
            violation=violation,
            subject=d.get("subject", subject),
            signal=d["signal"],
            threshold=d["threshold"],
            before=d["before"],
            worst=d["worst"],
            after=d["after"],
            detect_s=d["detect_s"],
            recover_s=d["recover_s"],
            breach_s=d["breach_s"],
        )
        return cls(
            breach=breach,
            series=tuple((float(t), float(v)) for t, v in d.get("series", ())),
            signals=tuple(d.get("signals", ())),
            footprint=tuple(Touch.from_dict(t) for t in d.get("footprint", ())),
        )


@dataclass(frozen=True)
class Finding:
    id: str
    signature: str
    hypothesis: str
    fault: FaultRef
    target: str
    affected: tuple[str, ...]
    violation: Violation
    evidence: Evidence
    severity: float
    injection_index: int
    """Index of the injection that first surfaced it (the discovery curve's x)."""
    first_seen: datetime
    last_seen: datetime
    reproductions: int = 1
    concurrent: tuple[FaultRef, ...] = field(default=())
    """Faults held active during the injection (two-fault findings)."""
    last_injection_index: int | None = None
    lowest_intensity: int | None = None
    """The mildest intensity that reproduced it (None: ``fault.intensity``, the only one seen). A finding
    reproduced within the design basis stays within it however hard it was hit later."""

    @property
    def mildest(self) -> FaultRef:
        """The injected fault at the lowest intensity that reproduced the finding."""
        low = self.fault.intensity if self.lowest_intensity is None else self.lowest_intensity
        return replace(self.fault, intensity=low)

    def case(self) -> Case:
        """The finding as the root-cause analysis reads it (``envs.weaknesses``), at its mildest fault."""
        faults = tuple(Fault(FaultKind(r.kind), r.intensity, r.target) for r in (*self.concurrent, self.mildest))
        return Case(id=self.id, violation=self.violation, faults=faults, affected=self.affected,
                    worst=self.evidence.breach, footprint=self.evidence.footprint, severity=self.severity)

    @property
    def severity_label(self) -> str:
        return severity_label(self.severity)

    def faults_text(self) -> str:
        return " + ".join(f.describe() for f in (self.fault, *self.concurrent))

    def to_report_dict(self) -> dict[str, Any]:
        """The report's JSON shape; the first eight keys are the contract, the rest are extras."""
        return {
            "id": self.id,
            "fault": self.fault.to_report_dict(),
            "target": self.target,
            "affected": list(self.affected),
            "violation": self.violation,
            "severity": self.severity,
            "evidence": self.evidence.to_dict(),
            "injection_index": self.injection_index,
            "severity_label": self.severity_label,
            "hypothesis": self.hypothesis,
            "signature": self.signature,
            "concurrent": [{**c.to_report_dict(), "target": c.target} for c in self.concurrent],
            "reproductions": self.reproductions,
            "first_seen": self.first_seen.isoformat(),
            "last_seen": self.last_seen.isoformat(),
            "last_injection_index": self.last_injection_index,
            "lowest_intensity": self.mildest.intensity,
        }

    @classmethod
    def from_report_dict(cls, d: Mapping[str, Any]) -> Finding:
        f = d["fault"]
        return cls(
            id=d["id"],
            signature=d["signature"],
            hypothesis=d["hypothesis"],
            fault=FaultRef(f["family"], f["kind"], int(f["intensity"]), d["target"]),
            target=d["target"],
            affected=tuple(d["affected"]),
            violation=d["violation"],
            evidence=Evidence.from_dict(d["evidence"], violation=d["violation"], subject=d["affected"][0]),
            severity=float(d["severity"]),
            injection_index=int(d["injection_index"]),
            first_seen=datetime.fromisoformat(d["first_seen"]),
            last_seen=datetime.fromisoformat(d["last_seen"]),
            reproductions=int(d["reproductions"]),
            concurrent=tuple(
                FaultRef(c["family"], c["kind"], int(c["intensity"]), c["target"])
                for c in d.get("concurrent", ())
            ),
            last_injection_index=d.get("last_injection_index"),
            lowest_intensity=d.get("lowest_intensity"),
        )

    def merged_with(self, repeat: Finding) -> Finding:
        """This finding seen again: counts and times move on; the worse evidence and higher intensity stay,
        and so do the mildest intensity and what that mildest fault reached (its footprint)."""
        worse = repeat if repeat.severity > self.severity else self
        mild = repeat if repeat.mildest.intensity < self.mildest.intensity else self
        intensity = max(self.fault.intensity, repeat.fault.intensity)
        return replace(
            self,
            hypothesis=worse.hypothesis,
            evidence=replace(worse.evidence, footprint=mild.evidence.footprint),
            lowest_intensity=mild.mildest.intensity,
            severity=worse.severity,
            fault=replace(self.fault, intensity=intensity),
            reproductions=self.reproductions + repeat.reproductions,
            first_seen=min(self.first_seen, repeat.first_seen),
            last_seen=max(self.last_seen, repeat.last_seen),
            injection_index=min(self.injection_index, repeat.injection_index),
            last_injection_index=max(
                i
                for i in (
                    self.last_injection_index,
                    self.injection_index,
                    repeat.last_injection_index,
                    repeat.injection_index,
                )
                if i is not None
            ),
        )


def signature_of(
    violation: str, fault: FaultRef, concurrent: Sequence[FaultRef], affected: Sequence[str]
) -> str:
    """``envs.symptoms.symptom_key`` of a stored finding's faults: the one identity of "the same finding"."""
    return symptom_key(violation, (fault.kind, fault.target), ((c.kind, c.target) for c in concurrent), affected)


def finding_id(signature: str) -> str:
    return f"F-{signature[:10]}"


def _signal_value(b: Breach, s: SteadyStateSample, before: SteadyStateSample) -> float | None:
    """The breach's signal in a sample, as the verdict measures it (raw accuracy for drift)."""
    key = b.signal.split(" ", 1)[0]
    if b.violation == "availability":
        return s.availability.get(key)
    if b.violation == "latency":
        return s.latency_p99_ms.get(key)
    if b.violation == "training_progress":
        return s.training_progress_lost_s.get(key, 0.0) - before.training_progress_lost_s.get(key, 0.0)
    if b.violation == "data_loss":
        return float(s.data_lost.get(key, 0) - before.data_lost.get(key, 0))
    if b.violation == "undetected_drift":
        return s.accuracy.get(key)
    return s.bad_rows.get(key)


def _series(b: Breach, result: ExperimentResult) -> tuple[tuple[float, float], ...]:
    points = []
    for s in (result.before, *result.during, *result.after):
        v = _signal_value(b, s, result.before)
        if v is not None:
            points.append((round(s.time_s - result.started_s, 3), round(float(v), 6)))
    return tuple(points)


def findings_from_result(
    result: ExperimentResult, *, injection_index: int, seen_at: datetime | None = None
) -> list[Finding]:
    """One finding per symptom of the experiment (``envs.symptoms.symptoms_of``), worst first."""
    when = seen_at or datetime.now(UTC)
    fault = FaultRef.of(result.injection)
    concurrent = tuple(FaultRef.of(c) for c in result.concurrent)
    findings = []
    for symptom in symptoms_of(result):
        worst = symptom.worst
        sig = symptom.key
        findings.append(
            Finding(
                id=finding_id(sig),
                signature=sig,
                hypothesis="; ".join(sorted({b.hypothesis for b in symptom.breaches})),
                fault=fault,
                target=fault.target,
                affected=symptom.affected,
                violation=symptom.violation,
                evidence=Evidence(breach=worst, series=_series(worst, result), signals=symptom.signals,
                                  footprint=result.footprint),
                severity=worst.severity,
                injection_index=injection_index,
                first_seen=when,
                last_seen=when,
                concurrent=concurrent,
                last_injection_index=injection_index,
                lowest_intensity=fault.intensity,
            )
        )
    return sorted(findings, key=lambda f: (-f.severity, f.id))
