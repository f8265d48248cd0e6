"""How the agent chooses: the policy's distribution, sharpened or softened by a temperature, times
anomaly weights, renormalised over the allowed actions. The daemon samples from the result."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from envs.actions import PER_TARGET
from policies.base import Decision


def combine(policy_p: NDArray[np.float64], anomaly: NDArray[np.float32], mask: NDArray[np.bool_], *,
            temperature: float, anomaly_weight: float) -> NDArray[np.float64]:
    """``p ~ policy_p ** (1 / temperature) * (1 + anomaly[target]) ** anomaly_weight`` on the mask.

    Computed over the allowed actions only: with thousands of targets most of the space is masked.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    allowed = np.flatnonzero(mask & (policy_p > 0))
    if allowed.size == 0:
        allowed = np.flatnonzero(mask)
        if allowed.size == 0:
            raise ValueError("no action is allowed: the mask is empty")
        logp = np.zeros(allowed.size)
    else:
        logp = np.log(policy_p[allowed]) / temperature
    if anomaly_weight:
        boost = np.log1p(np.maximum(anomaly.astype(np.float64), 0.0))
        logp = logp + anomaly_weight * boost[allowed // PER_TARGET]
    e = np.exp(logp - logp.max())
    p = np.zeros(policy_p.size, dtype=np.float64)
    p[allowed] = e / e.sum()
    return p


def sample(p: NDArray[np.float64], rng: np.random.Generator) -> int:
    """Draw an index from ``p`` (non-negative, not necessarily normalised); a zero entry is never drawn:
    ``searchsorted(..., side="right")`` lands on the first index whose cumulative sum passes the draw."""
    cumulative = np.cumsum(p)
    total = cumulative[-1] if cumulative.size else 0.0
    if not total > 0:
        raise ValueError("no action is allowed: the distribution is empty")
    i = int(np.searchsorted(cumulative, rng.random() * total, side="right"))
    return i if i < p.size else int(np.flatnonzero(p)[-1])  # a draw that rounded up to the total


def choice_distribution(strategy: object, decision: Decision, *, temperature: float,
                        anomaly_weight: float) -> NDArray[np.float64]:
    """The distribution the agent samples from: a strategy's own fused path when it has one (the RL
    runtime computes it straight from its logits), else ``combine`` of its probabilities."""
    fused = getattr(strategy, "distribution", None)
    if callable(fused):
        return np.asarray(fused(decision, temperature=temperature, anomaly_weight=anomaly_weight))
    probabilities = strategy.probabilities(decision)  # type: ignore[attr-defined]
    return combine(probabilities, decision.anomaly, decision.flat_mask, temperature=temperature,
                   anomaly_weight=anomaly_weight)
