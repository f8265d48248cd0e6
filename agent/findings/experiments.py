"""One experiment of a run as the game-day report needs it, kept in the findings store.

``ExperimentRecord.of(result, ...)`` keeps what the report shows (the fault, its outcome and window, the
SLO budget it burned, the steady-state samples of the panels, the findings it surfaced); the store
keeps one per injection, so ``chaos-agent report`` draws a past run as the run itself would have.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from envs.cluster import SteadyStateSample
from envs.experiment import ExperimentResult

PANEL_FIELDS = ("availability", "latency_p99_ms", "accuracy", "bad_rows")
"""The steady-state fields the report draws; the others are left out of the store."""


@dataclass(frozen=True)
class ExperimentRecord:
    injection: int
    """1-based number of the injection in its run, as the progress lines show it."""
    family: str
    kind: str
    intensity: int
    target: str
    outcome: str
    started_s: float
    """Cluster time the fault was applied."""
    ended_s: float
    """Cluster time it was reverted (or would have expired)."""
    budget_burned_s: float
    """SLO violation-seconds of the experiment, summed over breached bounds."""
    breached: bool
    samples: tuple[SteadyStateSample, ...]
    signatures: tuple[str, ...] = ()
    """Signatures of the findings this experiment surfaced (new ones and repeats)."""

    @classmethod
    def of(cls, result: ExperimentResult, *, injection: int, signatures: Sequence[str] = ()) -> ExperimentRecord:
        fault = result.injection.fault
        ended = result.reverted_s if result.reverted_s is not None else result.started_s + fault.duration_s
        return cls(injection=injection, family=fault.family, kind=fault.kind.value, intensity=fault.intensity,
                   target=fault.target, outcome=result.injection.outcome, started_s=result.started_s,
                   ended_s=ended, budget_burned_s=result.budget_burned_s, breached=bool(result.breaches),
                   samples=(result.before, *result.during, *result.after), signatures=tuple(signatures))

    def to_dict(self) -> dict[str, Any]:
        return {
            "injection": self.injection, "family": self.family, "kind": self.kind, "intensity": self.intensity,
            "target": self.target, "outcome": self.outcome, "started_s": self.started_s, "ended_s": self.ended_s,
            "budget_burned_s": self.budget_burned_s, "breached": self.breached,
            "samples": [{"time_s": s.time_s, **{f: dict(getattr(s, f)) for f in PANEL_FIELDS}} for s in self.samples],
            "signatures": list(self.signatures),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ExperimentRecord:
        def panel(s: Mapping[str, Any], name: str) -> dict[str, float]:
            return {str(k): float(v) for k, v in s.get(name, {}).items()}

        samples = tuple(SteadyStateSample(time_s=float(s["time_s"]), availability=panel(s, "availability"),
                                          latency_p99_ms=panel(s, "latency_p99_ms"), accuracy=panel(s, "accuracy"),
                                          bad_rows=panel(s, "bad_rows"))
                        for s in d["samples"])
        return cls(injection=int(d["injection"]), family=str(d["family"]), kind=str(d["kind"]),
                   intensity=int(d["intensity"]), target=str(d["target"]), outcome=str(d["outcome"]),
                   started_s=float(d["started_s"]), ended_s=float(d["ended_s"]),
                   budget_burned_s=float(d["budget_burned_s"]), breached=bool(d["breached"]), samples=samples,
                   signatures=tuple(str(s) for s in d.get("signatures", ())))
