"""The reward: a pure function of what one experiment found and what it cost.

``severity`` of each newly found weakness, plus a ``novelty`` bonus per new one, minus the ``blast``
cost (SLO budget burned, in minutes) and minus a ``refind`` penalty for every weakness found again.
New means a weakness (one root cause) not found before, however many faults or nodes show it; a breach
under a fault beyond the design basis is impact, never a weakness, and only costs its blast. The blast
term makes the gentlest fault that still reveals a weakness worth more than a harsher one.
The env puts every term in ``info["reward_terms"]`` so a reader sees why a step scored what it did.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class RewardWeights:
    novelty: float = 1.0
    """Bonus per new weakness, on top of its severity (0..1): finding one always beats finding none."""
    blast_per_minute: float = 0.05
    """Cost per minute of SLO breach (all broken bounds added): a pod kill that shows a weakness in 30 s
    of breach keeps 0.025 of its value, a 10-minute node failure that shows the same loses 0.5. Users pay
    for the agent's learning in error budget; below the value of a weakness, so never a reason not to look."""
    refind: float = 0.2
    """Penalty per weakness found again: the budget is better spent elsewhere."""
    wasted: float = 0.05
    """Penalty for an action that injected nothing (refused by a PDB, or not allowed)."""


@dataclass(frozen=True)
class RewardTerms:
    severity: float
    novelty: float
    blast: float
    refind: float
    wasted: float

    @property
    def total(self) -> float:
        return self.severity + self.novelty - self.blast - self.refind - self.wasted

    def as_dict(self) -> dict[str, float]:
        return {**asdict(self), "total": self.total}


def reward(*, new_severities: Sequence[float], refound: int, breach_s: float, injected: bool,
           weights: RewardWeights = RewardWeights()) -> RewardTerms:
    return RewardTerms(
        severity=float(sum(new_severities)),
        novelty=weights.novelty * len(new_severities),
        blast=weights.blast_per_minute * breach_s / 60.0,
        refind=weights.refind * refound,
        wasted=0.0 if injected else weights.wasted,
    )
