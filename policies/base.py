"""One interface for every strategy: given a decision, return an action; then learn from the outcome.

A ``Decision`` is what the env or the daemon knows before an injection: the targets, their features,
the global features, the action mask and the anomaly scores. An ``Outcome`` is what the experiment
showed, including the signals the genetic search's fitness uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from envs.actions import N_HOLD, N_INTENSITIES, N_KINDS
from envs.experiment import ExperimentResult
from envs.observation import TARGET_FEATURES, unpack

ANOMALY_COL = TARGET_FEATURES.index("anomaly")
PRESENT_COL = TARGET_FEATURES.index("present")


@dataclass(frozen=True)
class Decision:
    targets: tuple[str, ...]
    features: NDArray[np.float32]
    """Shape (targets, N_TARGET_FEATURES), unpadded."""
    glob: NDArray[np.float32]
    mask: NDArray[np.bool_]
    """Shape (targets, kinds, intensities, hold). Flattened it is target-major like the env's actions,
    so a flat index here is the env's action for the same target."""

    @property
    def anomaly(self) -> NDArray[np.float32]:
        return self.features[:, ANOMALY_COL]

    @property
    def flat_mask(self) -> NDArray[np.bool_]:
        return self.mask.reshape(-1)

    @classmethod
    def from_observation(cls, obs: NDArray[np.float32], mask: NDArray[np.bool_], targets: Sequence[str],
                         max_targets: int) -> Decision:
        feats, glob = unpack(obs, max_targets)
        n = len(targets)
        m = np.asarray(mask, dtype=bool).reshape(max_targets, N_KINDS, N_INTENSITIES, N_HOLD)[:n]
        return cls(targets=tuple(targets), features=feats[:n], glob=glob, mask=m)


@dataclass(frozen=True)
class Outcome:
    action: int
    new_findings: int
    refound: int
    reward: float
    injected: bool
    slo_failed: bool = False
    health_fail_share: float = 0.0
    latency_outlier_share: float = 0.0
    impact: float = 0.0


def outcome_of(action: int, result: ExperimentResult | None, *, new_findings: int, refound: int,
               reward: float) -> Outcome:
    """Summarise an experiment, with the Krkn-AI-style health and latency-outlier shares."""
    if result is None or result.injection.outcome != "applied":
        return Outcome(action, new_findings, refound, reward, injected=False)
    samples = [result.before, *result.during, *result.after]
    during = [*result.during, *result.after] or [result.before]
    failed = [any(v < 1.0 - 1e-9 for v in s.availability.values()) for s in during]
    latencies = np.array([v for s in samples for v in s.latency_p99_ms.values()], dtype=float)
    outliers = 0.0
    if latencies.size >= 4:
        q1, q3 = np.percentile(latencies, [25, 75])
        fence = q3 + 1.5 * (q3 - q1)
        outl = [any(v > fence for v in s.latency_p99_ms.values()) for s in during]
        outliers = float(np.mean(outl))
    base_av = float(np.mean(list(result.before.availability.values()) or [1.0]))
    worst_av = min(min(s.availability.values(), default=1.0) for s in during)
    impact = max(0.0, base_av - worst_av) + sum(b.severity for b in result.breaches)
    return Outcome(
        action, new_findings, refound, reward, injected=True, slo_failed=bool(result.breaches),
        health_fail_share=float(np.mean(failed)), latency_outlier_share=outliers, impact=impact,
    )


class Strategy(Protocol):
    @property
    def name(self) -> str: ...

    def reset(self, rng: np.random.Generator) -> None:
        """A new game day (episode) begins."""
        ...

    def probabilities(self, decision: Decision) -> NDArray[np.float64]:
        """A distribution over ``decision.flat_mask`` (zero where masked)."""
        ...

    def observe(self, decision: Decision, outcome: Outcome) -> None:
        """Learn from what the chosen action did (online strategies); others ignore it."""
        ...


def masked_uniform(mask: NDArray[np.bool_]) -> NDArray[np.float64]:
    p = mask.astype(np.float64)
    total = p.sum()
    if total == 0:
        raise ValueError("no action is allowed: the mask is empty")
    return p / total


def choose(strategy: Strategy, decision: Decision, rng: np.random.Generator) -> int:
    p = strategy.probabilities(decision)
    return int(rng.choice(p.size, p=p))
