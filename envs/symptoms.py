"""What an experiment broke, grouped once: one symptom per violation, under the faults active together.

The one definition of "the same finding". ``symptoms_of(result)`` groups an experiment's breaches by
violation (the workloads that broke together are one symptom); ``symptom_key`` hashes what makes two
symptoms the same (the violation, the kind and target of the injected fault and of the faults held
with it, the affected workloads) and leaves out intensity and numbers, so a repeat is recognised
across runs. The env's novelty and the agent's findings store (``agent.findings``) both use it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

from envs.cluster import Violation
from envs.experiment import ExperimentResult
from envs.faults import Fault
from envs.verdict import Breach


def symptom_key(violation: str, fault: tuple[str, str], concurrent: Iterable[tuple[str, str]],
                affected: Iterable[str]) -> str:
    """SHA-256 of (violation, injected fault's (kind, target), held faults' (kind, target), affected workloads).

    Stable across runs, intensities and versions: the findings store keys rows by it.
    """
    key = {
        "violation": violation,
        "fault": list(fault),
        "concurrent": sorted([k, t] for k, t in concurrent),
        "affected": sorted(set(affected)),
    }
    return hashlib.sha256(json.dumps(key, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


@dataclass(frozen=True)
class Symptom:
    """One violation an experiment caused, with every breach of it and the faults active together."""

    violation: Violation
    fault: Fault
    """The fault injected in this experiment."""
    concurrent: tuple[Fault, ...]
    """Faults held active through it (from the previous experiment)."""
    breaches: tuple[Breach, ...]
    """Every breach of ``violation``, one per affected workload (several signals may repeat one)."""

    @property
    def faults(self) -> tuple[Fault, ...]:
        """The faults active together, held ones first."""
        return (*self.concurrent, self.fault)

    @property
    def target(self) -> str:
        return self.fault.target

    @property
    def affected(self) -> tuple[str, ...]:
        return tuple(sorted({b.subject for b in self.breaches}))

    @property
    def worst(self) -> Breach:
        """The breach with the highest severity (ties: the greatest subject, so the choice is stable)."""
        return max(self.breaches, key=lambda b: (b.severity, b.subject))

    @property
    def severity(self) -> float:
        return self.worst.severity

    @property
    def signals(self) -> tuple[str, ...]:
        return tuple(sorted({b.signal for b in self.breaches}))

    @property
    def key(self) -> str:
        return symptom_key(self.violation, (self.fault.kind.value, self.fault.target),
                           ((c.kind.value, c.target) for c in self.concurrent), self.affected)


def symptoms_of(result: ExperimentResult) -> list[Symptom]:
    """One symptom per violation of the experiment, in the verdict's order."""
    by_violation: dict[Violation, list[Breach]] = {}
    for b in result.breaches:
        by_violation.setdefault(b.violation, []).append(b)
    concurrent = tuple(i.fault for i in result.concurrent)
    return [Symptom(violation, result.injection.fault, concurrent, tuple(breaches))
            for violation, breaches in by_violation.items()]
